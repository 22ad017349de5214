/**
 * What the transaction engine and QR need of the bank's own cards: find a card by its PAN, verify
 * a PIN block against the card's IBM 3624 offset (counting wrong tries), and the response code a
 * card's status or expiry calls for. The PAN is looked up by its blind index only; the PIN exists
 * in clear only inside the crypto service.
 */
import type { Kysely } from 'kysely';
import { isCryptoError, type CryptoService, type PinKeyRef } from '../crypto/index.js';
import { encipherFormat4 } from '../crypto/pin-block.js';
import { prepared } from '../platform/db/prepared.js';
import { toSafeInt } from '../platform/int.js';
import type { Secrets } from '../platform/secrets.js';
import type { PaymentsDb, PaymentsSharedTables, ResponseCode } from './contracts.js';
import { payKeyByName } from './pay-keys.js';

/** Consecutive wrong PINs after which the card refuses every PIN ('75') until staff reset it. */
export const MAX_PIN_TRIES = 3;

/** Purpose label of the card PAN's blind index and sealed copy (Secrets). */
export const PAN_PURPOSE = 'card-pan';

export type CardRow = PaymentsSharedTables['pay_cards'];

/** A pay_cards row with its integer columns as safe numbers (PostgreSQL returns int8 as strings). */
export function toCardRow(r: CardRow): CardRow {
  return {
    ...r,
    pvki: toSafeInt(r.pvki, 'pvki'),
    pin_tries: toSafeInt(r.pin_tries, 'pin_tries'),
    daily_limit: toSafeInt(r.daily_limit, 'daily_limit'),
    per_txn_limit: toSafeInt(r.per_txn_limit, 'per_txn_limit'),
    created_at: toSafeInt(r.created_at, 'created_at'),
    updated_at: toSafeInt(r.updated_at, 'updated_at'),
  };
}

/** The card with this PAN (by blind index), or undefined. Does not judge status or expiry. */
export async function findCardByPan(
  db: Kysely<unknown> | PaymentsDb,
  secrets: Pick<Secrets, 'blindIndex'>,
  pan: string,
): Promise<CardRow | undefined> {
  if (typeof pan !== 'string' || !/^\d{12,19}$/.test(pan)) return undefined;
  const row = await cardByPanIndex.first(db as PaymentsDb, { panIndex: secrets.blindIndex(PAN_PURPOSE, pan) });
  return row ? toCardRow(row) : undefined;
}

/** Built once (platform/db/prepared.ts): every card transaction starts with it. */
const cardByPanIndex = prepared<{ panIndex: string }, CardRow>((db, p) =>
  (db as PaymentsDb).selectFrom('pay_cards').selectAll().where('pan_index', '=', p.panIndex),
);

/** The card by id, or undefined. */
export async function findCardById(db: Kysely<unknown> | PaymentsDb, id: string): Promise<CardRow | undefined> {
  const row = await (db as PaymentsDb).selectFrom('pay_cards').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toCardRow(row) : undefined;
}

export type PinCheck = 'ok' | 'wrong' | 'locked';

/**
 * Verifies a PIN block (encrypted under `pinKey`, ISO 9564 format 0 or 4) against the card's
 * offset (`card.pin_tries`, when given, is the count as the card row was just read; else it is read). Wrong PINs are counted in `pay_cards.pin_tries` with conditional updates, so concurrent
 * tries cannot lose a count: the try that reaches MAX_PIN_TRIES answers 'locked' ('75'), and so
 * does every try after it, right or wrong, until a PIN reset. A right PIN clears the count.
 * A block that does not decipher into a PIN (wrong key, garbage) counts as a wrong PIN, so it
 * cannot be used to probe without limit.
 */
