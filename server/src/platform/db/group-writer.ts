/**
 * Small database write jobs, each run in a transaction, made durable together. On SQLite a commit
 * costs an fsync and the one connection serialises everything, so concurrent jobs are grouped: one
 * transaction per tick, each job in its own savepoint (a job that throws is rolled back alone and
 * its caller gets the error), one durable commit for the group; a job's promise settles only after
 * that commit. On PostgreSQL each job is its own short transaction on the pool (commits do not
 * block the event loop, and the pool runs them in parallel).
 *
 * Every domain's hot-path writes outside the ledger go through here (the payments engine's claims
 * and final states, the switch link's journal and store and forward), so that on SQLite they share
 * one fsync per tick instead of paying one each — and so that a job of one domain may call into
 * another's (the engine's claim queues the switch link's advice) inside the same transaction.
 */
import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export type WriteJob<T, Db extends AnyDb = AnyDb> = (trx: Db) => Promise<T>;

interface Waiting {
  job: WriteJob<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUP = 1000;

class GroupWriter {
  private queue: Waiting[] = [];
  private running = false;

  constructor(private readonly db: AnyDb) {}

  run<T>(job: WriteJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job: job, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          await this.db.transaction().execute(async (trx) => {
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
          });
        } catch (error) {
          // The commit itself failed: nothing of the group is stored.
          for (const w of group) w.reject(error);
          continue;
        }
        group.forEach((w, i) => {
          const o = outcomes[i]!;
          if (o.ok) w.resolve(o.value);
          else w.reject(o.error);
        });
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

const writers = new WeakMap<object, GroupWriter>();

/** Runs a write job durably: grouped with others on SQLite, its own transaction on PostgreSQL. */
export function groupWrite<T, Db extends AnyDb = AnyDb>(deps: { db: unknown; database: { dialect: string } }, job: WriteJob<T, Db>): Promise<T> {
  const db = deps.db as AnyDb;
  if (deps.database.dialect !== 'sqlite') return db.transaction().execute(job as WriteJob<T>);
  let writer = writers.get(db);
  if (!writer) {
    writer = new GroupWriter(db);
    writers.set(db, writer);
  }
  return writer.run(job as WriteJob<T>);
}
