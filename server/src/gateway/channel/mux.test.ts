import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachResponder,
  ChannelError,
  ChannelServer,
  ClientChannel,
  isoMatchKey,
  isoRequestKey,
  isRequestMti,
  Mux,
  responseMti,
  serveResponder,
  type FrameChannel,
  type FrameConnection,
  type MuxOptions,
  type ResponderOptions,
  type Unhandled,
} from './index.js';
import { answer, jsonCodec, until, type TestMessage } from './test-support/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Handler = ResponderOptions<TestMessage>['handle'];

async function host(handle: Handler, port = 0, maxInFlight?: number): Promise<ChannelServer> {
  const server = await ChannelServer.listen({ port, host: '127.0.0.1' });
  serveResponder(server, { codec: jsonCodec, handle, maxInFlight });
  cleanups.push(() => server.close());
  return server;
}

async function connect(
  port: number,
  options: Partial<MuxOptions<TestMessage>> = {},
): Promise<{ channel: ClientChannel; mux: Mux<TestMessage> }> {
  const channel = new ClientChannel({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
  const mux = new Mux(channel, { codec: jsonCodec, ...options });
  cleanups.push(() => channel.close());
  cleanups.push(() => mux.close());
  channel.start();
  await mux.whenReady(5000);
  return { channel, mux };
}

const req = (id: string, body?: string): TestMessage => ({ id, kind: 'req', ...(body === undefined ? {} : { body }) });

function collect(mux: Mux<TestMessage>): Unhandled<TestMessage>[] {
  const seen: Unhandled<TestMessage>[] = [];
  mux.on('unhandled', (u) => seen.push(u));
  return seen;
}

describe('Mux', () => {
  it('matches out-of-order responses to their requests', async () => {
    const held: { request: TestMessage; release: () => void }[] = [];
    const server = await host(
      (request) =>
        new Promise<TestMessage>((resolve) => {
          held.push({ request, release: () => resolve(answer(request)) });
        }),
    );
    const { mux } = await connect(server.port);
    const arrived: string[] = [];
    const requests = Array.from({ length: 20 }, (_, i) =>
      mux.request(req(`r${i}`, `body ${i}`), 10_000).then((r) => {
        arrived.push(r.id);
        return r;
      }),
    );
    await until(() => held.length === 20);
    for (const h of [...held].reverse()) h.release();
    const responses = await Promise.all(requests);
    responses.forEach((r, i) => expect(r).toEqual({ id: `r${i}`, kind: 'resp', body: `body ${i}` }));
    expect(arrived).toEqual(Array.from({ length: 20 }, (_, i) => `r${19 - i}`));
    expect(mux.outstanding).toBe(0);
  });

  it('carries 2,000 concurrent requests over one connection', async () => {
    const server = await host(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      return answer(request);
    });
    const { mux } = await connect(server.port);
    const unhandled = collect(mux);
    const ids = Array.from({ length: 2000 }, (_, i) => `tx-${i}`);
    const responses = await Promise.all(ids.map((id) => mux.request(req(id, id), 30_000)));
    expect(responses.map((r) => r.body)).toEqual(ids);
    expect(mux.outstanding).toBe(0);
    expect(unhandled).toEqual([]);
  });

  it('times out a request that gets no answer and reports the late answer as unhandled', async () => {
    let hold: (() => void) | undefined;
    const server = await host((request) => new Promise<TestMessage>((resolve) => (hold = () => resolve(answer(request)))));
    const { mux } = await connect(server.port);
    const unhandled = collect(mux);
    const error = await mux.request(req('slow-1'), 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'channel_timeout', outcomeUnknown: true });
    expect(mux.outstanding).toBe(0);
    // Until its answer comes (or is forgotten), the key stays taken: a new request under it could
    // otherwise receive the old one's answer.
    await expect(mux.request(req('slow-1'), 50)).rejects.toMatchObject({ code: 'duplicate_request', outcomeUnknown: false });

    hold!();
    hold = undefined;
    await until(() => unhandled.length === 1);
    expect(unhandled[0]).toMatchObject({ reason: 'late', message: { id: 'slow-1', kind: 'resp' }, request: { id: 'slow-1', kind: 'req' } });
    const again = mux.request(req('slow-1'), 5000);
    await until(() => hold !== undefined);
    hold!();
    expect(await again).toMatchObject({ id: 'slow-1', kind: 'resp' });
  });

  it('sorts what nobody asked for: unmatched responses, requests from the peer, undecodable frames', async () => {
    let peer: FrameConnection | undefined;
    const server = await ChannelServer.listen({ port: 0, host: '127.0.0.1', onConnection: (c) => (peer = c) });
    cleanups.push(() => server.close());
    const { mux } = await connect(server.port);
    const unhandled = collect(mux);
    const undecodable: number[] = [];
    mux.on('undecodable', (_error, bytes) => undecodable.push(bytes));
    await until(() => peer !== undefined);
    await peer!.send(jsonCodec.encode({ id: 'nobody', kind: 'resp' }));
    await peer!.send(jsonCodec.encode({ id: 'host-echo', kind: 'echo' }));
    await peer!.send(Buffer.from('not json'));
    await peer!.send(Buffer.alloc(0)); // keep-alive: ignored
    await until(() => unhandled.length === 2 && undecodable.length === 1);
    expect(unhandled).toEqual([
      { reason: 'unmatched', message: { id: 'nobody', kind: 'resp' } },
      { reason: 'request', message: { id: 'host-echo', kind: 'echo' } },
    ]);
    expect(undecodable).toEqual([8]);
  });

  it('fails pending requests with channel_closed when the server drops the link mid-request', async () => {
    let arrived = 0;
    const server = await host((_request, channel) => {
      arrived++;
      if (arrived === 5) (channel as FrameConnection).destroy();
      return new Promise<null>(() => undefined);
    });
    const { mux } = await connect(server.port);
    const notReady = once(mux, 'notReady');
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => mux.request(req(`p${i}`), 60_000)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'channel_closed', outcomeUnknown: true });
    }
    await notReady;
    expect(mux.ready).toBe(false);
    await expect(mux.request(req('after'), 1000)).rejects.toMatchObject({ code: 'not_connected', outcomeUnknown: false });
  });

  it('is ready again after the server restarts on the same port', async () => {
    const first = await host(answer);
    const port = first.port;
    const { mux } = await connect(port);
    expect((await mux.request(req('before'), 5000)).id).toBe('before');
    const notReady = once(mux, 'notReady');
    await first.close();
    await notReady;
    await expect(mux.request(req('while-down'), 1000)).rejects.toMatchObject({ code: 'not_connected' });
    await host(answer, port);
    await mux.whenReady(5000);
    expect((await mux.request(req('after'), 5000)).id).toBe('after');
  });

  it('marks the link down when echoes go unanswered, and up when they are answered again', async () => {
    let answerEchoes = true;
    let echoes = 0;
    const server = await host((m) => {
      if (m.kind !== 'echo') return answer(m);
      echoes++;
      return answerEchoes ? answer(m) : null;
    });
    const { mux, channel } = await connect(server.port, { echo: { intervalMs: 20, timeoutMs: 200, maxFailures: 2 } });
    await until(() => echoes >= 2);
    expect(mux.ready).toBe(true);

    answerEchoes = false;
    const [reason] = (await once(mux, 'notReady')) as [ChannelError];
    expect(reason.code).toBe('channel_timeout');
    expect(mux.ready).toBe(false);
    expect(channel.connected).toBe(true);
    await expect(mux.request(req('refused'), 1000)).rejects.toMatchObject({ code: 'not_connected' });

    answerEchoes = true;
    await once(mux, 'ready');
    expect((await mux.request(req('back'), 5000)).id).toBe('back');
  });

  it('refuses a second request with a key already in flight, and more than maxPending', async () => {
    const server = await host(() => new Promise<null>(() => undefined));
    const { mux } = await connect(server.port, { maxPending: 2 });
    const first = mux.request(req('same'), 60_000);
    await expect(mux.request(req('same'), 1000)).rejects.toMatchObject({ code: 'duplicate_request' });
    const second = mux.request(req('other'), 60_000);
    await expect(mux.request(req('third'), 1000)).rejects.toMatchObject({ code: 'queue_full' });
    mux.close();
    await expect(first).rejects.toMatchObject({ code: 'channel_closed' });
    await expect(second).rejects.toMatchObject({ code: 'channel_closed' });
  });
});

