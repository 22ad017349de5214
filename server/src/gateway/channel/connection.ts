import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ChannelError, socketError } from './errors.js';
import { encodeFrame, FrameDecoder, resolveFraming, type Framing, type FramingOptions } from './framing.js';

/** Events of every channel: a connection accepted by a server and a reconnecting client alike. */
export interface ChannelEvents {
  /** One received frame (its length prefix removed). */
  frame: [frame: Buffer];
  /** The link is up (a client connected or reconnected). */
  up: [];
  /** The link is down; pending sends were rejected with `reason` or a `channel_closed`. */
  down: [reason: ChannelError];
  /** A client connect attempt failed; the next one starts after `retryInMs` (−1: none). */
  connectFailed: [reason: ChannelError, retryInMs: number];
  /** A client schedules its next connect attempt in `delayMs`. */
  reconnecting: [delayMs: number];
}

/** What a multiplexer or a responder needs from a channel. */
export interface FrameChannel extends Pick<EventEmitter<ChannelEvents>, 'on' | 'off' | 'once'> {
  readonly connected: boolean;
  send(frame: Buffer): Promise<void>;
  /** Stops reading from the peer (TCP flow control pushes back on it) until `resume()`. */
  pause(): void;
  resume(): void;
}

export interface ConnectionOptions {
  framing?: FramingOptions;
  /** Frames waiting for the socket to drain; one more is refused with `queue_full`. */
  maxQueueFrames?: number;
  /** Bytes waiting for the socket to drain (prefixes included). */
  maxQueueBytes?: number;
  /** Close after this long with no byte in either direction (0 = never). */
  idleTimeoutMs?: number;
  /** A graceful close waits this long for the queue to drain and the peer to finish, then destroys. */
  closeTimeoutMs?: number;
}

export const CONNECTION_DEFAULTS = {
  maxQueueFrames: 4096,
  maxQueueBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 0,
  closeTimeoutMs: 5000,
} as const;

interface Queued {
  data: Buffer;
  resolve: () => void;
  reject: (error: ChannelError) => void;
}

type State = 'open' | 'closing' | 'closed';

/**
 * One established TCP (or TLS) connection that moves length-prefixed frames. Writing respects
 * back-pressure: while the socket's buffer is over its high-water mark, frames wait in a bounded
 * queue and their `send()` promises stay pending; past the bound `send()` rejects with
 * `queue_full`, so a peer that stops reading can never make us buffer without limit.
 */
export class FrameConnection extends EventEmitter<ChannelEvents> implements FrameChannel {
  readonly framing: Framing;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly decoder: FrameDecoder;
  private readonly maxQueueFrames: number;
  private readonly maxQueueBytes: number;
  private readonly closeTimeoutMs: number;
  private queue: Queued[] = [];
  private queueBytes = 0;
  private blocked = false;
  private state: State = 'open';
  private reason: ChannelError | undefined;
  private readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    options: ConnectionOptions = {},
  ) {
    super();
    this.framing = resolveFraming(options.framing);
    this.decoder = new FrameDecoder(this.framing);
    this.maxQueueFrames = options.maxQueueFrames ?? CONNECTION_DEFAULTS.maxQueueFrames;
    this.maxQueueBytes = options.maxQueueBytes ?? CONNECTION_DEFAULTS.maxQueueBytes;
    this.closeTimeoutMs = options.closeTimeoutMs ?? CONNECTION_DEFAULTS.closeTimeoutMs;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    // Requests and answers are small and latency-bound; Nagle would hold them back.
    socket.setNoDelay(true);
    const idle = options.idleTimeoutMs ?? CONNECTION_DEFAULTS.idleTimeoutMs;
    if (idle > 0) {
      socket.setTimeout(idle, () => this.destroy(new ChannelError('channel_timeout', `idle for ${idle} ms`)));
    }
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.flush());
    socket.on('error', (error) => {
      this.reason ??= socketError(error);
    });
    socket.once('close', () => this.onClose());
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  /** Frames waiting for the socket to drain. */
  get queuedFrames(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.queueBytes;
  }

  /**
   * Resolves once the frame is handed to the socket (not when the peer has it: only its answer
   * can say that). Rejects with `frame_too_large`, `queue_full` or `channel_closed`.
   */
  send(frame: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.closedError());
    if (frame.length > this.framing.maxFrameBytes) {
      return Promise.reject(new ChannelError('frame_too_large', `${frame.length} bytes, limit ${this.framing.maxFrameBytes}`));
    }
    const data = encodeFrame(frame, this.framing);
    if (!this.blocked && this.queue.length === 0) {
      this.write(data);
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueueFrames || this.queueBytes + data.length > this.maxQueueBytes) {
      return Promise.reject(new ChannelError('queue_full', `${this.queue.length} frames, ${this.queueBytes} bytes waiting`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.queueBytes += data.length;
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.state !== 'closed') this.socket.resume();
  }

  /** Sends what is queued, half-closes, and resolves when the socket is closed. */
  async close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.reason ??= new ChannelError('channel_closed', 'closed locally');
      const timer = setTimeout(() => this.destroy(), this.closeTimeoutMs);
      void this.closed.then(() => clearTimeout(timer));
      if (this.queue.length === 0) this.socket.end();
    }
    await this.closed;
  }

  /** Closes at once; queued frames are rejected. */
  destroy(reason?: ChannelError): void {
    this.reason ??= reason;
    this.socket.destroy();
  }

  private write(data: Buffer): void {
    // write() always accepts the chunk; false means "over the high-water mark, wait for drain".
    if (!this.socket.write(data)) this.blocked = true;
  }

  private flush(): void {
    this.blocked = false;
    while (!this.blocked && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.queueBytes -= next.data.length;
      this.write(next.data);
      next.resolve();
    }
    if (this.state === 'closing' && this.queue.length === 0) this.socket.end();
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (frame) => {
        if (this.state !== 'closed') this.emit('frame', frame);
      });
    } catch (error) {
      // A bad prefix ends the stream; anything else was thrown by a listener and is its bug.
      if (error === this.decoder.failed) this.destroy(this.decoder.failed);
      else throw error;
    }
  }

  private closedError(): ChannelError {
    return this.reason ?? new ChannelError('channel_closed');
  }

  private onClose(): void {
    this.state = 'closed';
    const reason = this.reason ?? new ChannelError('channel_closed', 'closed by peer');
    this.reason = reason;
    const queue = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    for (const q of queue) q.reject(reason);
    this.emit('down', reason);
  }
}
