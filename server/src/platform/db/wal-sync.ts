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
 * Syncs are shared: one runs at a time, and every call made while one runs waits for the next one,
 * so all the commits written while the disk works share a sync. The log is replayed in order up to
 * its last complete commit, so a sync makes every earlier unsynced commit on the file durable,
 * whoever wrote it (the ledger, the audit log, the payments engine's group writer).
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

export class WalSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly lower: BetterSqlite3.Statement;
  private readonly raise: BetterSqlite3.Statement;
  /** The WAL file, opened at the first sync and kept open (see above). */
  private fd: number | undefined;
  private readonly syncFile: () => Promise<void>;
  /** Syncs started so far (tests, diagnostics). */
  syncs = 0;

  private constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly walFile: string,
    level: number,
    syncFile?: SyncFile,
  ) {
    this.lower = db.prepare('pragma synchronous = NORMAL');
    this.raise = db.prepare(`pragma synchronous = ${level}`);
    this.syncFile = syncFile ? () => syncFile(walFile) : () => this.fdatasync();
  }

  private static readonly byConnection = new WeakMap<BetterSqlite3.Database, WalSync | null>();

  /**
   * The syncer of a connection, shared by every writer on it (the first one made is the one all
   * get); undefined when commits must stay as they are: in memory, not in WAL mode, or opened with
   * `synchronous` below FULL (nothing to wait for).
   */
  static of(db: BetterSqlite3.Database, syncFile?: SyncFile): WalSync | undefined {
    let sync = WalSync.byConnection.get(db);
    if (sync === undefined) {
      const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
      const level = Number(db.pragma('synchronous', { simple: true }));
      sync = db.memory || mode !== 'wal' || level < 2 ? null : new WalSync(db, `${db.name}-wal`, level, syncFile);
      WalSync.byConnection.set(db, sync);
    }
    return sync ?? undefined;
  }

  /**
   * Runs `write` (synchronous: it must begin and commit without awaiting) with `synchronous =
   * NORMAL`, then restores the connection's level, so no other commit on the connection runs with
   * the lower one. What it committed is durable once `durable()`, called after it, resolves.
   */
  unsynced<T>(write: () => T): T {
    this.lower.run();
    try {
      return write();
    } finally {
      this.raise.run();
    }
  }

  /** Resolves once a sync of the WAL that started after this call has finished. */
  durable(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.begin();
    // The running sync may have started before the caller's commit: wait for the next one.
    const queued = this.running.then(noop, noop).then(() => {
      this.queued = undefined;
      return this.begin();
    });
    this.queued = queued;
    return queued;
  }

  private begin(): Promise<void> {
    this.syncs++;
    const run: Promise<void> = this.syncFile().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
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
