/**
 * The push hub's pacing, on fake responses (no database: the hub only writes to open responses).
 * A large wake (a rollout stage of thousands) goes out a burst at once and the rest paced, each
 * terminal woken exactly once; keep-alive comments reach every stream, a slice per tick.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PushHub } from './push.js';

class FakeResponse extends EventEmitter {
  writableEnded = false;
  destroyed = false;
  writableLength = 0;
  readonly chunks: string[] = [];
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  end(text?: string): void {
    if (text) this.chunks.push(text);
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  count(text: string): number {
    return this.chunks.filter((c) => c === text).length;
  }
}

const WAKE = 'event: wake\ndata: {}\n\n';
const KEEP_ALIVE = ':\n\n';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

let hub: PushHub | null = null;
afterEach(() => hub?.closeAll());

function connect(h: PushHub, n: number): Map<string, FakeResponse> {
  const streams = new Map<string, FakeResponse>();
  for (let i = 0; i < n; i++) {
    const res = new FakeResponse();
    h.attach(`T${i}`, res as unknown as ServerResponse);
    streams.set(`T${i}`, res);
  }
  return streams;
}

describe('PushHub pacing', () => {
  it('wakes a burst at once and the rest paced, each terminal exactly once', async () => {
    hub = new PushHub(60_000, 2000, 10);
    const streams = connect(hub, 50);
    expect(hub.wake([...streams.keys(), 'not-connected'])).toBe(50);
    const wokenNow = [...streams.values()].filter((r) => r.count(WAKE) === 1).length;
    expect(wokenNow).toBe(10);
    expect(hub.queuedWakes).toBe(40);
    await until(() => hub!.queuedWakes === 0, 'the paced wakes');
    for (const res of streams.values()) expect(res.count(WAKE)).toBe(1);
  });

  it('a terminal asked again while it waits its turn is woken once; one gone meanwhile is skipped', async () => {
    hub = new PushHub(60_000, 2000, 1);
    const streams = connect(hub, 5);
    hub.wake(streams.keys());
    hub.wake(['T3', 'T3', 'T4']);
    streams.get('T2')!.emit('close');
    await until(() => hub!.queuedWakes === 0, 'the paced wakes');
    expect(streams.get('T0')!.count(WAKE)).toBe(1);
    expect(streams.get('T1')!.count(WAKE)).toBe(1);
    expect(streams.get('T2')!.count(WAKE)).toBe(0);
    expect(streams.get('T3')!.count(WAKE)).toBe(1);
    expect(streams.get('T4')!.count(WAKE)).toBe(1);
  });

  it('sends the keep-alive comment to every stream, a slice at a time', async () => {
    hub = new PushHub(50);
    const streams = connect(hub, 100);
    await until(() => [...streams.values()].every((r) => r.count(KEEP_ALIVE) >= 1), 'a keep-alive on every stream');
  });
});
