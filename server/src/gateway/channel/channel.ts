import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { FrameConnection, type ChannelEvents, type ConnectionOptions, type FrameChannel } from './connection.js';
import { ChannelError, socketError } from './errors.js';

type Pem = string | Buffer;

export interface ClientTlsOptions {
  /** Trusted CA certificates (PEM); without it, Node's default roots. */
  ca?: Pem | Pem[];
  /** Our certificate and key for mutual TLS. */
  cert?: Pem;
  key?: Pem;
  /** SNI and the name checked against the certificate when `host` is not it. */
  servername?: string;
  /** Verifying the peer is the default; turn it off only on a test bench. */
  rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
}

export interface ReconnectOptions {
  /** Delay after the first failure; doubles (`factor`) per further failure up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Fraction (0–1) of each delay taken off at random, so many terminals do not retry in step. */
  jitter?: number;
}

export interface ClientChannelOptions extends ConnectionOptions {
  host: string;
  port: number;
  tls?: ClientTlsOptions;
  /** TCP connect plus TLS handshake must finish within this. */
  connectTimeoutMs?: number;
  /** `false`: one connection only; after it ends the channel stays down. */
  reconnect?: ReconnectOptions | false;
  /** TCP keep-alive probe delay (0 = off): finds a peer that vanished without a FIN. */
  keepAliveMs?: number;
}

export const CLIENT_DEFAULTS = {
  connectTimeoutMs: 10_000,
  keepAliveMs: 30_000,
  reconnect: { initialDelayMs: 250, maxDelayMs: 30_000, factor: 2, jitter: 0.2 },
} as const;

/** The delay before reconnect attempt `failures` (0-based): capped exponential, minus jitter. */
export function backoffDelay(failures: number, options: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** failures);
  return Math.round(base * (1 - options.jitter * random()));
}

function reconnectOptions(given: ReconnectOptions = {}): Required<ReconnectOptions> {
  const d = CLIENT_DEFAULTS.reconnect;
  const r = {
    initialDelayMs: given.initialDelayMs ?? d.initialDelayMs,
    maxDelayMs: given.maxDelayMs ?? d.maxDelayMs,
    factor: given.factor ?? d.factor,
    jitter: given.jitter ?? d.jitter,
  };
  if (!(r.initialDelayMs >= 0 && r.maxDelayMs >= r.initialDelayMs && r.factor >= 1 && r.jitter >= 0 && r.jitter <= 1)) {
    throw new RangeError('reconnect: need 0 ≤ initialDelayMs ≤ maxDelayMs, factor ≥ 1, 0 ≤ jitter ≤ 1');
  }
  return r;
}

/**
 * A client channel: keeps one connection to host:port up, reconnecting with capped exponential
 * backoff. While no connection is up, `send()` rejects with `not_connected` rather than queueing:
 * a financial request held for an unknown time would reach the host stale, after its sender gave
 * up on it.
 */
export class ClientChannel extends EventEmitter<ChannelEvents> implements FrameChannel {
  private readonly reconnect: Required<ReconnectOptions> | false;
  private connection: FrameConnection | undefined;
  private attempt: net.Socket | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private started = false;
  private closing = false;
  private paused = false;
  /** Rejecters of `whenConnected()` callers, told when the channel is closed. */
  private readonly waiting = new Set<(error: ChannelError) => void>();

  constructor(private readonly options: ClientChannelOptions) {
    super();
    this.reconnect = options.reconnect === false ? false : reconnectOptions(options.reconnect);
  }

  get connected(): boolean {
    return this.connection?.connected ?? false;
  }

  /** The live connection, if any (for its address and queue figures). */
  get current(): FrameConnection | undefined {
    return this.connection;
  }

  /** Starts connecting (idempotent); watch `up`, or await `whenConnected()`. */
  start(): this {
    if (!this.started && !this.closing) {
      this.started = true;
      this.connect();
    }
    return this;
  }

  send(frame: Buffer): Promise<void> {
    const connection = this.connection;
    if (!connection?.connected) {
      return Promise.reject(
        new ChannelError(this.closing ? 'channel_closed' : 'not_connected', `${this.options.host}:${this.options.port}`),
      );
    }
    return connection.send(frame);
  }

  pause(): void {
    this.paused = true;
    this.connection?.pause();
  }

  resume(): void {
    this.paused = false;
    this.connection?.resume();
  }

