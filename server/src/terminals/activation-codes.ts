import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import type { Secrets } from '../platform/secrets.js';
import type { AnyKysely, FleetTables } from './fleet-tables.js';

/**
 * One-time activation codes. Staff create one for a terminal and read it out or print it for the
 * shop; the terminal app sends it with its new device key (the protocol part calls
 * `consumeActivationCode`). The code is shown once and stored only as a keyed hash
 * (`secrets.blindIndex('activation-code', code)`), so the table alone activates nothing.
 *
 * 8 characters from 31 (digits and capitals without 0/O, 1/I/L, which are misread on paper and
 * over the phone): 31^8 ≈ 8.5·10^11, about 39.6 bits, for a code that lives a day at most, can be
 * used once and is useless without a terminal to bind.
 */
export const ACTIVATION_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const ACTIVATION_CODE_LENGTH = 8;
export const ACTIVATION_CODE_TTL_S = { default: 24 * 3600, min: 10 * 60, max: 7 * 24 * 3600 } as const;
const INDEX_PURPOSE = 'activation-code';

/** Statuses whose terminal may be (re-)activated; a locked or retired one may not. */
const ACTIVATABLE = ['registered', 'active'];

export function generateActivationCode(): string {
  let code = '';
  for (let i = 0; i < ACTIVATION_CODE_LENGTH; i++) code += ACTIVATION_CODE_ALPHABET[randomInt(ACTIVATION_CODE_ALPHABET.length)];
  return code;
}

/** 'ABCD-EFGH': easier to read out; the hyphen is optional when typed back. */
export function formatActivationCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** The canonical form of what a person typed (case, spaces and hyphens forgiven), or null if it cannot be a code. */
export function normaliseActivationCode(input: string): string | null {
  if (input.length > 32) return null;
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== ACTIVATION_CODE_LENGTH) return null;
  for (const ch of code) if (!ACTIVATION_CODE_ALPHABET.includes(ch)) return null;
  return code;
}

export type ActivationCodeState = 'unused' | 'used' | 'expired' | 'revoked';

/** An activation code as staff see it afterwards: never the code itself. */
export interface ActivationCodeView {
  id: string;
  terminal_id: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  state: ActivationCodeState;
}

/** The answer to issuing: the code, this once. */
export interface IssuedActivationCode {
  id: string;
  terminal_id: string;
  code: string;
  created_at: number;
  expires_at: number;
}

export interface IssueInput {
  terminalId: string;
  createdBy: string;
  /** Seconds the code stays valid, within ACTIVATION_CODE_TTL_S. */
  ttlS?: number;
  /** µs since the epoch. */
  now: number;
}

/**
 * Issues a new code for the terminal and revokes its earlier unused ones, in one transaction.
 * The transaction first touches the terminal row (`set status = status`), which takes the row's
 * write lock on PostgreSQL and the database's on SQLite, so two concurrent issues — or an issue
 * racing a lock or retirement — run one after the other and exactly one code stays usable.
 */
export async function issueActivationCode(
  database: AnyKysely,
  secrets: Pick<Secrets, 'blindIndex'>,
  input: IssueInput,
): Promise<IssuedActivationCode> {
  const ttl = input.ttlS ?? ACTIVATION_CODE_TTL_S.default;
  if (!Number.isSafeInteger(ttl) || ttl < ACTIVATION_CODE_TTL_S.min || ttl > ACTIVATION_CODE_TTL_S.max) {
    throw new XiaoweiError('validation_failed', `expires_in_s must be ${ACTIVATION_CODE_TTL_S.min}–${ACTIVATION_CODE_TTL_S.max}`);
  }
  const db = database as Kysely<FleetTables>;
  return db.transaction().execute(async (trx) => {
    const terminal = await trx
      .updateTable('terminals')
      .set((eb) => ({ status: eb.ref('status') }))
      .where('id', '=', input.terminalId)
      .returning('status')
      .executeTakeFirst();
    if (!terminal) throw new XiaoweiError('not_found');
    if (!ACTIVATABLE.includes(terminal.status)) throw new XiaoweiError('terminal_status_conflict', terminal.status);
    await revokeActivationCodes(trx, input.terminalId, input.now);
    const expires_at = input.now + ttl * 1_000_000;
    // A clash with another live code's hash is as good as impossible, but costs only a retry.
    for (let attempt = 0; attempt < 5; attempt++) {
      const code = generateActivationCode();
      const id = newId();
      const inserted = await trx
        .insertInto('terminal_activation_codes')
        .values({
          id,
          terminal_id: input.terminalId,
          code_index: secrets.blindIndex(INDEX_PURPOSE, code),
          created_by: input.createdBy,
          created_at: input.now,
          expires_at,
          used_at: null,
          revoked_at: null,
        })
        .onConflict((oc) => oc.column('code_index').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) return { id, terminal_id: input.terminalId, code, created_at: input.now, expires_at };
    }
    throw new Error('activation code: no free code after 5 attempts');
  });
}

