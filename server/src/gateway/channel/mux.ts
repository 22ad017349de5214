import { EventEmitter } from 'node:events';
import type { FrameChannel } from './connection.js';
import { ChannelError } from './errors.js';

/**
 * What the multiplexer needs to know about a message format. For ISO 8583 the key is built from
 * the response MTI, field 41 (terminal id) and field 11 (STAN) — see `iso-keys.ts` — so that the
 * request's key is the one its response will carry.
 */
export interface MuxCodec<M> {
  encode(message: M): Buffer;
  /** Throws on a frame it cannot read; the mux reports it as `undecodable`. */
  decode(frame: Buffer): M;
  /** The key the response to this outgoing request will carry. */
  requestKey(message: M): string;
  /** The key of a received response, or null if it has none. */
  responseKey(message: M): string | null;
  /** A message the peer sends us to answer (e.g. its own echo), not a response to ours. */
  isRequest(message: M): boolean;
  /** A network-management echo request (ISO 8583: 0800 with code 301); needed for `echo`. */
  echo?(): M;
}

export interface EchoOptions {
  /** An echo is sent after this long without a received frame. */
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed echoes that mark the link down. */
  maxFailures: number;
}

export interface MuxOptions<M> {
  codec: MuxCodec<M>;
  echo?: EchoOptions;
  /** Outstanding requests; one more is refused with `queue_full`. */
  maxPending?: number;
  /**
   * How long, and how many, timed-out requests are remembered so that their late answer is
   * reported as `late` together with the request (the gateway reverses it).
   */
  lateTtlMs?: number;
  lateMax?: number;
}

export const MUX_DEFAULTS = { maxPending: 10_000, lateTtlMs: 10 * 60_000, lateMax: 10_000 } as const;

/** A received message no caller was waiting for. */
export type Unhandled<M> =
  /** The answer to a request that had already failed with an `outcomeUnknown` error. */
  | { reason: 'late'; message: M; request: M; failedAt: number }
  /** A response with no known request (or no key at all). */
  | { reason: 'unmatched'; message: M }
  /** A request from the peer; answer it through the channel (see `responder.ts`). */
  | { reason: 'request'; message: M };

export interface MuxEvents<M> {
  unhandled: [event: Unhandled<M>];
  /** A frame the codec could not read; only its size is given, never its bytes. */
  undecodable: [error: unknown, bytes: number];
  /** `ready` turned true: the channel is up and echoes (if any) are answered. */
  ready: [];
  /** `ready` turned false. */
  notReady: [reason: ChannelError];
}

interface Pending<M> {
  request: M;
  resolve: (response: M) => void;
  reject: (error: ChannelError) => void;
  timer: NodeJS.Timeout;
  /** The frame reached the socket: from here on a failure leaves the outcome unknown. */
  sent: boolean;
}

/**
 * Request/response multiplexer over one channel (after jPOS QMUX): many requests in flight at
 * once, each answer matched to its request by key, in any order. A request that times out
 * rejects with `channel_timeout`; its answer, if it still comes, is emitted as `unhandled` with
 * reason `late`. A lost link rejects every pending request with `channel_closed` at once.
 */
export class Mux<M> extends EventEmitter<MuxEvents<M>> {
  private readonly codec: MuxCodec<M>;
  private readonly maxPending: number;
  private readonly lateTtlMs: number;
  private readonly lateMax: number;
  private readonly pending = new Map<string, Pending<M>>();
  /** Failed-but-maybe-sent requests by key, oldest first (Map keeps insertion order). */
  private readonly late = new Map<string, { request: M; failedAt: number }>();
  private isReady: boolean;
  private echoDown = false;
  private echoFailures = 0;
  private echoTimer: NodeJS.Timeout | undefined;
  private echoing = false;
  private lastReceived = Date.now();
  private closed = false;
  private readonly hooks: { frame: (frame: Buffer) => void; up: () => void; down: (reason: ChannelError) => void };

