/**
 * Small database write jobs, each run in a transaction, made durable together. On SQLite the one
 * connection serialises everything, so concurrent jobs are grouped: one transaction per tick, each
 * job in its own savepoint (a job that throws is rolled back alone and its caller gets the error),
 * one commit for the group. The commit writes the log without syncing it and the group's callers
 * are answered after the fdatasync of the log that follows (WalSync, wal-sync.ts: on the thread
 * pool, shared with the ledger's commits) — durable before acknowledged, without an fsync on the
 * event loop; the next group commits while that sync runs. On PostgreSQL each job is its own short
 * transaction on the pool (commits do not block the event loop, and the pool runs them in parallel).
 *
 * Every domain's hot-path writes outside the ledger go through here (the payments engine's claims
 * and final states, the switch link's journal and store and forward), so that on SQLite they share
 * one commit per tick instead of paying one each — and so that a job of one domain may call into
 * another's (the engine's claim queues the switch link's advice) inside the same transaction.
 *
 * A job may be ordered instead of durable (`durable: false`): its caller needs it committed, and on
 * disk before anything committed after it is, but need not wait for the sync — the payments engine's
 * claim, which only has to be durable before the ledger's transfers that follow it (and, failing
 * those, before the final update). Such jobs are grouped apart and answered right after their
 * commit: the log is replayed in order up to its last good commit, so the sync that makes a later
 * commit durable (the ledger's, the final update's) covers them too. A crash before that loses
 * only claims whose money never moved and whose requests were never answered.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { WalSync } from './wal-sync.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export type WriteJob<T, Db extends AnyDb = AnyDb> = (trx: Db) => Promise<T>;

export interface GroupWriteOptions {
  /** false: committed in order but not yet durable (see above); a later durable commit makes it so. Default true. */
  durable?: boolean;
}

interface Waiting {
  job: WriteJob<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUP = 1000;

/**
 * Diagnostic: XIAOWEI_FSYNC_ON_LOOP=1 makes the group writer and the terminal protocol's writer
 * commit with their own fsync on the event loop, as before WalSync — for comparisons in one bench
 * run (`BENCH_PAY_VARIANT`); never for production.
 */
export const FSYNC_ON_LOOP = process.env.XIAOWEI_FSYNC_ON_LOOP === '1';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

class GroupWriter {
  private queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly db: AnyDb,
    private readonly raw: BetterSqlite3.Database | undefined,
    /** false: this writer's groups commit ordered, not durable (see above). */
    private readonly durable: boolean,
  ) {}

  run<T>(job: WriteJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job: job, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** SQLite: the savepoint statements, prepared once on the raw handle (no query building per job). */
  private savepoints: { begin: BetterSqlite3.Statement; release: BetterSqlite3.Statement; rollback: BetterSqlite3.Statement } | undefined;

  /** Each job in its own savepoint on `trx`. */
  private async runJobs(trx: AnyDb, group: readonly Waiting[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const raw = this.raw;
    if (raw) {
      // The same connection as `trx` (SQLite has one); run synchronously, in the job's order.
      const sp = (this.savepoints ??= {
        begin: raw.prepare('savepoint engine_job'),
        release: raw.prepare('release savepoint engine_job'),
        rollback: raw.prepare('rollback to savepoint engine_job'),
      });
      for (const w of group) {
        sp.begin.run();
        try {
          const value = await w.job(trx);
          sp.release.run();
          outcomes.push({ ok: true, value });
        } catch (error) {
          sp.rollback.run();
          sp.release.run();
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    }
    for (const w of group) {
      await sql`savepoint engine_job`.execute(trx);
      try {
        const value = await w.job(trx);
        await sql`release savepoint engine_job`.execute(trx);
        outcomes.push({ ok: true, value });
      } catch (error) {
        await sql`rollback to savepoint engine_job`.execute(trx);
        await sql`release savepoint engine_job`.execute(trx);
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  /**
   * One transaction for the group. The commit writes the log without syncing it (WalSync); the
   * durable writer's callers are answered after the log sync that follows (`synced`), the ordered
   * writer's at once. Without a WalSync (not a WAL file) the commit is an ordinary one.
   */
  private async commitGroup(group: readonly Waiting[]): Promise<{ outcomes: Outcome[]; synced: Promise<void> }> {
    const raw = this.raw;
    const wal = raw && !FSYNC_ON_LOOP ? WalSync.of(raw) : undefined;
    if (!raw || !wal) return { outcomes: await this.db.transaction().execute((trx) => this.runJobs(trx, group)), synced: Promise.resolve() };
    // The connection is ours until the callback ends (Kysely's driver lock), and BEGIN/COMMIT on
    // the raw handle are synchronous: no other commit (the ledger's, the terminal protocol's) runs
    // between the lowered pragma and its restoration.
    // The level cannot change inside a transaction: it is lowered before BEGIN and restored right
    // after COMMIT; meanwhile the open transaction keeps every other writer off the connection.
    let mark = 0;
    const outcomes = await this.db.connection().execute(async (conn) => {
      const level = Number(raw.pragma('synchronous', { simple: true }));
      const restore = (): void => void raw.pragma(`synchronous = ${level}`);
      raw.pragma('synchronous = NORMAL');
      try {
        raw.exec('BEGIN');
      } catch (error) {
        restore();
        throw error;
      }
      try {
        const done = await this.runJobs(conn, group);
        raw.exec('COMMIT');
        // Counted as unsynced at once: a sync that starts from here on covers this commit.
        wal.wrote();
        mark = wal.mark();
        return done;
      } catch (error) {
        if (raw.inTransaction) raw.exec('ROLLBACK');
        throw error;
      } finally {
        restore();
      }
    });
    return { outcomes, synced: this.durable ? wal.durableUpTo(mark) : Promise.resolve() };
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        let committed: { outcomes: Outcome[]; synced: Promise<void> };
        try {
          committed = await this.commitGroup(group);
        } catch (error) {
          // The commit itself failed: nothing of the group is stored.
          for (const w of group) w.reject(error);
          continue;
        }
        // The next group may commit while this one's log sync runs; its callers wait for the sync.
        const { outcomes, synced } = committed;
        synced.then(
          () =>
            group.forEach((w, i) => {
              const o = outcomes[i]!;
              if (o.ok) w.resolve(o.value);
              else w.reject(o.error);
            }),
          (error: unknown) => {
            for (const w of group) w.reject(error);
          },
        );
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    }
  }
}

/** Per database: the durable writer and the ordered one (separate queues, so a claim never waits for an fsync it does not need). */
const writers = new WeakMap<object, { durable: GroupWriter; ordered: GroupWriter }>();

/** Runs a write job: grouped with others on SQLite, its own transaction on PostgreSQL; durable unless `options.durable` is false. */
export function groupWrite<T, Db extends AnyDb = AnyDb>(
  deps: { db: unknown; database: { dialect: string; sqlite?: BetterSqlite3.Database | undefined } },
  job: WriteJob<T, Db>,
  options: GroupWriteOptions = {},
): Promise<T> {
  const db = deps.db as AnyDb;
  if (deps.database.dialect !== 'sqlite') return db.transaction().execute(job as WriteJob<T>);
  let pair = writers.get(db);
  if (!pair) {
    pair = { durable: new GroupWriter(db, deps.database.sqlite, true), ordered: new GroupWriter(db, deps.database.sqlite, false) };
    writers.set(db, pair);
  }
  return (options.durable === false ? pair.ordered : pair.durable).run(job as WriteJob<T>);
}