/** Voids the terminal's unused codes (a newer code, a lock or retirement). Run inside the caller's transaction. */
export async function revokeActivationCodes(database: AnyKysely, terminalId: string, now: number): Promise<void> {
  const db = database as Kysely<FleetTables>;
  await db
    .updateTable('terminal_activation_codes')
    .set({ revoked_at: now })
    .where('terminal_id', '=', terminalId)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The stored form of a typed code (its blind index), or null if it cannot be a code. */
export function activationCodeIndex(secrets: Pick<Secrets, 'blindIndex'>, code: string): string | null {
  const canonical = normaliseActivationCode(code);
  return canonical ? secrets.blindIndex(INDEX_PURPOSE, canonical) : null;
}

/**
 * Uses a code: one conditional UPDATE (unused, not revoked, not expired, terminal still
 * activatable), so of two concurrent attempts exactly one gets the terminal and the other null.
 * A malformed, unknown, used, expired or revoked code all answer null alike, so a caller learns
 * nothing about which codes exist. For the protocol part's activation step; `now` in µs.
 */
export async function consumeActivationCode(
  database: AnyKysely,
  secrets: Pick<Secrets, 'blindIndex'>,
  code: string,
  now: number,
): Promise<{ terminal_id: string } | null> {
  const index = activationCodeIndex(secrets, code);
  if (!index) return null;
  const db = database as Kysely<FleetTables>;
  const row = await db
    .updateTable('terminal_activation_codes')
    .set({ used_at: now })
    .where('code_index', '=', index)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('terminal_id', 'in', (eb) => eb.selectFrom('terminals').select('id').where('status', 'in', ACTIVATABLE))
    .returning('terminal_id')
    .executeTakeFirst();
  return row ? { terminal_id: row.terminal_id } : null;
}

function stateOf(r: { used_at: number | null; revoked_at: number | null; expires_at: number }, now: number): ActivationCodeState {
  if (r.used_at !== null) return 'used';
  if (r.revoked_at !== null) return 'revoked';
  return r.expires_at > now ? 'unused' : 'expired';
}

/** A terminal's codes, newest first (at most 100). */
export async function listActivationCodes(database: AnyKysely, terminalId: string, now: number): Promise<ActivationCodeView[]> {
  const db = database as Kysely<FleetTables>;
  const rows = await db
    .selectFrom('terminal_activation_codes')
    .select(['id', 'terminal_id', 'created_by', 'created_at', 'expires_at', 'used_at', 'revoked_at'])
    .where('terminal_id', '=', terminalId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(100)
    .execute();
  return rows.map((r) => {
    const view = {
      id: r.id,
      terminal_id: r.terminal_id,
      created_by: r.created_by,
      created_at: toSafeInt(r.created_at),
      expires_at: toSafeInt(r.expires_at),
      used_at: toSafeIntOrNull(r.used_at),
      revoked_at: toSafeIntOrNull(r.revoked_at),
    };
    return { ...view, state: stateOf(view, now) };
  });
}
