/**
 * Durable SQLite commits without an fsync on the event loop (ADR 0011).
 *
 * In WAL mode a transaction is durable once its frames, up to and including its commit frame, are
 * on disk in the `-wal` file; with `synchronous = FULL` SQLite fsyncs that file inside COMMIT, and
 * better-sqlite3 being synchronous, the whole process waits 2–4 ms (much more on a loaded disk) for
 * every commit. A writer that can wait asynchronously instead commits with `synchronous = NORMAL`
 * (`unsynced`: the frames are written, not synced) and then awaits `durable()`: an fdatasync of the
 * WAL file, run in libuv's thread pool, that *started after* the call. Only then does it tell its
 * callers the work is done. Meanwhile the event loop parses, validates and decides the next requests.
 *
 * Syncs are shared and may overlap. Every unsynced write is counted (`unsynced`, `wrote`), and a
 * sync covers the writes counted when it started. A caller waits for the first sync — running or
 * new — that covers its writes: one already running that started after them, else a new one
 * started at once, even while an older one runs (up to `XIAOWEI_WAL_SYNCS_IN_FLIGHT`, 2 by
 * default; beyond it the new sync starts as soon as the oldest ends). So a commit waits about one
 * sync latency, never for a sync that began before it and then a whole one of its own. Syncs are
 * answered in the order they started, and a sync that ran alongside one that failed fails too: the
 * kernel reports a write-back error to one fdatasync only, and the lost pages may hold earlier
 * frames every later commit depends on. The log is replayed in order up to its last complete commit,
 * so a sync makes every earlier unsynced commit on the file durable, whoever wrote it (the ledger,
 * the audit log, the payments engine's group writer, the terminal protocol's writer).
 *
 * Why the file descriptor may be kept open: SQLite writes the WAL in place — after a checkpoint it
 * starts again from the top of the same file (or truncates it), never replacing it — and deletes it
 * only when the last connection to the database closes, which cannot happen while this connection,
 * the one whose commits are being synced, is open. Checkpoints stay safe with NORMAL: SQLite syncs
 * the WAL before it copies frames into the database file and syncs that file before the WAL is
 * reused.
 *
 * Readers on the same connection may see a commit before its sync finishes (a crash in between
 * loses it, unacknowledged); writers that acknowledge anything — a replay of an idempotency key
 * included — go through a commit of their own and its sync, so they never acknowledge what a crash
 * could take back.
 */
import type BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';

const noop = (): void => undefined;

/** Closes the log file descriptor of a syncer whose connection is gone. */
const descriptors = new FinalizationRegistry<number>((fd) => fs.close(fd, noop));

/** A replacement for the sync itself (tests: to watch and order events); gets the WAL file's path. */
export type SyncFile = (file: string) => Promise<void>;

/** Syncs running at once at most (XIAOWEI_WAL_SYNCS_IN_FLIGHT; 1 = one at a time, as before overlapping syncs). */
export const SYNCS_IN_FLIGHT = Math.max(1, Number(process.env.XIAOWEI_WAL_SYNCS_IN_FLIGHT ?? 2) || 2);

interface Flight {
  /** The writes counted when it started: it makes them durable. */
  covers: number;
  /** Settles, in start order, after this sync and every sync running when it started. */
  done: Promise<void>;
  settled: boolean;
}

export class WalSync {
  /** Unsynced writes counted so far. */
  private written = 0;
  /** Every write up to this count is durable. */
  private synced = 0;
  /** Syncs started and not yet settled, oldest first. */
  private flights: Flight[] = [];
  /** A sync to start when the oldest running one settles (all in flight). */
  private queued: Promise<void> | undefined;
  private readonly lower: BetterSqlite3.Statement;
  private readonly raise: BetterSqlite3.Statement;
  /** The WAL file, opened at the first sync and kept open (see above). */
  private fd: number | undefined;
  private syncFile: () => Promise<void>;
  /** Syncs started so far (tests, diagnostics). */
  syncs = 0;

