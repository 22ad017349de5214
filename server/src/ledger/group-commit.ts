import { XiaoweiError } from '../platform/errors.js';
import type { BatchResult, TransferResult } from './result-codes.js';
import type { CommitRequest, LedgerStore } from './store.js';
import type { TransferInput } from './types.js';

export interface GroupCommitOptions {
  /** Most transfers in one database transaction. */
  maxBatch: number;
  /** How long the first queued request may wait for company before a flush (0 = next tick). */
  maxWaitMs: number;
  /** Most transfers waiting; beyond it callers get `overloaded` at once instead of a long wait. */
  maxQueue: number;
  /** Period of idle work (SQLite per-account indexing). */
  idleMs?: number;
  onCommit?: (transfers: number, requests: number, latencyMs: number) => void;
  /** When true, the store cannot take a transaction now (SQLite: another transaction is open). */
  busy?: () => boolean;
}

interface Waiting extends CommitRequest {
  resolve: (results: BatchResult<TransferResult>[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: callers' transfers are queued and committed together, one durable commit per
 * batch; each caller gets only its own results, and one failing transfer never fails the others.
 * One batch is written at a time per process; the queue fills while it commits. When the store
 * makes writes durable separately (SQLite, ADR 0011), the next batch is decided and written while
 * the previous one's sync runs, and each batch's callers are answered once a sync that started
 * after its write has finished — in the order the batches were written.
 */
export class GroupCommitter {
  private queue: Waiting[] = [];
  private queued = 0;
  private flushing = false;
  /** Batches written and waiting for their sync. */
  private syncing = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The store has idle work ready (a pass of slices under way): run it whenever the queue empties. */
  private idleReady = false;
  private idleScheduled = false;
  private closing = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly store: LedgerStore,
    private readonly options: GroupCommitOptions,
  ) {
    if (options.idleMs) {
      this.idleTimer = setInterval(() => void this.runIdle(), options.idleMs);
      this.idleTimer.unref();
    }
  }

  /** Queues one caller's batch; resolves with its failures once the batch is durable. */
  submit(
    transfers: readonly TransferInput[],
    internal = false,
    extra: Pick<CommitRequest, 'stored' | 'note'> = {},
  ): Promise<BatchResult<TransferResult>[]> {
    if (this.closing) return Promise.reject(new XiaoweiError('shutting_down'));
    if (transfers.length > this.options.maxBatch) {
      return Promise.reject(new XiaoweiError('batch_too_large', String(this.options.maxBatch)));
    }
    if (transfers.length === 0) return Promise.resolve([]);
    if (this.queued + transfers.length > this.options.maxQueue) return Promise.reject(new XiaoweiError('overloaded'));
    return new Promise((resolve, reject) => {
      this.queue.push({ transfers, internal, stored: extra.stored, note: extra.note, resolve, reject });
      this.queued += transfers.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    const full = this.queued >= this.options.maxBatch;
    const run = (): void => {
      this.timer = undefined;
      void this.flush();
    };
    this.timer = full || this.options.maxWaitMs === 0 ? (setImmediate(run) as unknown as NodeJS.Timeout) : setTimeout(run, this.options.maxWaitMs);
  }

  private take(): Waiting[] {
    const group: Waiting[] = [];
    let count = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && count + next.transfers.length > this.options.maxBatch) break;
      group.push(next);
      count += next.transfers.length;
      this.queue.shift();
    }
    this.queued -= count;
    return group;
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    if (this.options.busy?.()) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, 1);
      return;
    }
    this.flushing = true;
    const group = this.take();
    const started = performance.now();
    let results: BatchResult<TransferResult>[][];
    try {
      results = await this.store.commit(group);
    } catch (error) {
      // The transaction rolled back: nothing of this group was committed, so callers may retry.
      for (const w of group) w.reject(error);
      this.flushing = false;
      this.afterFlush();
      return;
    }
    if (!this.store.durable) {
      this.answer(group, results, started);
      this.flushing = false;
      this.afterFlush();
      return;
    }
    // Written, not yet durable: let the next group be decided and written while the disk syncs.
    this.syncing++;
    this.flushing = false;
    this.afterFlush();
    try {
      await this.store.durable();
      this.answer(group, results, started);
    } catch (error) {
      // The sync failed: the group may or may not survive a crash. Nobody is told it committed;
      // a retry with the same ids answers from what the database holds.
      for (const w of group) w.reject(error);
    } finally {
      this.syncing--;
      this.afterFlush();
    }
  }

  private answer(group: Waiting[], results: BatchResult<TransferResult>[][], started: number): void {
    const count = group.reduce((n, w) => n + w.transfers.length, 0);
    this.options.onCommit?.(count, group.length, performance.now() - started);
    group.forEach((w, i) => w.resolve(results[i] ?? []));
  }

  private afterFlush(): void {
    if (this.queue.length > 0) this.schedule();
    else {
      if (!this.flushing && this.syncing === 0) this.notifyDrained();
      if (this.idleReady) this.scheduleIdle();
    }
  }

  /** The next slice of idle work after the events already waiting (answers, new requests). */
  private scheduleIdle(): void {
    if (this.idleScheduled || this.closing) return;
    this.idleScheduled = true;
    setImmediate(() => {
      this.idleScheduled = false;
      void this.runIdle();
    });
  }

  /**
   * One slice of idle work, only while no commit waits or runs. Work that is due (a tick came, or a
   * pass has slices left) runs at the next moment the queue is empty — under load, typically while
   * a group's sync runs — one slice at a time, each after the events that came in meanwhile.
   */
  private async runIdle(): Promise<void> {
    if (this.flushing || this.queue.length > 0 || this.options.busy?.()) {
      // Not now: at the next moment the queue is empty (afterFlush), or the next tick.
      this.idleReady = true;
      return;
    }
    this.flushing = true;
    try {
      this.idleReady = await this.store.idle();
    } catch {
      // Idle work is retried on the next tick; it never holds up commits.
      this.idleReady = false;
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else if (this.idleReady) this.scheduleIdle();
    }
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Refuses new work and resolves once everything queued is committed. */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (!this.flushing && this.syncing === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.queue.length > 0 || this.flushing || this.syncing > 0) await this.drain();
  }
}
