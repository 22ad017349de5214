import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BRIDGE, type BridgeResponse } from '../terminal/src/core/bridge-protocol';
import { attachBridge, type BridgeServices } from '../terminal/src/runtime/bridge-host';

/**
 * The bridge methods the cashier needs from the shell — PIN blocks, operator sign-on, the app's
 * own store, printing — and who may use them. The host runs against a fake window and frame
 * (node has no DOM): messages are events whose `source` is the frame's window.
 */
interface Fake {
  answers: BridgeResponse[];
  calls: string[];
  stored: Map<string, unknown>;
  printed: string[][];
  detach: () => void;
  ask: (method: string, params?: unknown) => Promise<BridgeResponse>;
}

const realWindow = (globalThis as { window?: unknown }).window;

function fakeBridge(appCode: string): Fake {
  const answers: BridgeResponse[] = [];
  const calls: string[] = [];
  const stored = new Map<string, unknown>();
  const printed: string[][] = [];
  const waiting = new Map<number, (r: BridgeResponse) => void>();
  const contentWindow = {
    postMessage(message: unknown) {
      const r = message as BridgeResponse;
      if (typeof r.id !== 'number') return; // events
      answers.push(r);
      waiting.get(r.id)?.(r);
    },
  };
  const frame = { contentWindow, addEventListener() {}, removeEventListener() {} } as unknown as HTMLIFrameElement;
  const services: BridgeServices = {
    context: () => ({
      language: 'zh-CN',
      app: { code: appCode, version: '1.0.0' },
      terminal: { id: 't', serial: 's', merchantName: null, orgName: null },
      operator: null,
    }),
    status: () => ({
      online: true,
      pushConnected: true,
      lastHeartbeatAt: null,
      heartbeatIntervalS: 60,
      pollIntervalS: 300,
      session: null,
      params: {},
      versions: {},
      outboxPending: 0,
    }),
    messages: () => [],
    markRead: async () => ({ queued: false }),
    api: async () => ({ status: 200, body: null }),
    pinBlock: async (pin, pan) => {
      calls.push(`pin:${pin.length}:${pan.slice(-4)}`);
      return 'AB'.repeat(16);
    },
    operatorSignOn: async (no) => {
      calls.push(`operator:${no}`);
      return { no, name: '店长', role: 'supervisor' };
    },
    storageGet: async (app, key) => stored.get(`${app}:${key}`),
    storageSet: async (app, key, value) => void stored.set(`${app}:${key}`, value),
    print: (lines) => void printed.push(lines),
    subscribe: () => () => undefined,
  };
  const detach = attachBridge(frame, { code: appCode, version: '1.0.0' }, services, {
    onClose: () => undefined,
    onNavigatedAway: () => undefined,
  });
  let nextId = 1;
  const ask = (method: string, params?: unknown): Promise<BridgeResponse> => {
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      const event = new Event('message');
      Object.defineProperty(event, 'source', { value: contentWindow });
      Object.defineProperty(event, 'data', { value: { bridge: BRIDGE, id, method, params } });
      (globalThis as unknown as { window: EventTarget }).window.dispatchEvent(event);
    });
  };
  return { answers, calls, stored, printed, detach, ask };
}

const code = (r: BridgeResponse) => (r.ok ? null : r.error.code);

describe('bridge methods for payments apps', () => {
  beforeEach(() => {
    (globalThis as { window?: unknown }).window = new EventTarget();
  });
  afterEach(() => {
    (globalThis as { window?: unknown }).window = realWindow;
  });

  it('enciphers a PIN for the cashier; refuses malformed PINs and PANs without calling the key', async () => {
    const b = fakeBridge('cashier');
    const ok = await b.ask('pin.block', { pin: '147258', pan: '6222021234567890128' });
    expect(ok).toMatchObject({ ok: true, result: { pinBlock: 'AB'.repeat(16) } });
    for (const params of [
      { pin: '12', pan: '6222021234567890128' },
      { pin: '12a456', pan: '6222021234567890128' },
      { pin: '123456', pan: '62220' },
      { pin: 123456, pan: '6222021234567890128' },
      undefined,
    ]) {
      expect(code(await b.ask('pin.block', params))).toBe('bad_request');
    }
    expect(b.calls).toEqual(['pin:6:0128']);
    b.detach();
  });

  it('other apps may neither use the PIN key nor sign operators on', async () => {
    const b = fakeBridge('info');
    expect(code(await b.ask('pin.block', { pin: '147258', pan: '6222021234567890128' }))).toBe('api_not_allowed');
    expect(code(await b.ask('operator.signOn', { operatorNo: '02', password: 'Supervisor-2026' }))).toBe('api_not_allowed');
    expect(b.calls).toEqual([]);
    b.detach();
  });

  it('signs a supervisor on for the cashier', async () => {
    const b = fakeBridge('cashier');
    expect(await b.ask('operator.signOn', { operatorNo: '02', password: 'Supervisor-2026' })).toMatchObject({
      ok: true,
      result: { role: 'supervisor' },
    });
    expect(code(await b.ask('operator.signOn', { operatorNo: '02' }))).toBe('bad_request');
    expect(b.calls).toEqual(['operator:02']);
    b.detach();
  });

  it('keeps each app’s values under its own code; refuses odd keys and huge values', async () => {
    const b = fakeBridge('cashier');
    expect(await b.ask('storage.get', { key: 'journal' })).toMatchObject({ ok: true, result: null });
    expect(await b.ask('storage.set', { key: 'journal', value: { batchNo: 1, txns: [] } })).toMatchObject({ ok: true });
    expect(await b.ask('storage.get', { key: 'journal' })).toMatchObject({ ok: true, result: { batchNo: 1, txns: [] } });
    expect([...b.stored.keys()]).toEqual(['cashier:journal']);
    expect(code(await b.ask('storage.set', { key: '../kv', value: 1 }))).toBe('bad_request');
    expect(code(await b.ask('storage.set', { key: 'big', value: 'x'.repeat(1_000_001) }))).toBe('too_large');
    b.detach();
  });

  it('prints plain text lines only', async () => {
    const b = fakeBridge('cashier');
    expect(await b.ask('print', { lines: ['银行卡签购单', '卡号: **** 0128'] })).toMatchObject({ ok: true });
    expect(code(await b.ask('print', { lines: '<b>x</b>' }))).toBe('bad_request');
    expect(code(await b.ask('print', { lines: [{ html: '<b>x</b>' }] }))).toBe('bad_request');
    expect(b.printed).toEqual([['银行卡签购单', '卡号: **** 0128']]);
    b.detach();
  });
});