  private constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly walFile: string,
    level: number,
    syncFile: SyncFile | undefined,
    private readonly maxInFlight: number,
  ) {
    this.lower = db.prepare('pragma synchronous = NORMAL');
    this.raise = db.prepare(`pragma synchronous = ${level}`);
    this.syncFile = syncFile ? () => syncFile(walFile) : () => this.fdatasync();
  }

  private static readonly byConnection = new WeakMap<BetterSqlite3.Database, WalSync | null>();

  /**
   * The syncer of a connection, shared by every writer on it (the first one made is the one all
   * get); undefined when commits must stay as they are: in memory, not in WAL mode, or opened with
   * `synchronous` below FULL (nothing to wait for). `maxInFlight` (tests): syncs running at once.
   */
  static of(db: BetterSqlite3.Database, syncFile?: SyncFile, maxInFlight = SYNCS_IN_FLIGHT): WalSync | undefined {
    let sync = WalSync.byConnection.get(db);
    if (sync === undefined) {
      const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
      const level = Number(db.pragma('synchronous', { simple: true }));
      sync = db.memory || mode !== 'wal' || level < 2 ? null : new WalSync(db, `${db.name}-wal`, level, syncFile, maxInFlight);
      WalSync.byConnection.set(db, sync);
    }
    return sync ?? undefined;
  }

  /** Tests: replaces the sync of a syncer already made (undefined: the real fdatasync again). */
  useSyncFile(syncFile: SyncFile | undefined): void {
    this.syncFile = syncFile ? () => syncFile(this.walFile) : () => this.fdatasync();
  }

  /**
   * Runs `write` (synchronous: it must begin and commit without awaiting) with `synchronous =
   * NORMAL`, then restores the connection's level, so no other commit on the connection runs with
   * the lower one. What it committed is durable once `durable()`, called after it, resolves (or
   * `durableUpTo(mark())` with the mark taken right after it).
   */
  unsynced<T>(write: () => T): T {
    this.lower.run();
    try {
      return write();
    } finally {
      this.written++;
      this.raise.run();
    }
  }

  /**
   * Counts a write committed with `synchronous = NORMAL` by other means than `unsynced` (the group
   * writer's, whose jobs await inside the transaction); call it right after the commit.
   */
  wrote(): void {
    this.written++;
  }

  /** The count of unsynced writes so far: `durableUpTo(mark())` waits for exactly those. */
  mark(): number {
    return this.written;
  }

  /** Resolves once every write made before this call is on disk. */
  durable(): Promise<void> {
    return this.durableUpTo(this.written);
  }

  /**
   * Resolves once the writes counted up to `mark` are on disk: at once if a finished sync covered
   * them, else with the oldest running sync that started after them, else with a new one.
   */
  durableUpTo(mark: number): Promise<void> {
    if (mark <= this.synced) return Promise.resolve();
    for (const f of this.flights) if (f.covers >= mark) return f.done;
    if (this.flights.length < this.maxInFlight) return this.begin();
    // All in flight: one more starts as soon as the oldest settles, covering everything written by then.
    this.queued ??= this.flights[0]!.done.then(noop, noop).then(() => {
      this.queued = undefined;
      return this.begin();
    });
    return this.queued;
  }

  private begin(): Promise<void> {
    this.syncs++;
    const covers = this.written;
    const before = this.flights.filter((f) => !f.settled).map((f) => f.done);
    const own = this.syncFile();
    // Answered in start order; a failure of a sync that ran alongside fails this one too (see above).
    const done =
      before.length === 0
        ? own
        : Promise.allSettled([own, ...before]).then((results) => {
            for (const r of results) if (r.status === 'rejected') throw r.reason;
          });
    const flight: Flight = { covers, done, settled: false };
    this.flights.push(flight);
    const settle = (ok: boolean): void => {
      flight.settled = true;
      if (ok && covers > this.synced) this.synced = covers;
      this.flights = this.flights.filter((f) => f !== flight);
    };
    done.then(
      () => settle(true),
      () => settle(false),
    );
    return done;
  }

  private fdatasync(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.fd === undefined) {
        if (!this.db.open) return resolve();
        try {
          this.fd = fs.openSync(this.walFile, 'r');
          descriptors.register(this, this.fd);
        } catch (error) {
          // No log file: nothing was written to one, so nothing waits for a sync.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve();
          return reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
      fs.fdatasync(this.fd, (error) => (error ? reject(error) : resolve()));
    });
  }
}