  /** Resolves when a connection is up; rejects with `channel_timeout`, or `channel_closed` on close(). */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closing) return Promise.reject(new ChannelError('channel_closed'));
    return new Promise((resolve, reject) => {
      const done = (error?: ChannelError): void => {
        clearTimeout(timer);
        this.off('up', onUp);
        this.waiting.delete(done);
        if (error) reject(error);
        else resolve();
      };
      const onUp = (): void => done();
      const timer = setTimeout(() => done(new ChannelError('channel_timeout', `not connected within ${timeoutMs} ms`)), timeoutMs);
      this.on('up', onUp);
      this.waiting.add(done);
    });
  }

  /** Stops reconnecting, sends what is queued, closes; resolves when the socket is closed. */
  async close(): Promise<void> {
    if (this.closing) {
      await this.connection?.close();
      return;
    }
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt?.destroy();
    this.attempt = undefined;
    for (const done of [...this.waiting]) done(new ChannelError('channel_closed'));
    await this.connection?.close();
  }

  private connect(): void {
    this.retryTimer = undefined;
    const { host, port } = this.options;
    const secure = this.options.tls;
    const socket = secure
      ? tls.connect({
          host,
          port,
          ca: secure.ca,
          cert: secure.cert,
          key: secure.key,
          servername: secure.servername,
          rejectUnauthorized: secure.rejectUnauthorized ?? true,
          minVersion: secure.minVersion ?? 'TLSv1.2',
        })
      : net.connect({ host, port });
    this.attempt = socket;
    let failure: ChannelError | undefined;
    const timeoutMs = this.options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
    const timer = setTimeout(() => {
      failure ??= new ChannelError('channel_timeout', `connect to ${host}:${port} took over ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    const onError = (error: Error): void => {
      failure ??= socketError(error, 'not_connected');
    };
    const onFailed = (): void => {
      clearTimeout(timer);
      this.attempt = undefined;
      if (this.closing) return;
      const retryIn = this.scheduleReconnect();
      this.emit('connectFailed', failure ?? new ChannelError('not_connected', `${host}:${port}`), retryIn);
    };
    socket.on('error', onError);
    socket.once('close', onFailed);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onFailed);
      this.attempt = undefined;
      this.attach(socket);
    });
  }

  private attach(socket: net.Socket): void {
    const keepAlive = this.options.keepAliveMs ?? CLIENT_DEFAULTS.keepAliveMs;
    if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    const connection = new FrameConnection(socket, this.options);
    this.connection = connection;
    if (this.paused) connection.pause();
    // The backoff restarts only once the link proved useful (a frame came, or it stayed up
    // longer than the longest delay): a host that accepts and at once hangs up must not be
    // hammered at the shortest delay forever.
    const upSince = Date.now();
    connection.on('frame', (frame) => {
      this.failures = 0;
      this.emit('frame', frame);
    });
    connection.once('down', (reason) => {
      this.connection = undefined;
      if (this.reconnect && Date.now() - upSince >= this.reconnect.maxDelayMs) this.failures = 0;
      this.emit('down', reason);
      this.scheduleReconnect();
    });
    this.emit('up');
  }

  /** Returns the delay of the next attempt, or −1 when there is none. */
  private scheduleReconnect(): number {
    if (this.closing || this.reconnect === false) return -1;
    const delay = backoffDelay(this.failures, this.reconnect);
    this.failures++;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.emit('reconnecting', delay);
    return delay;
  }
}

export interface ServerTlsOptions {
  cert: Pem;
  key: Pem;
  /** CAs that sign client certificates (with `requestCert`). */
  ca?: Pem | Pem[];
  /** Require a client certificate signed by `ca` (mutual TLS). */
  requestCert?: boolean;
  minVersion?: tls.SecureVersion;
}

export interface ChannelServerOptions extends ConnectionOptions {
  port: number;
  /** Interface to bind; Node's default (every interface) when absent. */
  host?: string;
  tls?: ServerTlsOptions;
  /** Connections beyond this are dropped as they arrive. */
  maxConnections?: number;
  /** A TLS client must finish its handshake within this. */
  handshakeTimeoutMs?: number;
  keepAliveMs?: number;
  onConnection?: (connection: FrameConnection) => void;
}

export const SERVER_DEFAULTS = {
  maxConnections: 1000,
  /** A terminal that went silent for 5 minutes is gone; its socket should not be held forever. */
  idleTimeoutMs: 300_000,
  handshakeTimeoutMs: 10_000,
  keepAliveMs: 30_000,
} as const;

export interface ChannelServerEvents {
  connection: [connection: FrameConnection];
  /** A connection refused before it became a channel. */
  rejected: [reason: 'max_connections' | 'tls_handshake'];
}

/** A listening server: each accepted connection becomes a FrameConnection. */
export class ChannelServer extends EventEmitter<ChannelServerEvents> {
  private readonly server: net.Server;
  private readonly open = new Set<FrameConnection>();

  private constructor(private readonly options: ChannelServerOptions) {
    super();
    const secure = options.tls;
    const accept = (socket: net.Socket): void => this.accept(socket);
    this.server = secure
      ? tls.createServer(
          {
            cert: secure.cert,
            key: secure.key,
            ca: secure.ca,
            requestCert: secure.requestCert ?? false,
            rejectUnauthorized: secure.requestCert ?? false,
            minVersion: secure.minVersion ?? 'TLSv1.2',
            handshakeTimeout: options.handshakeTimeoutMs ?? SERVER_DEFAULTS.handshakeTimeoutMs,
          },
          accept,
        )
      : net.createServer(accept);
    this.server.maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    this.server.on('drop', () => this.emit('rejected', 'max_connections'));
    this.server.on('tlsClientError', () => this.emit('rejected', 'tls_handshake'));
  }

  /** Binds and resolves once listening (port 0 picks a free port: read `.port`). */
  static listen(options: ChannelServerOptions): Promise<ChannelServer> {
    const channelServer = new ChannelServer(options);
    const server = channelServer.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host: options.host }, () => {
        server.off('error', reject);
        // Later server errors (none expected once bound) must not crash the process.
        server.on('error', () => undefined);
        resolve(channelServer);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  get connections(): ReadonlySet<FrameConnection> {
    return this.open;
  }

  /** Stops accepting, closes every connection gracefully, resolves when all are closed. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.open].map((c) => c.close()));
    await stopped;
  }

  private accept(socket: net.Socket): void {
    const keepAlive = this.options.keepAliveMs ?? SERVER_DEFAULTS.keepAliveMs;
    if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    const connection = new FrameConnection(socket, {
      ...this.options,
      idleTimeoutMs: this.options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs,
    });
    this.open.add(connection);
    connection.once('down', () => this.open.delete(connection));
    this.options.onConnection?.(connection);
    this.emit('connection', connection);
  }
}

/** Shorthand for `ChannelServer.listen`. */
export function listen(options: ChannelServerOptions): Promise<ChannelServer> {
  return ChannelServer.listen(options);
}
