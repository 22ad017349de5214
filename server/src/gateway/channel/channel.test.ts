import { once } from 'node:events';
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelError } from './index.js';
import {
  backoffDelay,
  ChannelServer,
  ClientChannel,
  type ChannelServerOptions,
  type ClientChannelOptions,
  type FrameConnection,
} from './index.js';
import { makeCerts, opensslAvailable, until, type TestCerts } from './test-support/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Partial<ChannelServerOptions> = {}): Promise<ChannelServer> {
  const s = await ChannelServer.listen({ port: 0, host: '127.0.0.1', ...options });
  cleanups.push(() => s.close());
  return s;
}

function client(port: number, options: Partial<ClientChannelOptions> = {}): ClientChannel {
  const c = new ClientChannel({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 10, maxDelayMs: 50 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** A server that answers each frame with "echo:" + frame. */
async function echoServer(options: Partial<ChannelServerOptions> = {}): Promise<ChannelServer> {
  return server({
    ...options,
    onConnection: (c) => c.on('frame', (f) => void c.send(Buffer.concat([Buffer.from('echo:'), f])).catch(() => undefined)),
  });
}

describe('client and server channels', () => {
  it('moves frames both ways; refuses to send before connecting and after closing', async () => {
    const s = await echoServer();
    const c = client(s.port);
    await expect(c.send(Buffer.from('early'))).rejects.toMatchObject({ code: 'not_connected' });
    const frames: string[] = [];
    c.on('frame', (f) => frames.push(f.toString()));
    c.start();
    await c.whenConnected(5000);
    await Promise.all(['one', 'two', 'three'].map((m) => c.send(Buffer.from(m))));
    await until(() => frames.length === 3);
    expect(frames).toEqual(['echo:one', 'echo:two', 'echo:three']);
    await expect(c.send(Buffer.alloc(20_000))).rejects.toMatchObject({ code: 'frame_too_large' });

    const down = once(c, 'down');
    await c.close();
    const [reason] = (await down) as [ChannelError];
    expect(reason.code).toBe('channel_closed');
    await expect(c.send(Buffer.from('late'))).rejects.toMatchObject({ code: 'channel_closed' });
    await until(() => s.connections.size === 0);
  });

  it('backoff grows exponentially to its cap; jitter only shortens it', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, opts, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, opts, () => 1)).toBe(200);
    expect(backoffDelay(50, opts, () => 0.999)).toBeGreaterThanOrEqual(500);
  });

  it('reconnects after the server restarts on the same port', async () => {
    const first = await echoServer();
    const port = first.port;
    const c = client(port).start();
    await c.whenConnected(5000);
    const failures: ChannelError[] = [];
    c.on('connectFailed', (reason) => failures.push(reason));

    const down = once(c, 'down');
    await first.close();
    await down;
    await until(() => failures.length >= 2);
    expect(failures[0]).toMatchObject({ code: 'not_connected', detail: 'ECONNREFUSED' });

    const second = await echoServer({ port });
    expect(second.port).toBe(port);
    await c.whenConnected(5000);
    const answer = once(c, 'frame');
    await c.send(Buffer.from('again'));
    expect(String((await answer)[0])).toBe('echo:again');
  });

  it('backs off when a host accepts and hangs up at once, instead of hammering it', async () => {
    const s = await server({ onConnection: (conn) => conn.destroy() });
    const c = client(s.port, { reconnect: { initialDelayMs: 5, maxDelayMs: 40, jitter: 0 } });
    const delays: number[] = [];
    c.on('reconnecting', (d) => delays.push(d));
    c.start();
    await until(() => delays.length >= 5);
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 40]);
  });

  it('gives up a connect that does not finish in time (a TLS handshake nobody answers)', async () => {
    const mute = net.createServer(() => undefined);
    const sockets = new Set<net.Socket>();
    mute.on('connection', (s) => sockets.add(s));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => mute.close(resolve));
    });
    const port = (mute.address() as net.AddressInfo).port;
    const c = client(port, { tls: {}, connectTimeoutMs: 100, reconnect: false }).start();
    const [reason, retryIn] = (await once(c, 'connectFailed')) as [ChannelError, number];
    expect(reason.code).toBe('channel_timeout');
    expect(retryIn).toBe(-1);
    expect(c.connected).toBe(false);
    await expect(c.whenConnected(50)).rejects.toMatchObject({ code: 'channel_timeout' });
  });

  it('back-pressure: sends wait while the peer does not read, and the bounded queue then refuses', async () => {
    const received: number[] = [];
    let peer: FrameConnection | undefined;
    const s = await server({
      framing: { maxFrameBytes: 65_535 },
      onConnection: (conn) => {
        peer = conn;
        conn.pause(); // a peer that reads nothing
        conn.on('frame', (f) => received.push(f.readUInt32BE(0)));
      },
    });
    const c = client(s.port, { framing: { maxFrameBytes: 65_535 }, maxQueueFrames: 8, maxQueueBytes: 1_000_000 }).start();
    await c.whenConnected(5000);

    const frame = (i: number): Buffer => {
      const b = Buffer.alloc(60_000, 0x5a);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const accepted: Promise<void>[] = [];
    let resolved = 0;
    let refusal: unknown;
    // Keep sending, yielding to the event loop each time, until the kernel buffers, Node's
    // buffer and our 8-frame queue are all full.
    for (let i = 0; refusal === undefined && i < 100_000; i++) {
      const sent = c.send(frame(accepted.length));
      sent.then(
        () => resolved++,
        (error: unknown) => {
          refusal = error;
        },
      );
      await new Promise((resolve) => setImmediate(resolve));
      if (refusal === undefined) accepted.push(sent);
    }
    expect(refusal).toMatchObject({ code: 'queue_full' });
    expect(c.current?.queuedFrames).toBe(8);
    expect(c.current?.queuedBytes).toBe(8 * 60_002);
    expect(resolved).toBe(accepted.length - 8); // the queued ones are still waiting

    peer!.resume();
    await Promise.all(accepted);
    await until(() => received.length === accepted.length);
    expect(received).toEqual(accepted.map((_, i) => i));
  });

  it('closes a connection that stays idle', async () => {
    const s = await server({ idleTimeoutMs: 50 });
    const [serverSide] = await Promise.all([once(s, 'connection'), client(s.port, { reconnect: false }).start().whenConnected(5000)]);
    const [reason] = (await once(serverSide[0] as FrameConnection, 'down')) as [ChannelError];
    expect(reason.code).toBe('channel_timeout');
  });

  it('drops connections beyond the limit', async () => {
    const s = await server({ maxConnections: 1 });
    const first = client(s.port, { reconnect: false }).start();
    await Promise.all([first.whenConnected(5000), once(s, 'connection')]);
    const rejected = once(s, 'rejected');
    const extra = net.connect({ port: s.port, host: '127.0.0.1' });
    extra.on('error', () => undefined);
    expect(await rejected).toEqual(['max_connections']);
    await once(extra, 'close');
    expect(s.connections.size).toBe(1);
    expect(first.connected).toBe(true);
  });

  it('a graceful close first sends what is queued, then refuses new sends', async () => {
    const received: number[] = [];
    let peer: FrameConnection | undefined;
    const s = await server({
      framing: { maxFrameBytes: 65_535 },
      onConnection: (conn) => {
        peer = conn;
        conn.pause();
        conn.on('frame', (f) => received.push(f.readUInt32BE(0)));
      },
    });
    const c = client(s.port, { framing: { maxFrameBytes: 65_535 }, reconnect: false }).start();
    await c.whenConnected(5000);
    const sends: Promise<void>[] = [];
    while (!c.current || c.current.queuedFrames < 3) {
      const b = Buffer.alloc(60_000);
      b.writeUInt32BE(sends.length, 0);
      sends.push(c.send(b));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const closing = c.close();
    await expect(c.send(Buffer.from('after close'))).rejects.toMatchObject({ code: 'channel_closed' });
    peer!.resume();
    await closing;
    await Promise.all(sends);
    await until(() => received.length === sends.length);
    expect(received).toEqual(sends.map((_, i) => i));
  });
});

