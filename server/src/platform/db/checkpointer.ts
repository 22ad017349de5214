/**
 * WAL checkpoints in a worker thread (ADR 0011).
 *
 * A SQLite commit that takes the WAL past `wal_autocheckpoint` pages runs a checkpoint inside
 * COMMIT: it syncs the WAL, copies every page written since the last checkpoint into the database
 * file and syncs that — on the event loop, which waits tens of milliseconds each time (under load,
 * every few group commits). Here a worker thread with its own connection to the same file runs
 * PASSIVE checkpoints instead: a PASSIVE checkpoint takes no lock a writer needs and copies only
 * frames of committed transactions, so the event loop goes on writing meanwhile. Once it has copied
 * everything, the next write transaction starts the WAL again from the top, as after any checkpoint.
 *
 * The main connection keeps a higher `wal_autocheckpoint` as a safety net (CHECKPOINT_SAFETY_PAGES):
 * should the worker fall behind or stop, SQLite checkpoints inside COMMIT as before, so the WAL stays
 * bounded either way. `XIAOWEI_CHECKPOINT_THREAD=0` turns the worker off (diagnostics, A/B).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The main connection's own `wal_autocheckpoint` while a worker checkpoints (pages of 4 KiB: 64 MiB). */
export const CHECKPOINT_SAFETY_PAGES = 16_000;
/** The `wal_autocheckpoint` of a connection without the worker (SQLite's default is 1,000). */
export const CHECKPOINT_INLINE_PAGES = 4_000;
/** How often the worker looks for frames to copy when the last checkpoint found the WAL copied. */
const INTERVAL_MS = 100;
/** When a checkpoint copied frames but not all (a writer went on meanwhile): the next one after this. */
const AGAIN_MS = 5;
/** How long `close()` waits for the worker to close its connection before terminating it. */
const CLOSE_WAIT_MS = 2_000;

export function checkpointThreadWanted(): boolean {
  return process.env.XIAOWEI_CHECKPOINT_THREAD !== '0';
}

// The worker's code, run as a CommonJS script (eval): no file to find in both src/ and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
let checkpoint;
let timer;
let last = -1;
function run() {
  let delay = workerData.intervalMs;
  try {
    if (!db) {
      db = new Database(workerData.file, { fileMustExist: true });
      checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
    }
    // log: frames in the WAL; checkpointed: frames copied so far. Short of the end while it moves on
    // (a writer went on meanwhile): again soon. Stuck (a reader holds an old snapshot): next interval.
    const r = checkpoint.get();
    if (r.checkpointed < r.log && r.checkpointed !== last) delay = workerData.againMs;
    last = r.checkpointed;
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
  timer = setTimeout(run, delay);
}
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearTimeout(timer);
  if (db) db.close();
  parentPort.close();
});
timer = setTimeout(run, workerData.intervalMs);
`;

/** A worker checkpointing one SQLite file; `close()` before the main connection closes. */
export class Checkpointer {
  /** The last error the worker reported (the safety net in COMMIT keeps the WAL bounded meanwhile). */
  lastError: string | undefined;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: INTERVAL_MS, againMs: AGAIN_MS } });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) this.lastError = m.error;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.once('error', (error) => {
        this.lastError = error.message;
        resolve();
      });
    });
  }

  /** Stops the worker and closes its connection (the worker is unref'd: held here until it has exited). */
  async close(): Promise<void> {
    this.worker.ref();
    this.worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(
        () =>
          void this.worker.terminate().then(
            () => resolve(),
            () => resolve(),
          ),
        CLOSE_WAIT_MS,
      );
    });
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
  }
}