  constructor(
    private readonly channel: FrameChannel,
    private readonly options: MuxOptions<M>,
  ) {
    super();
    this.codec = options.codec;
    this.maxPending = options.maxPending ?? MUX_DEFAULTS.maxPending;
    this.lateTtlMs = options.lateTtlMs ?? MUX_DEFAULTS.lateTtlMs;
    this.lateMax = options.lateMax ?? MUX_DEFAULTS.lateMax;
    if (options.echo && !this.codec.echo) throw new TypeError('echo needs a codec with echo()');
    this.isReady = channel.connected;
    this.hooks = {
      frame: (frame) => this.onFrame(frame),
      up: () => this.onUp(),
      down: (reason) => this.onDown(reason),
    };
    channel.on('frame', this.hooks.frame);
    channel.on('up', this.hooks.up);
    channel.on('down', this.hooks.down);
    if (options.echo) this.armEcho(options.echo.intervalMs);
  }

  /** The link is up and, with echo configured, answering. Requests are refused while false. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Requests awaiting their answer. */
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its response. Rejects with a ChannelError:
   * `not_connected` (link down; nothing sent), `queue_full`, `duplicate_request` (the same key is
   * in flight, or an earlier request under it failed unanswered within `lateTtlMs` and its answer
   * may still come), `channel_timeout` or `channel_closed` (check `outcomeUnknown`). A codec's own
   * error from `encode`/`requestKey` is passed through.
   */
  request(message: M, timeoutMs: number): Promise<M> {
    if (this.closed) return Promise.reject(new ChannelError('channel_closed', 'mux closed'));
    if (!this.isReady) return Promise.reject(new ChannelError('not_connected', this.echoDown ? 'link down: echo unanswered' : 'link down'));
    return this.exchange(message, timeoutMs);
  }

