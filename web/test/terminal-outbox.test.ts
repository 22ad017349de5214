import { describe, expect, it } from 'vitest';
import { MemoryOutboxStore, Outbox, classifyAnswer, type OutboxEntry, type SendOutcome } from '../terminal/src/core/outbox';

/**
 * The outbox's ordering and exactly-once logic against a fake server that dedupes by
 * Idempotency-Key, the way the terminal's server routes do, and a network that can drop requests
 * or their answers.
 */

class FakeServer {
  /** Every request that arrived, in order (key, path). */
  readonly arrivals: { key: string; path: string }[] = [];
  /** Effects applied once per key. */
  readonly effects: string[] = [];
  private seen = new Set<string>();
  network: 'up' | 'down' | 'lose-answer' = 'up';
  refuse = new Set<string>();

  send = async (entry: OutboxEntry): Promise<SendOutcome> => {
    if (this.network === 'down') throw new TypeError('Failed to fetch');
    this.arrivals.push({ key: entry.id, path: entry.path });
    if (this.refuse.has(entry.path)) return { kind: 'rejected', status: 404, code: 'not_found' };
    if (!this.seen.has(entry.id)) {
      this.seen.add(entry.id);
      this.effects.push(entry.path);
    }
    if (this.network === 'lose-answer') {
      this.network = 'up';
      throw new TypeError('network error: answer lost');
    }
    return { kind: 'done', status: 200, body: null };
  };
}

function setup(server: FakeServer, store = new MemoryOutboxStore()) {
  let n = 0;
  const settled: { path: string; kind: string }[] = [];
  const counts: number[] = [];
  const outbox = new Outbox(store, server.send, {
    newId: () => `client-id-${String(++n).padStart(8, '0')}`,
    onSettled: (entry, outcome) => settled.push({ path: entry.path, kind: outcome.kind }),
    onChange: (count) => counts.push(count),
  });
  return { outbox, store, settled, counts };
}

const post = (path: string) => ({ method: 'POST' as const, path, body: { at: path }, kind: 'test' });

