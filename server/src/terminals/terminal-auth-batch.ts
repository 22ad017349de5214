import type BetterSqlite3 from 'better-sqlite3';
import { FSYNC_ON_LOOP } from '../platform/db/group-writer.js';
import { WalSync } from '../platform/db/wal-sync.js';
import { XiaoweiError } from '../platform/errors.js';

export interface TickBatcherOptions<I, O> {
  /** Handles one group; answers one result per item, in order. Throwing fails the whole group. */
  run(items: I[]): Promise<O[]> | O[];
  /** Most items in one group. */
  maxBatch: number;
  /** Most items waiting; beyond it callers get `overloaded` at once instead of a long wait. */
  maxQueue: number;
  /** When true, the store cannot run a group now (SQLite: a Kysely transaction is open on the connection). */
  busy?: () => boolean;
  /**
   * Groups running at once (default 1). On PostgreSQL a group waits on the network and the WAL
   * flush, not on this process, so a few in flight keep latency at about one round trip under load.
   */
  maxInFlight?: number;
  /**
   * Least time between the starts of two groups (default 0: the next tick). For work that is not
   * waited on by a person or a heartbeat (update reports): fewer, larger groups cost the database
   * and this process fewer round trips, for at most this much more latency.
   */
  minIntervalMs?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Per-tick batching for the terminal protocol's hot paths (the request-sequence check, session
 * look-ups, heartbeat ingest): whatever arrives while a group runs goes into the next group, so
 * the database sees one statement or one durable commit per tick instead of one per request, and
 * each caller is answered once its group is done. At most `maxInFlight` groups run at once.
 */
