/**
 * The bank's own debit cards. A card draws on one deposit account (2001) of its holder. The PAN
 * is the bank's BIN, a nine-digit account sequence drawn at random (so neighbouring cards cannot
 * be guessed) and a Luhn check digit; it is stored only as a blind index (look-up), sealed
 * (for a staff re-print, never answered) and last four digits. The PIN is never stored, nor any
 * hash of it: only its IBM 3624 offset under the bank's PVK, computed inside the crypto service.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/index.js';
import { encipherFormat4 } from '../crypto/pin-block.js';
import type { IdentityTables } from '../identity/tables.js';
import { getParty } from '../identity/parties.js';
import type { Ledger } from '../ledger/index.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Secrets } from '../platform/secrets.js';
import { PAN_PURPOSE, findCardById, toCardRow, yymmAt, type CardRow } from './card-access.js';
import type { PaymentsDb } from './contracts.js';
import type { CardRequestTables } from './card-request-migration.js';
import { CARD_PVK, payKey } from './pay-keys.js';

/**
 * The bank's card BIN (issuer identification number). Demo reference data: 621392 is not a
 * registered BIN of any real issuer as far as this project knows; a bank deploying Xiaowei sets
 * its own here.
 */
export const CARD_BIN = '621392';
/** PAN length: BIN (6) + account sequence (9) + check digit (1). */
export const PAN_LENGTH = 16;
/** Years a card is valid from issuance (through the end of the expiry month). */
export const CARD_VALID_YEARS = 5;
/** Default limits (fen): ¥20,000 per transaction, ¥50,000 per business day. */
export const DEFAULT_PER_TXN_LIMIT = 2_000_000;
export const DEFAULT_DAILY_LIMIT = 5_000_000;
/** The highest limit staff may set (¥1,000,000). */
export const MAX_CARD_LIMIT = 100_000_000;

export const CARD_STATUSES = ['active', 'blocked', 'lost', 'closed'] as const satisfies readonly CardRow['status'][];
export type CardStatus = (typeof CARD_STATUSES)[number];

/** Party roles that may hold a card. */
export const CARDHOLDER_ROLES = ['customer', 'farmer'] as const;

/** The Luhn check digit for the digits before it. */
export function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function luhnValid(pan: string): boolean {
  return /^\d{13,19}$/.test(pan) && luhnCheckDigit(pan.slice(0, -1)) === pan.slice(-1);
}

export function newPan(): string {
  const body = CARD_BIN + String(randomInt(0, 1_000_000_000)).padStart(PAN_LENGTH - CARD_BIN.length - 1, '0');
  return body + luhnCheckDigit(body);
}

/**
 * Why a chosen PIN is refused, or undefined: 4–6 digits, not one digit repeated, not a run up or
 * down (1234, 654321), not a repeated pair or triple (1212, 123123, 112233-style doubles).
 */
export function pinProblem(pin: string): string | undefined {
  if (typeof pin !== 'string' || !/^\d{4,6}$/.test(pin)) return 'a PIN is 4 to 6 digits';
  if (/^(\d)\1+$/.test(pin)) return 'one digit repeated';
  const steps = [...pin].slice(1).map((c, i) => Number(c) - Number(pin[i]));
  if (steps.every((s) => s === 1) || steps.every((s) => s === -1)) return 'a run of consecutive digits';
  if (/^(\d\d)\1+$/.test(pin) || /^(\d\d\d)\1$/.test(pin)) return 'a repeated group of digits';
  if (/^(\d)\1(\d)\2(\d)\3$/.test(pin)) return 'doubled digits';
  return undefined;
}

/** YYMM five years on, Beijing time. */
export function expiryFrom(nowUs: number): string {
  const now = yymmAt(nowUs);
  return `${String((Number(now.slice(0, 2)) + CARD_VALID_YEARS) % 100).padStart(2, '0')}${now.slice(2)}`;
}

type IssueDeps = { db: Kysely<unknown>; crypto: CryptoService; secrets: Secrets; ledger: Ledger; now: () => number };

/**
 * The IBM 3624 offset of a PIN: the PIN goes into a format 4 block under a throw-away AES key
 * imported into the crypto service, which computes the offset under the PVK. The clear PIN and
 * the throw-away key live only for this call.
 */
async function pinOffset(
  deps: Pick<IssueDeps, 'crypto' | 'db' | 'now'>,
  pin: string,
  pan: string,
): Promise<{ offset: string; pvkName: string }> {
  const pvk = await payKey(deps, CARD_PVK);
  const clear = randomBytes(16);
  try {
    const key = await deps.crypto.importComponents('TPK', 'AES128', [clear.toString('hex')]);
    const block = encipherFormat4(clear, pin, pan);
    const offset = await deps.crypto.generateIbm3624Offset({ pinBlock: block, key, format: 4, pan, pvk });
    return { offset, pvkName: CARD_PVK.name };
  } finally {
    clear.fill(0);
  }
}

