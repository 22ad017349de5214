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
 * Wakes per second and process past the burst. Each wake costs a command fetch (and for an update
 * notice, later, a download and two reports): two processes at 500/s notify 20,000 terminals in
 * ~20 s while heartbeats keep their latency on two cores (bench:fleet). The burst is small: 250
 * wakes at once brought 250 fetches within the same milliseconds, and a heartbeat arriving then
 * waited behind all of them (p99 ~130 ms in the second after a rollout's approval).
 */
export const WAKES_PER_S = 500;
export const WAKE_BURST = 50;
const PACE_TICK_MS = 50;
const KEEP_ALIVE_SLICES = 25;

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
  /** Wakes over the rate, waiting their turn (a Set: a terminal waits once however often it is woken). */
  private readonly queued = new Set<string>();
  private pacer: NodeJS.Timeout | null = null;
  /** Wakes that may go out at once now; refilled at `wakesPerS`, never above `wakeBurst`. */
  private tokens: number;
  private tokensAt = performance.now();

  /**
   * `wakesPerS` paces wakes: a rollout to 20,000 terminals must not make them all fetch (and
   * then download) in the same second, which would starve everyone's heartbeats. Up to
   * `wakeBurst` go out at once; the rest follow at that rate, in the order they were asked.
   */
  constructor(
    keepAliveMs = KEEP_ALIVE_MS,
    private readonly wakesPerS = WAKES_PER_S,
    private readonly wakeBurst = WAKE_BURST,
  ) {
    // Spread over the period, a slice each tick: 10,000 comments written at once would stall
    // this process, and the clients reading them, for a noticeable moment every 25 s.
    this.timer = setInterval(() => this.keepAlive(), keepAliveMs / KEEP_ALIVE_SLICES);
    this.timer.unref();
    this.tokens = wakeBurst;
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

  /**
   * Sends `wake` to those of the terminals connected here, at once or, past the burst, paced
   * (`wakesPerS`); answers how many were connected (woken now or queued).
   */
  wake(terminalIds: Iterable<string>): number {
    let woken = 0;
    this.refill();
    for (const id of terminalIds) {
      const res = this.connections.get(id);
      if (!res || res.writableEnded || res.destroyed) continue;
      woken++;
      if (this.queued.size === 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.send(res, WAKE);
      } else {
        this.queued.add(id);
      }
    }
    if (this.queued.size > 0) this.pace();
    return woken;
  }

  /** Wakes waiting their turn (for tests and metrics). */
  get queuedWakes(): number {
    return this.queued.size;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.wakeBurst, this.tokens + ((now - this.tokensAt) / 1000) * this.wakesPerS);
    this.tokensAt = now;
  }

  private pace(): void {
    if (this.pacer || this.closed) return;
    this.pacer = setInterval(() => {
      this.refill();
      for (const id of this.queued) {
        if (this.tokens < 1) break;
        this.queued.delete(id);
        const res = this.connections.get(id);
        // Gone meanwhile: it fetches on reconnect anyway, so nothing is lost.
        if (res && this.send(res, WAKE)) this.tokens -= 1;
      }
      if (this.queued.size === 0 && this.pacer) {
        clearInterval(this.pacer);
        this.pacer = null;
      }
    }, PACE_TICK_MS);
    this.pacer.unref();
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

  /** Where the keep-alive round is (a Map iterator sees entries added during the round). */
  private keepAliveRound: Iterator<ServerResponse> | null = null;

  /** One slice of the keep-alive round: each connection hears from us once per period. */
  private keepAlive(): void {
    let n = Math.ceil(this.connections.size / KEEP_ALIVE_SLICES);
    this.keepAliveRound ??= this.connections.values();
    while (n-- > 0) {
      const next = this.keepAliveRound.next();
      if (next.done) {
        this.keepAliveRound = null;
        return;
      }
      this.send(next.value, KEEP_ALIVE);
    }
  }

  /** Ends every stream (shutdown: the server cannot close while they are open). */
  closeAll(): void {
    this.closed = true;
    clearInterval(this.timer);
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = null;
    this.queued.clear();
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