  /** Resolves when `ready`; rejects with `channel_timeout` after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('ready', onReady);
        reject(new ChannelError('channel_timeout', `not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.once('ready', onReady);
    });
  }

  /** Stops echoing, detaches from the channel (which stays open) and fails what is pending. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.echoTimer);
    this.channel.off('frame', this.hooks.frame);
    this.channel.off('up', this.hooks.up);
    this.channel.off('down', this.hooks.down);
    this.failAll('mux closed');
    this.late.clear();
  }

  private exchange(message: M, timeoutMs: number): Promise<M> {
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new ChannelError('queue_full', `${this.pending.size} requests outstanding`));
    }
    let key: string;
    let frame: Buffer;
    try {
      key = this.codec.requestKey(message);
      frame = this.codec.encode(message);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.pending.has(key)) return Promise.reject(new ChannelError('duplicate_request', 'in flight'));
    // The answer to an earlier request under this key may still come; matched to this request it
    // would hand one transaction another's approval.
    if (this.isLate(key)) {
      return Promise.reject(new ChannelError('duplicate_request', 'an earlier request under this key failed unanswered'));
    }
    return new Promise<M>((resolve, reject) => {
      const entry: Pending<M> = {
        request: message,
        resolve,
        reject,
        sent: false,
        timer: setTimeout(() => {
          if (this.pending.get(key) !== entry) return;
          this.pending.delete(key);
          this.rememberLate(key, message);
          reject(new ChannelError('channel_timeout', `no answer within ${timeoutMs} ms`, { outcomeUnknown: true }));
        }, timeoutMs),
      };
      this.pending.set(key, entry);
      this.channel.send(frame).then(
        () => {
          entry.sent = true;
        },
        (error: unknown) => {
          // The frame never reached the socket: the peer cannot have seen it.
          if (this.pending.get(key) !== entry) return;
          this.pending.delete(key);
          clearTimeout(entry.timer);
          reject(error instanceof ChannelError ? error : new ChannelError('channel_closed', 'send failed', { cause: error }));
        },
      );
    });
  }

  private onFrame(frame: Buffer): void {
    this.lastReceived = Date.now();
    // A zero-length frame is a transport keep-alive (jPOS CMF convention): proof of life only.
    if (frame.length === 0) return;
    let message: M;
    let key: string | null;
    try {
      message = this.codec.decode(frame);
      if (this.codec.isRequest(message)) {
        this.emit('unhandled', { reason: 'request', message });
        return;
      }
      key = this.codec.responseKey(message);
    } catch (error) {
      this.emit('undecodable', error, frame.length);
      return;
    }
    if (key !== null) {
      const waiting = this.pending.get(key);
      if (waiting) {
        this.pending.delete(key);
        clearTimeout(waiting.timer);
        waiting.resolve(message);
        return;
      }
      const late = this.isLate(key) ? this.late.get(key) : undefined;
      if (late) {
        this.late.delete(key);
        this.emit('unhandled', { reason: 'late', message, request: late.request, failedAt: late.failedAt });
        return;
      }
    }
    this.emit('unhandled', { reason: 'unmatched', message });
  }

  private isLate(key: string): boolean {
    const late = this.late.get(key);
    if (late === undefined) return false;
    if (Date.now() - late.failedAt <= this.lateTtlMs) return true;
    this.late.delete(key);
    return false;
  }

  private rememberLate(key: string, request: M): void {
    const now = Date.now();
    this.late.delete(key);
    this.late.set(key, { request, failedAt: now });
    for (const [k, v] of this.late) {
      if (this.late.size <= this.lateMax && now - v.failedAt <= this.lateTtlMs) break;
      this.late.delete(k);
    }
  }

  private failAll(detail: string): void {
    const entries = [...this.pending];
    this.pending.clear();
    for (const [key, entry] of entries) {
      clearTimeout(entry.timer);
      if (entry.sent) this.rememberLate(key, entry.request);
      entry.reject(new ChannelError('channel_closed', detail, { outcomeUnknown: entry.sent }));
    }
  }

  private onUp(): void {
    this.echoFailures = 0;
    this.echoDown = false;
    this.lastReceived = Date.now();
    this.setReady(true);
  }

  private onDown(reason: ChannelError): void {
    this.failAll(`link lost (${reason.code})`);
    this.setReady(false, new ChannelError('channel_closed', 'link lost', { cause: reason }));
  }

  private setReady(ready: boolean, reason?: ChannelError): void {
    if (ready === this.isReady) return;
    this.isReady = ready;
    if (ready) this.emit('ready');
    else this.emit('notReady', reason ?? new ChannelError('not_connected'));
  }

  private armEcho(delayMs: number): void {
    clearTimeout(this.echoTimer);
    this.echoTimer = setTimeout(() => void this.echoTick(), delayMs);
  }

  private async echoTick(): Promise<void> {
    const echo = this.options.echo;
    if (this.closed || !echo || this.echoing) return;
    const idle = Date.now() - this.lastReceived;
    // While echo has marked the link down, keep probing whatever else arrives.
    if (!this.channel.connected || (!this.echoDown && idle < echo.intervalMs)) {
      this.armEcho(this.channel.connected ? echo.intervalMs - idle : echo.intervalMs);
      return;
    }
    this.echoing = true;
    try {
      const probe = this.codec.echo?.();
      if (probe === undefined) return;
      await this.exchange(probe, echo.timeoutMs);
      this.echoFailures = 0;
      if (this.echoDown) {
        this.echoDown = false;
        this.setReady(this.channel.connected);
      }
    } catch (error) {
      this.echoFailures++;
      if (this.echoFailures >= echo.maxFailures && this.channel.connected && !this.echoDown) {
        this.echoDown = true;
        this.setReady(false, new ChannelError('channel_timeout', `${this.echoFailures} echoes unanswered`, { cause: error }));
      }
    } finally {
      this.echoing = false;
      if (!this.closed) this.armEcho(echo.intervalMs);
    }
  }
}
