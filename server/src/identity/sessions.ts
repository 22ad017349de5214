import { hash as digest, randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt } from '../platform/int.js';
import type { Secrets } from '../platform/secrets.js';
import { verifyPassword } from './passwords.js';
import { TOTP_REQUIRED, type Role } from './roles.js';
import type { IdentityTables } from './tables.js';
import { findUserByName, toUser, type User } from './users.js';

export const MAX_FAILED_LOGINS = 5;
export const LOCK_MINUTES = 15;
const ENROLMENT_TTL_MS = 10 * 60 * 1000;

/** SHA-256 of a token, base64url (what the sessions table stores); one-shot, no Hash object per request. */
const hashToken = (token: string): string => digest('sha256', token, 'base64url');

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: 'Xiaowei 小微云', label, algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secretBase32) });
}

export type LoginOutcome =
  | { kind: 'session'; token: string; user: User; expires_at: number }
  | { kind: 'enrol_totp'; enrolment_token: string; secret: string; otpauth_url: string; user: User };

/** Dummy hash so that unknown usernames cost the same time as wrong passwords. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface SessionDeps {
  db: Kysely<IdentityTables>;
  secrets: Secrets;
  ttlSeconds: number;
  /** SQLite's raw connection, when that is the database: verified sessions are then cached (see authenticate). */
  sqlite?: BetterSqlite3.Database | undefined;
}

async function openSession(deps: SessionDeps, row: IdentityTables['users']): Promise<LoginOutcome> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const expires_at = now + deps.ttlSeconds * 1000;
  await deps.db.insertInto('sessions').values({ token_hash: hashToken(token), user_id: row.id, created_at: now, expires_at }).execute();
  await deps.db.updateTable('users').set({ failed_logins: 0, locked_until: 0, last_login_at: now }).where('id', '=', row.id).execute();
  return { kind: 'session', token, user: toUser({ ...row, last_login_at: now }), expires_at };
}

/** Counts a failure in one atomic update, so parallel wrong guesses cannot slip past the lock. */
async function recordFailure(deps: SessionDeps, row: IdentityTables['users']): Promise<never> {
  const lockUntil = Date.now() + LOCK_MINUTES * 60_000;
  const after = await deps.db
    .updateTable('users')
    .set((eb) => ({
      failed_logins: eb.case().when('failed_logins', '>=', MAX_FAILED_LOGINS - 1).then(0).else(eb('failed_logins', '+', 1)).end(),
      locked_until: eb.case().when('failed_logins', '>=', MAX_FAILED_LOGINS - 1).then(lockUntil).else(eb.ref('locked_until')).end(),
    }))
    .where('id', '=', row.id)
    .returning('locked_until')
    .executeTakeFirst();
  if (after && toSafeInt(after.locked_until) > Date.now()) throw new XiaoweiError('account_locked', String(LOCK_MINUTES));
  throw new XiaoweiError('invalid_credentials');
}

/**
 * Password sign-in with lockout and, for roles that need it, a TOTP second factor. A role that
 * needs TOTP but has none enrolled gets an enrolment challenge instead of a session.
 */
export async function login(deps: SessionDeps, username: string, password: string, totpCode?: string): Promise<LoginOutcome> {
  const row = await findUserByName(deps.db, username);
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row) throw new XiaoweiError('invalid_credentials');
  if (toSafeInt(row.locked_until) > Date.now()) throw new XiaoweiError('account_locked', String(LOCK_MINUTES));
  if (!ok) return recordFailure(deps, row);
  if (toSafeInt(row.disabled) === 1) throw new XiaoweiError('user_disabled');
  const needsTotp = TOTP_REQUIRED.includes(row.role as Role) || toSafeInt(row.totp_enabled) === 1;
  if (needsTotp) {
    if (toSafeInt(row.totp_enabled) !== 1 || !row.totp_secret_enc) return startEnrolment(deps, row);
    if (!totpCode) throw new XiaoweiError('totp_required');
    const secret = deps.secrets.decrypt('totp', row.totp_secret_enc);
    if (totpFor(secret, row.username).validate({ token: totpCode, window: 1 }) === null) {
      return recordFailure(deps, row).catch((e: unknown) => {
        throw e instanceof XiaoweiError && e.code === 'invalid_credentials' ? new XiaoweiError('totp_invalid') : e;
      });
    }
  }
  return openSession(deps, row);
}