export async function verifyCardPin(
  deps: { db: Kysely<unknown> | PaymentsDb; crypto: CryptoService; now: () => number },
  card: Pick<CardRow, 'id' | 'pin_method' | 'pin_offset' | 'pvki' | 'pvk_name'> & { pin_tries?: number },
  pinBlock: Uint8Array,
  pinKey: PinKeyRef,
  format: 0 | 4,
  pan: string,
): Promise<PinCheck> {
  const db = deps.db as PaymentsDb;
  // The count as the card was just read (findCardByPan) saves a query; concurrent tries stay exact
  // through the conditional updates below.
  const current =
    card.pin_tries === undefined ? await db.selectFrom('pay_cards').select('pin_tries').where('id', '=', card.id).executeTakeFirst() : { pin_tries: card.pin_tries };
  if (!current || toSafeInt(current.pin_tries) >= MAX_PIN_TRIES) return 'locked';
  const pvk = await payKeyByName(db, card.pvk_name);
  if (!pvk) throw new Error(`card ${card.id}: PVK ${card.pvk_name} is missing`);

  let right: boolean;
  try {
    right = await deps.crypto.verifyPin({
      pinBlock,
      key: pinKey,
      format,
      pan,
      verification:
        card.pin_method === 'visa-pvv'
          ? { method: 'visa-pvv', pvk, pvki: card.pvki, pvv: card.pin_offset }
          : { method: 'ibm3624', pvk, offset: card.pin_offset },
    });
  } catch (error) {
    if (!isCryptoError(error) || error.code !== 'pin_block_invalid') throw error;
    right = false;
  }
  const now = deps.now();
  // The usual case — a right PIN and no wrong tries to clear — writes nothing. A right PIN that
  // was entered before concurrent wrong guesses locked the card is still the cardholder's.
  if (right && toSafeInt(current.pin_tries) === 0) return 'ok';
  if (right) {
    const cleared = await db
      .updateTable('pay_cards')
      .set({ pin_tries: 0, updated_at: now })
      .where('id', '=', card.id)
      .where('pin_tries', '<', MAX_PIN_TRIES)
      .executeTakeFirst();
    // Locked by concurrent wrong tries in the meantime: locked stays locked.
    return Number(cleared.numUpdatedRows) === 1 ? 'ok' : 'locked';
  }
  const counted = await db
    .updateTable('pay_cards')
    .set((eb) => ({ pin_tries: eb('pin_tries', '+', 1), updated_at: now }))
    .where('id', '=', card.id)
    .where('pin_tries', '<', MAX_PIN_TRIES)
    .returning('pin_tries')
    .executeTakeFirst();
  if (!counted) return 'locked';
  return toSafeInt(counted.pin_tries) >= MAX_PIN_TRIES ? 'locked' : 'wrong';
}

const BEIJING_OFFSET_US = 8 * 3_600_000_000;

/** 'YYMM' of a moment, Beijing time. */
export function yymmAt(atUs: number): string {
  const d = new Date((atUs + BEIJING_OFFSET_US) / 1000);
  return `${String(d.getUTCFullYear() % 100).padStart(2, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * The response code a card's state calls for, or null when it may transact: lost '41',
 * blocked or closed '45', expired '33' (a card is good through the last day of its expiry
 * month, Beijing time). `expiry` is the card's; a terminal's differing expiry is the engine's
 * business (it may answer '14' or '33').
 */
export function cardProblem(card: Pick<CardRow, 'status' | 'expiry'>, nowUs: number): ResponseCode | null {
  if (card.status === 'lost') return '41';
  if (card.status === 'blocked' || card.status === 'closed') return '45';
  if (card.status !== 'active') return '45';
  // YYMM compares as a number within one century; the cards issued here live five years.
  if (yymmAt(nowUs) > card.expiry) return '33';
  return null;
}

/**
 * An ISO 9564 format 4 PIN block (32 hex digits) under an AES-128 key given as hex: what a
 * terminal sends as `pinBlock`. For tests, the bench and tools — a real terminal forms it inside
 * its PIN pad with the session PIN key.
 */
export function makePinBlock(pin: string, pan: string, keyHex: string): string {
  const key = Buffer.from(keyHex, 'hex');
  if (key.length !== 16) throw new Error('makePinBlock: the key is 32 hex digits (AES-128)');
  try {
    return encipherFormat4(key, pin, pan).toString('hex').toUpperCase();
  } finally {
    key.fill(0);
  }
}
