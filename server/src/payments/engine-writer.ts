/**
 * The engine's database writes (claims, final updates, declines) as small jobs run in a
 * transaction, grouped into one commit per tick on SQLite (platform/db/group-writer.ts).
 */
import { FSYNC_ON_LOOP, groupWrite } from '../platform/db/group-writer.js';
import { WalSync } from '../platform/db/wal-sync.js';
import type { PaymentsDeps } from './deps.js';
import type { EngineDb } from './engine-rows.js';

export type WriteJob<T> = (trx: EngineDb) => Promise<T>;

type WriterDeps = Pick<PaymentsDeps, 'db' | 'database'>;

/** Diagnostic: XIAOWEI_DURABLE_CLAIMS=1 commits claims durably, as before the ordered writer (for `BENCH_PAY_VARIANT` comparisons). */
const DURABLE_CLAIMS = process.env.XIAOWEI_DURABLE_CLAIMS === '1';

/**
 * Whether claims are ordered rather than durable. On PostgreSQL the claim's transaction then sets
 * `synchronous_commit = off` for itself (in its first statement, no extra round trip): its commit
 * does not wait for the WAL flush, and the ledger's or the final update's synchronous commit, later
 * in the one WAL, flushes it with theirs.
 */
export const CLAIMS_ORDERED = !DURABLE_CLAIMS;

/** Runs a write job durably: grouped with others on SQLite, its own transaction on PostgreSQL. */
export function write<T>(deps: WriterDeps, job: WriteJob<T>): Promise<T> {
  return groupWrite<T, EngineDb>(deps, job);
}

/**
 * Runs a claim: committed before it resolves, but on SQLite not yet durable — the ledger call that
 * follows a claim commits durably after it in the same write-ahead log, and so does the final
 * update (or the decline) that every claim ends in before anything is answered; their fsync makes
 * the claim durable with them. A crash before that loses a claim whose money never moved and
 * whose request was never answered: the terminal's retry claims again.
 */
export function claimWrite<T>(deps: WriterDeps, job: WriteJob<T>): Promise<T> {
  return groupWrite<T, EngineDb>(deps, job, { durable: DURABLE_CLAIMS });
}

/**
 * Waits until every commit made so far is on disk (SQLite with WalSync; at once elsewhere). A
 * commit is visible to other requests as soon as it is written, before its log sync: an answer
 * built from what another request stored (a retry's stored reply, a status read) waits for this,
 * so that nothing read is acknowledged before it is durable.
 */
export function onDisk(deps: WriterDeps): Promise<void> {
  const raw = deps.database.sqlite;
  const wal = raw && !FSYNC_ON_LOOP ? WalSync.of(raw) : undefined;
  return wal ? wal.durable() : Promise.resolve();
}