async function startEnrolment(deps: SessionDeps, row: IdentityTables['users']): Promise<LoginOutcome> {
  const secret = new Secret({ size: 20 }).base32;
  const enrolmentToken = randomBytes(32).toString('base64url');
  // The pending secret and its enrolment token live sealed in the user row until confirmed.
  const sealed = deps.secrets.encrypt('totp-enrolment', JSON.stringify({ secret, token: hashToken(enrolmentToken), until: Date.now() + ENROLMENT_TTL_MS }));
  await deps.db.updateTable('users').set({ totp_secret_enc: sealed, totp_enabled: 0 }).where('id', '=', row.id).execute();
  return { kind: 'enrol_totp', enrolment_token: enrolmentToken, secret, otpauth_url: totpFor(secret, row.username).toString(), user: toUser(row) };
}

/** Confirms a TOTP enrolment with a first code and opens a session. */
export async function confirmEnrolment(deps: SessionDeps, username: string, enrolmentToken: string, code: string): Promise<LoginOutcome> {
  const row = await findUserByName(deps.db, username);
  if (!row?.totp_secret_enc || toSafeInt(row.totp_enabled) === 1) throw new XiaoweiError('invalid_credentials');
  let pending: { secret: string; token: string; until: number };
  try {
    pending = JSON.parse(deps.secrets.decrypt('totp-enrolment', row.totp_secret_enc)) as typeof pending;
  } catch {
    throw new XiaoweiError('invalid_credentials');
  }
  if (pending.token !== hashToken(enrolmentToken) || pending.until < Date.now()) throw new XiaoweiError('invalid_credentials');
  if (totpFor(pending.secret, row.username).validate({ token: code, window: 1 }) === null) throw new XiaoweiError('totp_invalid');
  const sealed = deps.secrets.encrypt('totp', pending.secret);
  await deps.db.updateTable('users').set({ totp_secret_enc: sealed, totp_enabled: 1 }).where('id', '=', row.id).execute();
  return openSession(deps, { ...row, totp_secret_enc: sealed, totp_enabled: 1 });
}

/** Sets a user's TOTP secret directly (CLI and tests); returns the base32 secret. */
export async function setTotpSecret(deps: Pick<SessionDeps, 'db' | 'secrets'>, userId: string, secret = new Secret({ size: 20 }).base32): Promise<string> {
  await deps.db.updateTable('users').set({ totp_secret_enc: deps.secrets.encrypt('totp', secret), totp_enabled: 1 }).where('id', '=', userId).execute();
  return secret;
}

/** The current code for a secret (tests and the demo's printed hint). */
export function currentTotp(secret: string): string {
  return totpFor(secret, 'x').generate();
}

/**
 * SQLite only (one server process by design): how long a verified session is trusted without
 * reading it again, and only while no other connection (the CLI, another tool) has committed
 * anything (`PRAGMA data_version`, read once per turn of the event loop: such a commit counts from
 * the next turn). A log-out in this process takes effect at once, an expiry at
 * once, a session deleted or a user disabled through this very connection by other code within
 * this time. On PostgreSQL, where several processes serve one database, every request reads the
 * session: a log-out through one process is refused by all the others at once.
 */
export const SESSION_RECHECK_MS = 1000;
const MAX_VERIFIED = 10_000;

type UserRow = IdentityTables['users'];
interface Verified {
  user: UserRow;
  expires_at: number;
  checked_at: number;
  data_version: unknown;
}
/** Sessions verified lately, by token hash, per database. */
const verifiedByDb = new WeakMap<object, Map<string, Verified>>();