export class TickBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private running = 0;
  private scheduled = false;
  private lastStart = -Infinity;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: TickBatcherOptions<I, O>) {}

  submit(item: I): Promise<O> {
    if (this.closing) return Promise.reject(new XiaoweiError('shutting_down'));
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(new XiaoweiError('overloaded'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private get full(): boolean {
    return this.running >= (this.options.maxInFlight ?? 1);
  }

  private schedule(delayMs = 0): void {
    if (this.full || this.scheduled) return;
    this.scheduled = true;
    const go = (): void => {
      this.scheduled = false;
      void this.flush();
    };
    const wait = Math.max(delayMs, this.lastStart + (this.options.minIntervalMs ?? 0) - performance.now());
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  private async flush(): Promise<void> {
    if (this.full || this.queue.length === 0) return this.notifyIdle();
    if (this.options.busy?.()) return this.schedule(1);
    if (this.options.minIntervalMs && performance.now() - this.lastStart < this.options.minIntervalMs) return this.schedule();
    this.lastStart = performance.now();
    this.running++;
    const group = this.queue.splice(0, this.options.maxBatch);
    // More waiting than this group takes, and room for another group: start it too.
    if (this.queue.length > 0) this.schedule();
    try {
      const results = await this.options.run(group.map((w) => w.item));
      group.forEach((w, i) => w.resolve(results[i] as O));
    } catch (error) {
      for (const w of group) w.reject(error);
    } finally {
      this.running--;
      if (this.queue.length > 0) this.schedule();
      else this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.running > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Refuses new items and resolves once everything queued has run. */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}

interface LaneWaiting {
  item: unknown;
  resolve: (out: unknown) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  queue: LaneWaiting[];
  maxBatch: number;
  run(items: unknown[]): unknown[];
  /** Answered at its commit, with a way to wait for the log sync that makes it durable (`orderedLane`). */
  ordered: boolean;
}

/** What an ordered lane answers at its commit: the result, and the wait for that commit's log sync. */
export interface Ordered<O> {
  value: O;
  /** Resolves once the commit that decided `value` is on disk (at once without a WalSync). */
  durable: () => Promise<void>;
}

export interface SqliteWriterOptions {
  /** Least time between the starts of two commits: lets a group grow instead of paying one fsync per request. */
  minIntervalMs: number;
  /** Most items waiting in one lane; beyond it callers get `overloaded`. */
  maxQueue: number;
}

/**
 * One durable commit per tick for all of the terminal protocol's SQLite writes: the sequence
 * checks of new requests and the heartbeats of requests verified a moment earlier share one
 * transaction instead of each kind paying its own. The commit writes the log without syncing it
 * and the callers are answered after the fdatasync of the log that follows, on the thread pool
 * (WalSync, platform/db/wal-sync.ts) — a FULL commit's fsync would stop the event loop for 2–4 ms. Each lane's group runs in a savepoint, so one lane failing fails only its
 * callers. Commits start at most every `minIntervalMs`, which bounds the fsyncs per second and
 * lets groups grow under load. (PostgreSQL does not block the event loop on commit and keeps
 * one `TickBatcher` per kind.)
 */
export class SqliteWriter {
  private readonly lanes: Lane[] = [];
  private scheduled = false;
  private orderedScheduled = false;
  private lastStart = 0;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly options: SqliteWriterOptions,
  ) {}

  /** A kind of write: `run` gets the group's items inside the shared transaction and answers one result each. */
  lane<I, O>(run: (items: I[]) => O[], maxBatch: number): (item: I) => Promise<O> {
    return this.addLane(run, maxBatch, false) as (item: I) => Promise<O>;
  }

  /**
   * A kind of write whose callers need it committed — in order, before anything they write next —
   * but not yet durable: they are answered right after the commit, with `durable()` to await
   * before they answer anyone (by then a later commit's sync has usually covered it). A group of
   * ordered lanes alone commits at the next tick, without waiting for `minIntervalMs` (it asks for no
   * sync), and asks for no sync of its own.
   */
  orderedLane<I, O>(run: (items: I[]) => O[], maxBatch: number): (item: I) => Promise<Ordered<O>> {
    return this.addLane(run, maxBatch, true) as (item: I) => Promise<Ordered<O>>;
  }

  private addLane<I, O>(run: (items: I[]) => O[], maxBatch: number, ordered: boolean): (item: I) => Promise<unknown> {
    const lane: Lane = { queue: [], maxBatch, run: (items) => run(items as I[]), ordered };
    this.lanes.push(lane);
    return (item: I) => {
      if (this.closing) return Promise.reject(new XiaoweiError('shutting_down'));
      if (lane.queue.length >= this.options.maxQueue) return Promise.reject(new XiaoweiError('overloaded'));
      return new Promise<unknown>((resolve, reject) => {
        lane.queue.push({ item, resolve, reject });
        if (ordered) this.scheduleOrdered();
        else this.schedule();
      });
    };
  }

  private pending(): boolean {
    return this.lanes.some((l) => l.queue.length > 0);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastStart + this.options.minIntervalMs - performance.now();
    const go = (): void => {
      this.scheduled = false;
      this.flush(false);
    };
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  /** Ordered lanes commit at the next tick (no sync to pace); the durable ones keep their own pace. */
  private scheduleOrdered(): void {
    if (this.orderedScheduled) return;
    this.orderedScheduled = true;
    setImmediate(() => {
      this.orderedScheduled = false;
      this.flush(true);
    });
  }

  private flush(orderedOnly: boolean): void {
    if (!this.pending()) return this.notifyIdle();
    // A Kysely transaction is open on the shared connection: our writes would join it.
    if (this.db.inTransaction) {
      const flag = orderedOnly ? 'orderedScheduled' : 'scheduled';
      if (this[flag]) return;
      this[flag] = true;
      setTimeout(() => {
        this[flag] = false;
        this.flush(orderedOnly);
      }, 1);
      return;
    }
    if (!orderedOnly) this.lastStart = performance.now();
    const groups = this.lanes.map((lane) => ({ lane, waiting: !orderedOnly || lane.ordered ? lane.queue.splice(0, lane.maxBatch) : [] }));
    if (groups.every((g) => g.waiting.length === 0)) return this.notifyIdle();
    const outcomes: ({ ok: true; results: unknown[] } | { ok: false; error: unknown })[] = [];
    // The commit writes the log without syncing it; the callers are answered after the log sync
    // that follows (off the event loop, shared with the ledger's and the group writer's commits).
    const wal = FSYNC_ON_LOOP ? undefined : WalSync.of(this.db);
    let synced: Promise<void>;
    let durable: () => Promise<void>;
    try {
      const commit = this.db.transaction(() => {
        for (const { lane, waiting } of groups) {
          if (waiting.length === 0) {
            outcomes.push({ ok: true, results: [] });
            continue;
          }
          try {
            // Nested: a savepoint, rolled back alone if this lane throws.
            outcomes.push({ ok: true, results: this.db.transaction(() => lane.run(waiting.map((w) => w.item)))() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
      if (wal) wal.unsynced(() => commit());
      else commit();
      const mark = wal?.mark() ?? 0;
      durable = wal ? () => wal.durableUpTo(mark) : () => Promise.resolve();
      // Ordered lanes are answered now, the rest after the sync (none asked for when all are ordered).
      groups.forEach(({ lane, waiting }, i) => {
        if (!lane.ordered || waiting.length === 0) return;
        const outcome = outcomes[i]!;
        waiting.forEach((w, j) => (outcome.ok ? w.resolve({ value: outcome.results[j], durable } satisfies Ordered<unknown>) : w.reject(outcome.error)));
      });
      synced = groups.some(({ lane, waiting }) => !lane.ordered && waiting.length > 0) ? durable() : Promise.resolve();
    } catch (error) {
      // The commit itself failed: nothing of this group is stored.
      for (const { waiting } of groups) for (const w of waiting) w.reject(error);
      if (this.pending()) this.schedule();
      else this.notifyIdle();
      return;
    }
    synced.then(
      () =>
        groups.forEach(({ lane, waiting }, i) => {
          if (lane.ordered) return;
          const outcome = outcomes[i]!;
          waiting.forEach((w, j) => (outcome.ok ? w.resolve(outcome.results[j]) : w.reject(outcome.error)));
        }),
      (error: unknown) => {
        for (const { lane, waiting } of groups) if (!lane.ordered) for (const w of waiting) w.reject(error);
      },
    );
    if (this.pending()) this.schedule();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Refuses new writes and resolves once everything queued is committed. */
  async drain(): Promise<void> {
    this.closing = true;
    if (!this.pending()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