describe.skipIf(!opensslAvailable())('TLS', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeCerts();
  });

  it('mutual TLS: both sides verified, frames flow', async () => {
    const s = await echoServer({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.clientCert, requestCert: true } });
    const c = client(s.port, { tls: { ca: certs.serverCert, cert: certs.clientCert, key: certs.clientKey } }).start();
    await c.whenConnected(5000);
    const answer = once(c, 'frame');
    await c.send(Buffer.from('secure'));
    expect(String((await answer)[0])).toBe('echo:secure');
  });

  it('a client does not connect to a server it cannot verify', async () => {
    const s = await echoServer({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    const c = client(s.port, { tls: {}, reconnect: false });
    let up = false;
    c.on('up', () => (up = true));
    c.start();
    const [reason] = (await once(c, 'connectFailed')) as [ChannelError];
    expect(reason.code).toBe('not_connected');
    expect(reason.detail).toMatch(/SELF_SIGNED/);
    expect(up).toBe(false);
  });

  it('a server requiring client certificates refuses a client without one', async () => {
    const s = await echoServer({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.clientCert, requestCert: true } });
    let accepted = 0;
    s.on('connection', () => accepted++);
    const rejected = once(s, 'rejected');
    client(s.port, { tls: { ca: certs.serverCert }, reconnect: false }).start();
    expect(await rejected).toEqual(['tls_handshake']);
    expect(accepted).toBe(0);
  });
});