describe('responder', () => {
  it('answers on the same connection, never running more handlers at once than allowed', async () => {
    let running = 0;
    let most = 0;
    const server = await host(
      async (request) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        return answer(request);
      },
      0,
      3,
    );
    const { mux } = await connect(server.port);
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => mux.request(req(`c${i}`), 30_000)));
    expect(responses).toHaveLength(100);
    expect(most).toBe(3);
  });

  it('reports handler failures and undecodable frames, and sends nothing for them', async () => {
    const errors: string[] = [];
    let peer: FrameChannel | undefined;
    const server = await ChannelServer.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    server.on('connection', (c) => {
      peer = c;
      attachResponder(c, {
        codec: jsonCodec,
        handle: (m) => {
          if (m.id === 'boom') throw new Error('handler failed');
          return answer(m);
        },
        onError: (_e, stage) => errors.push(stage),
      });
    });
    const { mux, channel } = await connect(server.port);
    const unhandled = collect(mux);
    await expect(mux.request(req('boom'), 50)).rejects.toMatchObject({ code: 'channel_timeout' });
    await channel.send(Buffer.from('garbage'));
    expect((await mux.request(req('fine'), 5000)).id).toBe('fine');
    await until(() => errors.length === 2);
    expect(errors).toEqual(['handle', 'decode']);
    expect(unhandled).toEqual([]);
    expect(peer).toBeDefined();
  });
});

describe('ISO 8583 match keys', () => {
  it('the answer MTI is the request MTI + 0x10', () => {
    expect(['0100', '0200', '0220', '0400', '0420', '0800', '1200'].map(responseMti)).toEqual([
      '0110',
      '0210',
      '0230',
      '0410',
      '0430',
      '0810',
      '1210',
    ]);
    expect(isRequestMti('0210')).toBe(false);
    expect(() => responseMti('0210')).toThrow(RangeError);
    expect(() => responseMti('02x0')).toThrow(RangeError);
  });

  it('a request and its response compute the same key; another MTI with the same STAN does not', () => {
    const key = isoRequestKey('0200', '12345678', '000123');
    expect(key).toBe(isoMatchKey('0210', '12345678', '000123'));
    expect(key).not.toBe(isoMatchKey('0810', '12345678', '000123'));
    expect(key).not.toBe(isoMatchKey('0210', '12345679', '000123'));
  });
});
