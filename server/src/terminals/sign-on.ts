import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/service.js';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import { MAX_CLOCK_SKEW_MS, fromBase64Url, sessionKeysContext, signOnString, utf8 } from './canonical.js';
import type { EffectiveParams } from './params.js';
import type { ProtocolTables } from './protocol-migration.js';
import { MAX_BATCH_NO, type SignOnBatch } from './sign-on-batch.js';

export { MAX_BATCH_NO };
const DAY_US = 86_400_000_000;
/** The bank's business day ends at midnight Asia/Shanghai (UTC+8, no daylight saving). */
const SHANGHAI_OFFSET_US = 8 * 3_600_000_000;

/** The end of the business day that `nowUs` falls in: the next 00:00 Asia/Shanghai. */
export function endOfBusinessDay(nowUs: number): number {
  const local = nowUs + SHANGHAI_OFFSET_US;
  return (Math.floor(local / DAY_US) + 1) * DAY_US - SHANGHAI_OFFSET_US;
}

export interface SignOnDeps {
  db: Kysely<ProtocolTables>;
  dialect: Dialect;
  crypto: Pick<CryptoService, 'issueTerminalSessionKeys'>;
  verifyEd25519: (publicKeyRaw: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean;
  /** µs since the epoch. */
  now: () => number;
  /** Group commit of sign-ons (sign-on-batch.ts); without it each runs its own transaction. */
  batch?: SignOnBatch | undefined;
}

export interface SignOnInput {
  terminalId: string;
  /** ms since the epoch, as signed. */
  timestamp: number;
  /** X25519 raw public key, base64url. */
  ephemeralPublicKey: string;
  /** Ed25519 by the device key over `signOnString(...)`, base64url. */
  signature: string;
}

export interface SignOnResult {
  sessionId: string;
  /** Six digits, zero-padded. */
  batchNo: string;
  /** µs. */
  openedAt: number;
  expiresAt: number;
  keys: {
    serverPublicKey: string;
    salt: string;
    iv: string;
    ciphertext: string;
    kcv: { pin: string; mac: string; data: string };
  };
  /** The terminal's effective parameters, when read along with it (the group-committed path). */
  params?: EffectiveParams | undefined;
}

/** Refuses a terminal that may not sign on, most specific reason first. */
export function assertUsable(status: string, devicePublicKey: string | null): asserts devicePublicKey is string {
  if (status === 'locked') throw new XiaoweiError('terminal_locked');
  if (status === 'retired') throw new XiaoweiError('terminal_retired');
  if (status !== 'active' || !devicePublicKey) throw new XiaoweiError('terminal_not_activated');
}

/**
 * Sign-on (签到): the terminal proves it holds its device key by signing a fresh timestamp and an
 * ephemeral X25519 public key; the crypto service issues the session's PIN, MAC and data keys,
 * wrapped for that ephemeral key alone. The new session closes the previous one and opens the
 * next batch. A sign-on message must be newer than the last accepted one, so a captured sign-on
 * cannot be replayed to knock the terminal's live session out.
 */
export async function signOn(deps: SignOnDeps, input: SignOnInput): Promise<SignOnResult> {
  const nowUs = deps.now();
  if (Math.abs(nowUs / 1000 - input.timestamp) > MAX_CLOCK_SKEW_MS) throw new XiaoweiError('terminal_request_stale');
  const ephemeral = fromBase64Url(input.ephemeralPublicKey);
  if (!ephemeral || ephemeral.length !== 32) throw new XiaoweiError('validation_failed', 'ephemeralPublicKey must be a raw X25519 public key (32 bytes, base64url)');
  const signature = fromBase64Url(input.signature);
  if (!signature || signature.length !== 64) throw new XiaoweiError('validation_failed', 'signature must be an Ed25519 signature (64 bytes, base64url)');

  const terminal = deps.batch
    ? await deps.batch.read(input.terminalId)
    : await deps.db.selectFrom('terminals').select(['status', 'device_public_key']).where('id', '=', input.terminalId).executeTakeFirst();
  if (!terminal) throw new XiaoweiError('terminal_unknown');
  assertUsable(terminal.status, terminal.device_public_key);
  const devicePublicKey = fromBase64Url(terminal.device_public_key);
  const message = utf8(signOnString(input.terminalId, input.timestamp, input.ephemeralPublicKey));
  if (!devicePublicKey || !deps.verifyEd25519(devicePublicKey, message, signature)) throw new XiaoweiError('terminal_signature_invalid');

  // Keys first, outside the transaction: on SQLite a transaction holds the one connection.
  const sessionId = newId();
  let issued;
  try {
    issued = await deps.crypto.issueTerminalSessionKeys(ephemeral, sessionKeysContext(input.terminalId, sessionId));
  } catch {
    // A degenerate X25519 point (all-zero shared secret) is the one way this input can fail.
    throw new XiaoweiError('validation_failed', 'ephemeralPublicKey is not a usable X25519 public key');
  }
  const expiresAt = endOfBusinessDay(nowUs);

  const batchNo = deps.batch
    ? await storeBatched(deps.batch, {
        terminalId: input.terminalId,
        sessionId,
        devicePublicKey: terminal.device_public_key,
        signedAt: input.timestamp,
        nowUs,
        expiresAt,
        keys: keyColumns(issued),
      })
    : await storeAlone(deps, input, terminal.device_public_key, sessionId, issued, nowUs, expiresAt);

  return {
    sessionId,
    batchNo: String(batchNo).padStart(6, '0'),
    openedAt: nowUs,
    expiresAt,
    keys: { ...issued.wrapped, kcv: { pin: issued.pin.kcv, mac: issued.mac.kcv, data: issued.data.kcv } },
    ...('params' in terminal ? { params: (terminal as { params: EffectiveParams }).params } : {}),
  };
}

async function storeBatched(batch: SignOnBatch, item: Parameters<SignOnBatch['write']>[0]): Promise<number> {
  const outcome = await batch.write(item);
  if ('error' in outcome) throw new XiaoweiError(outcome.error);
  return outcome.batchNo;
}

type Issued = Awaited<ReturnType<SignOnDeps['crypto']['issueTerminalSessionKeys']>>;

/** The session's sealed working keys and their check values, as `terminal_sessions` stores them. */
function keyColumns(issued: Issued) {
  return {
    pin_key: issued.pin.blob,
    pin_kcv: issued.pin.kcv,
    mac_key: issued.mac.blob,
    mac_kcv: issued.mac.kcv,
    data_key: issued.data.blob,
    data_kcv: issued.data.kcv,
    lmk_version: issued.mac.lmkVersion,
  };
}

/** One sign-on in its own transaction (no group commit configured). */
async function storeAlone(deps: SignOnDeps, input: SignOnInput, verifiedKey: string, sessionId: string, issued: Issued, nowUs: number, expiresAt: number): Promise<number> {
  return deps.db.transaction().execute(async (trx) => {
    // Sign-ons of one terminal take turns (PostgreSQL row lock; SQLite has one writer anyway).
    const current = await trx
      .selectFrom('terminals')
      .select(['status', 'device_public_key'])
      .where('id', '=', input.terminalId)
      .$if(deps.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirstOrThrow();
    assertUsable(current.status, current.device_public_key);
    // Re-activated with another key while we verified: the signature no longer speaks for the terminal.
    if (current.device_public_key !== verifiedKey) throw new XiaoweiError('terminal_signature_invalid');
    const previous = await trx
      .selectFrom('terminal_sessions')
      .select(['batch_no', 'signed_at', 'opened_at'])
      .where('terminal_id', '=', input.terminalId)
      .orderBy('opened_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (previous && toSafeInt(previous.signed_at) >= input.timestamp) throw new XiaoweiError('terminal_request_replayed');
    const next = previous ? (toSafeInt(previous.batch_no) % MAX_BATCH_NO) + 1 : 1;
    await closeTerminalSessions(trx, input.terminalId, nowUs);
    await trx
      .insertInto('terminal_sessions')
      .values({
        id: sessionId,
        terminal_id: input.terminalId,
        ...keyColumns(issued),
        batch_no: next,
        last_seq: 0,
        signed_at: input.timestamp,
        // After the previous session's, so "the last session" stays the one accepted last (sign-on-batch.ts).
        opened_at: previous ? Math.max(nowUs, toSafeInt(previous.opened_at) + 1) : nowUs,
        expires_at: expiresAt,
        closed_at: null,
      })
      .execute();
    return next;
  });
}

/** Closes the terminal's open session and its operators' sign-ons (inside the caller's transaction). */
export async function closeTerminalSessions(db: Kysely<ProtocolTables>, terminalId: string, nowUs: number): Promise<void> {
  await db.updateTable('terminal_operator_sessions').set({ closed_at: nowUs }).where('terminal_id', '=', terminalId).where('closed_at', 'is', null).execute();
  await db.updateTable('terminal_sessions').set({ closed_at: nowUs }).where('terminal_id', '=', terminalId).where('closed_at', 'is', null).execute();
}

/** Sign-off (签退): closes the session; later requests under it are refused as closed. */
export async function signOff(db: Kysely<ProtocolTables>, sessionId: string, nowUs: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('terminal_operator_sessions').set({ closed_at: nowUs }).where('session_id', '=', sessionId).where('closed_at', 'is', null).execute();
    await trx.updateTable('terminal_sessions').set({ closed_at: nowUs }).where('id', '=', sessionId).where('closed_at', 'is', null).execute();
  });
}

/** The terminal's open session and its batch (for payments and staff views; never a key). */
export async function currentSession(db: Kysely<ProtocolTables>, terminalId: string): Promise<{ id: string; batch_no: number; opened_at: number; expires_at: number } | undefined> {
  const row = await db
    .selectFrom('terminal_sessions')
    .select(['id', 'batch_no', 'opened_at', 'expires_at'])
    .where('terminal_id', '=', terminalId)
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  return row ? { id: row.id, batch_no: toSafeInt(row.batch_no), opened_at: toSafeInt(row.opened_at), expires_at: toSafeInt(row.expires_at) } : undefined;
}