describe('outbox', () => {
  it('stores before sending and sends once when the network is up', async () => {
    const server = new FakeServer();
    const { outbox, store } = setup(server);
    const entry = await outbox.enqueue(post('/a'));
    expect((await store.list()).map((e) => e.id)).toEqual([entry.id]);
    expect(server.arrivals).toEqual([]);
    expect(await outbox.flush()).toBe(true);
    expect(server.arrivals).toEqual([{ key: entry.id, path: '/a' }]);
    expect(await store.list()).toEqual([]);
    expect(outbox.size).toBe(0);
  });

  it('keeps everything while offline and replays it in creation order, exactly once, when the network returns', async () => {
    const server = new FakeServer();
    const { outbox, counts } = setup(server);
    server.network = 'down';
    const ids: string[] = [];
    for (const path of ['/1', '/2', '/3']) {
      ids.push((await outbox.enqueue(post(path))).id);
      expect(await outbox.flush()).toBe(false);
    }
    expect(outbox.size).toBe(3);
    expect(server.arrivals).toEqual([]);

    server.network = 'up';
    expect(await outbox.flush()).toBe(true);
    expect(server.arrivals.map((a) => a.path)).toEqual(['/1', '/2', '/3']);
    expect(server.arrivals.map((a) => a.key)).toEqual(ids);
    expect(server.effects).toEqual(['/1', '/2', '/3']);
    expect(counts.at(-1)).toBe(0);
    // Nothing left to send twice.
    expect(await outbox.flush()).toBe(true);
    expect(server.arrivals).toHaveLength(3);
  });

  it('sends a request whose answer was lost again with the same key, and the server applies it once', async () => {
    const server = new FakeServer();
    const { outbox } = setup(server);
    await outbox.enqueue(post('/pay'));
    await outbox.enqueue(post('/after'));
    server.network = 'lose-answer';
    expect(await outbox.flush()).toBe(false);
    // It reached the server; the terminal cannot know, so it waits, and /after waits behind it.
    expect(server.arrivals.map((a) => a.path)).toEqual(['/pay']);
    expect(outbox.size).toBe(2);

    expect(await outbox.flush()).toBe(true);
    expect(server.arrivals.map((a) => a.path)).toEqual(['/pay', '/pay', '/after']);
    expect(server.arrivals[0]!.key).toBe(server.arrivals[1]!.key);
    expect(server.effects).toEqual(['/pay', '/after']);
  });

  it('counts attempts and remembers the last reason in storage', async () => {
    const server = new FakeServer();
    const { outbox, store } = setup(server);
    server.network = 'down';
    await outbox.enqueue(post('/x'));
    await outbox.flush();
    await outbox.flush();
    const [entry] = await store.list();
    expect(entry).toMatchObject({ attempts: 2, lastError: 'Failed to fetch' });
  });

  it('drops a definitively refused entry, reports it, and goes on with the next', async () => {
    const server = new FakeServer();
    const { outbox, settled } = setup(server);
    server.refuse.add('/gone');
    await outbox.enqueue(post('/gone'));
    await outbox.enqueue(post('/next'));
    expect(await outbox.flush()).toBe(true);
    expect(settled).toEqual([
      { path: '/gone', kind: 'rejected' },
      { path: '/next', kind: 'done' },
    ]);
    expect(server.effects).toEqual(['/next']);
  });

  it('runs one flush at a time: concurrent flushes never send an entry twice', async () => {
    const server = new FakeServer();
    const { outbox } = setup(server);
    for (let i = 0; i < 20; i++) await outbox.enqueue(post(`/${i}`));
    await Promise.all([outbox.flush(), outbox.flush(), outbox.flush()]);
    expect(server.arrivals).toHaveLength(20);
    expect(new Set(server.arrivals.map((a) => a.key)).size).toBe(20);
  });

  it('an entry enqueued during a flush is sent by that flush', async () => {
    const server = new FakeServer();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = new Outbox(new MemoryOutboxStore(), async (entry) => {
      await gate;
      return server.send(entry);
    }, { newId: () => crypto.randomUUID() });
    await slow.enqueue(post('/first'));
    const running = slow.flush();
    await slow.enqueue(post('/second'));
    const again = slow.flush();
    release();
    await Promise.all([running, again]);
    expect(server.arrivals.map((a) => a.path)).toEqual(['/first', '/second']);
    expect(slow.size).toBe(0);
  });

  it('survives a restart: a new Outbox over the same store replays what the old one left', async () => {
    const server = new FakeServer();
    const store = new MemoryOutboxStore();
    server.network = 'down';
    const first = setup(server, store);
    const entry = await first.outbox.enqueue(post('/kept'));
    await first.outbox.flush();

    server.network = 'up';
    const second = setup(server, store);
    expect(await second.outbox.refresh()).toBe(1);
    await second.outbox.flush();
    expect(server.arrivals).toEqual([{ key: entry.id, path: '/kept' }]);
  });

  it('holds the cross-tab lock around each drain', async () => {
    const server = new FakeServer();
    const events: string[] = [];
    const outbox = new Outbox(new MemoryOutboxStore(), async (entry) => {
      events.push(`send ${entry.path}`);
      return server.send(entry);
    }, {
      newId: () => crypto.randomUUID(),
      lock: async (task) => {
        events.push('lock');
        try {
          return await task();
        } finally {
          events.push('unlock');
        }
      },
    });
    await outbox.enqueue(post('/a'));
    await outbox.flush();
    expect(events).toEqual(['lock', 'send /a', 'unlock']);
  });
});

describe('classifyAnswer', () => {
  const retryable = new Set(['session_expired', 'terminal_locked']);
  it('retries what may pass and refuses what will not', () => {
    expect(classifyAnswer(200, undefined, retryable).kind).toBe('done');
    expect(classifyAnswer(201, undefined, retryable).kind).toBe('done');
    for (const status of [0, 408, 425, 429, 500, 502, 503]) expect(classifyAnswer(status, undefined, retryable).kind, String(status)).toBe('retry');
    expect(classifyAnswer(401, 'session_expired', retryable).kind).toBe('retry');
    expect(classifyAnswer(423, 'terminal_locked', retryable).kind).toBe('retry');
    expect(classifyAnswer(404, 'not_found', retryable)).toEqual({ kind: 'rejected', status: 404, code: 'not_found' });
    expect(classifyAnswer(400, undefined, retryable)).toEqual({ kind: 'rejected', status: 400, code: 'http_400' });
  });
});