export interface IssueInput {
  party_id: string;
  account_id: string;
  pin: string;
  daily_limit?: number | undefined;
  per_txn_limit?: number | undefined;
}

function checkLimits(perTxn: number, daily: number): void {
  for (const [name, v] of [
    ['per_txn_limit', perTxn],
    ['daily_limit', daily],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_CARD_LIMIT)
      throw new XiaoweiError('validation_failed', `${name} must be whole fen from 1 to ${MAX_CARD_LIMIT}`);
  }
  if (perTxn > daily) throw new XiaoweiError('validation_failed', 'per_txn_limit must not exceed daily_limit');
}

type RequestDb = Kysely<CardRequestTables>;

/** The card a keyed request already issued: the same card and PAN again, or 409 for other fields under the key. */
async function replayCardRequest(deps: IssueDeps, orgId: string, clientKey: string, hash: string): Promise<{ card: CardRow; pan: string; replayed: true } | undefined> {
  const prior = await (deps.db as RequestDb).selectFrom('pay_card_requests').selectAll().where('org_id', '=', orgId).where('client_key', '=', clientKey).executeTakeFirst();
  if (!prior) return undefined;
  if (prior.request_hash !== hash) throw new XiaoweiError('card_request_conflict');
  const card = await findCardById(deps.db, prior.card_id);
  if (!card) throw new Error(`card request ${clientKey}: card ${prior.card_id} is missing`);
  return { card, pan: deps.secrets.decrypt(PAN_PURPOSE, card.pan_sealed), replayed: true };
}

class KeyTaken extends Error {}

/**
 * Issues a card (the caller has checked the party is in the actor's scope). Answers the row and
 * the PAN: the only moment the PAN leaves the server in clear — or again to a retry of the same
 * keyed request (`clientKey`, the Idempotency-Key), which gets the same card instead of a second
 * one. The PIN is not part of the comparison (it is never kept): the first request's PIN stands.
 */