/**
 * `PRAGMA data_version` of a connection, read at most once per turn of the event loop: the
 * statement costs about as much as the rest of a cached session check (it opens a read
 * transaction), and under load one turn serves many requests. A commit by another connection is
 * therefore seen from the next turn on (a few ms at most) instead of the next request.
 */
interface DataVersion {
  statement: BetterSqlite3.Statement;
  value: unknown;
  fresh: boolean;
}
const dataVersions = new WeakMap<BetterSqlite3.Database, DataVersion>();

function verifiedOf(db: object): Map<string, Verified> {
  let map = verifiedByDb.get(db);
  if (!map) verifiedByDb.set(db, (map = new Map<string, Verified>()));
  return map;
}

function dataVersion(sqlite: BetterSqlite3.Database): unknown {
  let v = dataVersions.get(sqlite);
  if (!v) dataVersions.set(sqlite, (v = { statement: sqlite.prepare('pragma data_version').pluck(), value: undefined, fresh: false }));
  if (!v.fresh) {
    v.value = v.statement.get();
    v.fresh = true;
    const stale = v;
    setImmediate(() => {
      stale.fresh = false;
    });
  }
  return v.value;
}

/** What `cachedSession` answers when the session must be read from the database. */
export const UNKNOWN_SESSION = Symbol('unknown session');

/**
 * The answer of `authenticate` when it needs no database read — SQLite, the session verified
 * less than SESSION_RECHECK_MS ago and nothing committed by another connection since: its user,
 * or undefined when it has expired. UNKNOWN_SESSION otherwise (PostgreSQL always). Synchronous,
 * so the auth hook answers a warm session without a promise.
 */
export function cachedSession(deps: SessionDeps, token: string): UserRow | undefined | typeof UNKNOWN_SESSION {
  return deps.sqlite ? cachedByHash(deps, deps.sqlite, hashToken(token)) : UNKNOWN_SESSION;
}

/** `cachedSession` for a token already hashed. */
function cachedByHash(deps: SessionDeps, sqlite: BetterSqlite3.Database, hash: string): UserRow | undefined | typeof UNKNOWN_SESSION {
  const verified = verifiedOf(deps.db);
  const hit = verified.get(hash);
  if (!hit) return UNKNOWN_SESSION;
  const now = Date.now();
  if (now - hit.checked_at >= SESSION_RECHECK_MS || hit.data_version !== dataVersion(sqlite)) return UNKNOWN_SESSION;
  if (hit.expires_at >= now) return hit.user;
  verified.delete(hash);
  return undefined;
}

/**
 * Resolves a bearer or cookie token to its user, or undefined. On PostgreSQL one indexed read per
 * request; on SQLite one per session and second at most (SESSION_RECHECK_MS).
 */
export async function authenticate(deps: SessionDeps, token: string): Promise<UserRow | undefined> {
  // Hashed once: the cache and, on a miss, the read both look the session up by its hash.
  const hash = hashToken(token);
  const sqlite = deps.sqlite;
  const cached = sqlite ? cachedByHash(deps, sqlite, hash) : UNKNOWN_SESSION;
  if (cached !== UNKNOWN_SESSION) return cached;
  const now = Date.now();
  const verified = sqlite ? verifiedOf(deps.db) : undefined;
  const version = sqlite ? dataVersion(sqlite) : undefined;
  const row = await deps.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .selectAll('u')
    .select('s.expires_at as session_expires_at')
    .where('s.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || toSafeInt(row.session_expires_at) < now || toSafeInt(row.disabled) === 1) {
    verified?.delete(hash);
    return undefined;
  }
  const { session_expires_at: expires, ...user } = row;
  if (verified) {
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(hash, { user, expires_at: toSafeInt(expires), checked_at: now, data_version: version });
  }
  return user;
}

export async function logout(deps: SessionDeps, token: string): Promise<void> {
  const hash = hashToken(token);
  verifiedOf(deps.db).delete(hash);
  await deps.db.deleteFrom('sessions').where('token_hash', '=', hash).execute();
  verifiedOf(deps.db).delete(hash);
}
