import type { ServerResponse } from 'node:http';
import type { CommandStore } from './commands.js';

/** A comment line every 25 s keeps idle proxies and NAT tables from dropping the connection. */
export const KEEP_ALIVE_MS = 25_000;
/** A client that lets this much pile up unread is gone or stuck: drop it, it will reconnect. */
const MAX_UNREAD_BYTES = 64 * 1024;

const WAKE = 'event: wake\ndata: {}\n\n';
const REPLACED = 'event: replaced\ndata: {}\n\n';
const KEEP_ALIVE = ':\n\n';

/**
 * The push connections of this process: one Server-Sent Events response per terminal, kept open.
 * Push only wakes a terminal (`event: wake`); the terminal then fetches its commands, so a lost
 * wake costs at most one poll interval and never a command. State per connection is one map
 * entry and one close listener, so 20,000 connections cost little beyond their sockets.
 */
export class PushHub {
  private readonly connections = new Map<string, ServerResponse>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Streams attached so far (ever): lets the wake poller see that one came while it looked away. */
  attachments = 0;

  constructor(keepAliveMs = KEEP_ALIVE_MS) {
    this.timer = setInterval(() => this.keepAlive(), keepAliveMs);
    this.timer.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  has(terminalId: string): boolean {
    return this.connections.has(terminalId);
  }

  /** Takes over an open response as the terminal's push stream; an older one is told and closed. */
  attach(terminalId: string, res: ServerResponse): void {
    if (this.closed) {
      res.end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write(': connected\n\n');
    const previous = this.connections.get(terminalId);
    this.connections.set(terminalId, res);
    this.attachments++;
    if (previous) previous.end(REPLACED);
    res.once('close', () => {
      if (this.connections.get(terminalId) === res) this.connections.delete(terminalId);
    });
  }

  /** Ends a terminal's stream (sign-off). */
  detach(terminalId: string): void {
    const res = this.connections.get(terminalId);
    if (!res) return;
    this.connections.delete(terminalId);
    res.end();
  }

  /** Sends `wake` to those of the terminals connected here; answers how many were. */
  wake(terminalIds: Iterable<string>): number {
    let woken = 0;
    for (const id of terminalIds) {
      const res = this.connections.get(id);
      if (res && this.send(res, WAKE)) woken++;
    }
    return woken;
  }

  private send(res: ServerResponse, text: string): boolean {
    if (res.writableEnded || res.destroyed) return false;
    if (res.writableLength > MAX_UNREAD_BYTES) {
      res.destroy();
      return false;
    }
    res.write(text);
    return true;
  }

  private keepAlive(): void {
    for (const res of this.connections.values()) this.send(res, KEEP_ALIVE);
  }

  /** Ends every stream (shutdown: the server cannot close while they are open). */
  closeAll(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const res of this.connections.values()) res.end();
    this.connections.clear();
  }
}

/** How long a gap in the seq cursor is watched for a late commit before it is given up. */
const GAP_WATCH_US = 30_000_000;
const MAX_WATCHED = 10_000;
const POLL_LIMIT = 10_000;

/**
 * Wakes this process's push connections for commands other processes enqueued (or that were
 * enqueued inside a caller's transaction, whose commit nobody here sees). Every `intervalMs` it
 * reads the queue past its cursor, the highest `seq` it has seen, and wakes the terminals
 * concerned that are connected here. On PostgreSQL seqs are handed out at insert and committed
 * in any order, so a seq missing below the cursor may still commit: such gaps are watched for 30 s.
 * Commands this process enqueued and woke itself are skipped. It also wakes terminals whose held
 * commands (`not_before`) came due since the last look.
 */
export class WakePoller {
  private cursor: number | null = null;
  private starting: Promise<void> | null = null;
  private readonly gaps = new Map<number, number>();
  private readonly wokenHere = new Set<number>();
  private lastDueCheck: number;
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly commands: Pick<CommandStore, 'maxSeq' | 'after' | 'becameDue'>,
    private readonly hub: Pick<PushHub, 'size' | 'has' | 'wake' | 'attachments'>,
    private readonly now: () => number,
    intervalMs: number,
  ) {
    this.lastDueCheck = now();
    this.ready().catch(() => undefined);
    this.timer = setInterval(() => void this.poll().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  /**
   * Resolves once the cursor has its starting point (the queue's current top). The push route
   * waits for it before attaching a stream, so no stream can exist before the poller knows where
   * to look from; a stream fetches on connect whatever was enqueued before.
   */
  ready(): Promise<void> {
    if (this.cursor !== null) return Promise.resolve();
    this.starting ??= this.commands
      .maxSeq()
      .then((top) => {
        this.cursor ??= top;
      })
      .finally(() => {
        this.starting = null;
      });
    return this.starting;
  }

  /** Seqs this process already woke their terminals for. */
  wokeLocally(seqs: readonly number[]): void {
    if (this.wokenHere.size > 100_000) this.wokenHere.clear();
    for (const s of seqs) this.wokenHere.add(s);
  }

  /** One look at the queue (the timer calls it; tests may too). */
  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const nowUs = this.now();
      if (this.cursor === null) return await this.ready();
      if (this.hub.size === 0) {
        // Nobody to wake: just keep up (a terminal that connects later fetches on connect). Unless
        // a stream attached while we read the top: then commands under it may be news to it.
        const attachments = this.hub.attachments;
        const top = await this.commands.maxSeq();
        if (this.hub.attachments === attachments) {
          this.cursor = top;
          this.gaps.clear();
          this.wokenHere.clear();
          this.lastDueCheck = nowUs;
          return;
        }
      }
      const cursor = this.cursor;
      const targets = new Set<string>();
      const rows = await this.commands.after(cursor, [...this.gaps.keys()], POLL_LIMIT);
      let top = cursor;
      const seen = new Set<number>();
      for (const r of rows) {
        seen.add(r.seq);
        this.gaps.delete(r.seq);
        if (r.seq > top) top = r.seq;
        if (this.wokenHere.delete(r.seq)) continue;
        if (r.status === 'pending' && (r.not_before === null || r.not_before <= nowUs) && this.hub.has(r.terminal_id)) targets.add(r.terminal_id);
      }
      // A jump far past what one read returns is a sequence skip (e.g. after a crash), not gaps to watch.
      if (top - cursor <= 2 * POLL_LIMIT) {
        for (let s = cursor + 1; s < top && this.gaps.size < MAX_WATCHED; s++) if (!seen.has(s)) this.gaps.set(s, nowUs);
      }
      this.cursor = top;
      for (const [seq, since] of this.gaps) if (nowUs - since > GAP_WATCH_US) this.gaps.delete(seq);
      for (const id of await this.commands.becameDue(this.lastDueCheck, nowUs)) if (this.hub.has(id)) targets.add(id);
      this.lastDueCheck = nowUs;
      if (targets.size > 0) this.hub.wake(targets);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