export async function issueCard(deps: IssueDeps, input: IssueInput, clientKey?: string): Promise<{ card: CardRow; pan: string; replayed?: true }> {
  const problem = pinProblem(input.pin);
  if (problem) throw new XiaoweiError('card_pin_weak', problem);
  const perTxn = input.per_txn_limit ?? DEFAULT_PER_TXN_LIMIT;
  const daily = input.daily_limit ?? Math.max(DEFAULT_DAILY_LIMIT, perTxn);
  checkLimits(perTxn, daily);
  const party = await getParty(deps.db as unknown as Kysely<IdentityTables>, input.party_id);
  if (!party || !party.roles.some((r) => (CARDHOLDER_ROLES as readonly string[]).includes(r))) throw new XiaoweiError('card_party_invalid');
  const [account] = await deps.ledger.lookupAccounts([input.account_id]);
  if (!account || account.code !== 2001 || account.owner_id !== party.id) throw new XiaoweiError('card_account_invalid');

  const hash = createHash('sha256')
    .update(JSON.stringify([party.id, account.id, perTxn, daily]))
    .digest('hex');
  if (clientKey) {
    const replay = await replayCardRequest(deps, party.org_id, clientKey, hash);
    if (replay) return replay;
  }
  const db = deps.db as PaymentsDb;
  for (let attempt = 0; ; attempt++) {
    const pan = newPan();
    const now = deps.now();
    const { offset, pvkName } = await pinOffset(deps, input.pin, pan);
    const row: CardRow = {
      id: newId(),
      token: `ct_${randomBytes(18).toString('base64url')}`,
      pan_index: deps.secrets.blindIndex(PAN_PURPOSE, pan),
      pan_sealed: deps.secrets.encrypt(PAN_PURPOSE, pan),
      bin: CARD_BIN,
      last4: pan.slice(-4),
      expiry: expiryFrom(now),
      party_id: party.id,
      org_id: party.org_id,
      account_id: account.id,
      status: 'active',
      pin_method: 'ibm3624',
      pin_offset: offset,
      pvki: 0,
      pvk_name: pvkName,
      pin_tries: 0,
      daily_limit: daily,
      per_txn_limit: perTxn,
      created_at: now,
      updated_at: now,
    };
    let inserted: boolean;
    try {
      inserted = await db.transaction().execute(async (trx) => {
        const done = await trx
          .insertInto('pay_cards')
          .values(row)
          .onConflict((oc) => oc.column('pan_index').doNothing())
          .executeTakeFirst();
        if (Number(done.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
        if (clientKey) {
          const keyed = await (trx as unknown as RequestDb)
            .insertInto('pay_card_requests')
            .values({ org_id: party.org_id, client_key: clientKey, card_id: row.id, request_hash: hash, created_at: now })
            .onConflict((oc) => oc.columns(['org_id', 'client_key']).doNothing())
            .executeTakeFirst();
          // The same key won by a concurrent request: this card is not issued (the transaction rolls back).
          if (Number(keyed.numInsertedOrUpdatedRows ?? 0) !== 1) throw new KeyTaken();
        }
        return true;
      });
    } catch (error) {
      if (!(error instanceof KeyTaken) || !clientKey) throw error;
      const replay = await replayCardRequest(deps, party.org_id, clientKey, hash);
      if (replay) return replay;
      throw error;
    }
    if (inserted) return { card: row, pan };
    // One in a billion per existing card: draw another account sequence.
    if (attempt >= 5) throw new Error('could not draw an unused PAN');
  }
}

/** A new PIN for a card (the customer's choice); clears the wrong-try count. */
export async function resetCardPin(
  deps: Pick<IssueDeps, 'db' | 'crypto' | 'secrets' | 'now'>,
  card: CardRow,
  pin: string,
): Promise<CardRow> {
  const problem = pinProblem(pin);
  if (problem) throw new XiaoweiError('card_pin_weak', problem);
  if (card.status === 'closed') throw new XiaoweiError('card_status_invalid', card.status);
  const pan = deps.secrets.decrypt(PAN_PURPOSE, card.pan_sealed);
  const { offset, pvkName } = await pinOffset(deps, pin, pan);
  const now = deps.now();
  await (deps.db as PaymentsDb)
    .updateTable('pay_cards')
    .set({ pin_method: 'ibm3624', pin_offset: offset, pvk_name: pvkName, pvki: 0, pin_tries: 0, updated_at: now })
    .where('id', '=', card.id)
    .execute();
  return (await findCardById(deps.db, card.id))!;
}

/**
 * Which status changes staff may make: block and unblock, report lost, close. A lost card is
 * not found again (it is closed and a new one issued); a closed card stays closed.
 */
const TRANSITIONS: Record<CardStatus, readonly CardStatus[]> = {
  active: ['blocked', 'lost', 'closed'],
  blocked: ['active', 'lost', 'closed'],
  lost: ['closed'],
  closed: [],
};

export interface CardPatch {
  status?: CardStatus | undefined;
  daily_limit?: number | undefined;
  per_txn_limit?: number | undefined;
}

export async function updateCard(db: Kysely<unknown>, card: CardRow, patch: CardPatch, nowUs: number): Promise<CardRow> {
  const set: Partial<CardRow> = { updated_at: nowUs };
  if (patch.status !== undefined && patch.status !== card.status) {
    if (!TRANSITIONS[card.status].includes(patch.status)) throw new XiaoweiError('card_status_invalid', card.status);
    set.status = patch.status;
  }
  if (patch.daily_limit !== undefined || patch.per_txn_limit !== undefined) {
    if (card.status === 'closed') throw new XiaoweiError('card_status_invalid', card.status);
    const perTxn = patch.per_txn_limit ?? card.per_txn_limit;
    const daily = patch.daily_limit ?? card.daily_limit;
    checkLimits(perTxn, daily);
    set.per_txn_limit = perTxn;
    set.daily_limit = daily;
  }
  await (db as PaymentsDb).updateTable('pay_cards').set(set).where('id', '=', card.id).execute();
  return (await findCardById(db, card.id))!;
}

export interface CardQuery {
  party_id?: string | undefined;
  last4?: string | undefined;
  status?: CardStatus | undefined;
  limit: number;
  offset: number;
}

/** Cards in a scope: staff organisations (null = all), or one own party. Newest first. */
export async function listCards(
  db: Kysely<unknown>,
  scope: { orgIds: readonly string[] | null } | { partyId: string | null },
  q: CardQuery,
): Promise<{ items: CardRow[]; total: number }> {
  let base = (db as PaymentsDb).selectFrom('pay_cards');
  if ('partyId' in scope) {
    if (!scope.partyId) return { items: [], total: 0 };
    base = base.where('party_id', '=', scope.partyId);
  } else if (scope.orgIds !== null) {
    if (scope.orgIds.length === 0) return { items: [], total: 0 };
    base = base.where('org_id', 'in', [...scope.orgIds]);
  }
  if (q.party_id) base = base.where('party_id', '=', q.party_id);
  if (q.last4) base = base.where('last4', '=', q.last4);
  if (q.status) base = base.where('status', '=', q.status);
  const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const rows = await base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute();
  return { items: rows.map(toCardRow), total };
}

/** What staff see of a card: never the PAN, its index or sealed form, nor the PIN offset. */
export function cardView(c: CardRow): {
  id: string;
  token: string;
  bin: string;
  last4: string;
  expiry: string;
  status: CardStatus;
  party_id: string;
  org_id: string;
  account_id: string;
  pin_tries: number;
  daily_limit: number;
  per_txn_limit: number;
  created_at: number;
  updated_at: number;
} {
  return {
    id: c.id,
    token: c.token,
    bin: c.bin,
    last4: c.last4,
    expiry: c.expiry,
    status: c.status,
    party_id: c.party_id,
    org_id: c.org_id,
    account_id: c.account_id,
    pin_tries: c.pin_tries,
    daily_limit: c.daily_limit,
    per_txn_limit: c.per_txn_limit,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}
