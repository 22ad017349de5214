/**
 * Scale-out (DESIGN.md: several server processes on one PostgreSQL): two app instances, each
 * with its own connection pool, push hub and wake poller, on one database. A command enqueued
 * through one wakes a push stream held by the other; a request replayed to both is accepted once.
 */
import type { Kysely } from 'kysely';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { buildApp, type Xiaowei } from '../app.js';
import { loadConfig } from '../platform/config.js';
import { openDatabase, type Database } from '../platform/db/database.js';
import { TerminalClient, generateDeviceKey, type PushHandle } from './client.js';
import type { TerminalSharedTables } from './contracts.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!DIALECTS.includes('postgres'))('two app instances on one PostgreSQL', () => {
  let a: Harness;
  let b: Xiaowei;
  let bDatabase: Database;
  const url = (x: { app: Xiaowei['app'] }): string => `http://127.0.0.1:${(x.app.server.address() as AddressInfo).port}`;
  const pushes: PushHandle[] = [];

  const staff = async (method: 'GET' | 'POST', path: string, payload?: Record<string, unknown>) => {
    const res = await a.app.inject({ method, url: `/api/v1${path}`, headers: auth(a.adminToken), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };

  /** A terminal activated and signed on through instance A; its client talks to `base`. */
  const terminalOn = async (base: string, serial: string): Promise<{ id: string; client: TerminalClient }> => {
    const merchant = await staff('POST', '/parties', { kind: 'business', name: `商户${serial}`, roles: ['merchant'], org_id: a.bankId });
    const terminal = await staff('POST', '/terminals', { serial, model: 'P30', kind: 'smart_pos', owner_party_id: merchant.body.id });
    expect(terminal.status, JSON.stringify(terminal.body)).toBe(201);
    const code = await staff('POST', `/terminals/${terminal.body.id}/activation-codes`, {});
    const client = new TerminalClient({ baseUrl: url(a) });
    await client.activate(code.body.code as string, serial, await generateDeviceKey());
    await client.signOn();
    // The session lives in the database, so the terminal may go on through any instance.
    const there = new TerminalClient({ baseUrl: base });
    there.terminalId = client.terminalId;
    there.session = client.session;
    return { id: terminal.body.id as string, client: there };
  };

  beforeAll(async () => {
    a = await createHarness('postgres');
    await a.app.listen({ port: 0, host: '127.0.0.1' });
    bDatabase = openDatabase({ url: a.tdb.url, poolSize: 4 });
    const config = loadConfig({ XIAOWEI_DATA_DIR: '/tmp/xiaowei-test-unused', LOG_LEVEL: 'silent', XIAOWEI_PENDING_SWEEP_MS: '3600000', DATABASE_URL: a.tdb.url });
    b = await buildApp({ config, database: bDatabase, secrets: a.secrets, logger: false, webDist: null });
    await b.app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    for (const p of pushes) p.close();
    await b?.app.close();
    await bDatabase?.close();
    await a?.close();
  });

  it('a command enqueued through one instance wakes a push stream held by the other', async () => {
    const { id, client } = await terminalOn(url(b), 'SNMULTI00001');
    let wakes = 0;
    let opened = false;
    const push = client.openPush({ onWake: () => wakes++, onOpen: () => (opened = true) });
    pushes.push(push);
    await until(() => opened && b.terminals.push.has(id), 'the stream on instance B');
    expect(a.terminals.push.has(id)).toBe(false);

    const sent = await staff('POST', `/terminals/${id}/commands`, { kind: 'message', message: { zh: '跨进程', en: 'Across processes' }, expires_in_s: 600 });
    expect(sent.status).toBe(201);
    await until(() => wakes >= 1, 'the wake from instance B’s poller');
    const fetched = await client.commands();
    expect(fetched.map((c) => c.id)).toEqual([sent.body.id]);
    await client.ack(fetched[0]!.id);
    push.close();
    await push.done;
  });

  it('a command enqueued inside a caller’s transaction wakes once committed', async () => {
    const { id, client } = await terminalOn(url(a), 'SNMULTI00002');
    let wakes = 0;
    let opened = false;
    const push = client.openPush({ onWake: () => wakes++, onOpen: () => (opened = true) });
    pushes.push(push);
    await until(() => opened && a.terminals.push.has(id), 'the stream on instance A');
    const db = a.tdb.database.kysely as Kysely<TerminalSharedTables>;
    await db.transaction().execute(async (trx) => {
      await a.terminals.commands.enqueue([{ terminal_id: id, kind: 'parameters', payload: { params: {} }, expires_at: Date.now() * 1000 + 60e6 }], trx);
    });
    await until(() => wakes >= 1, 'the wake after commit');
    expect(await client.commands()).toHaveLength(1);
    push.close();
    await push.done;
  });

  it('a command that commits after a later one is still woken (the poller watches gaps in seq)', async () => {
    const first = await terminalOn(url(a), 'SNMULTI00004');
    const second = await terminalOn(url(a), 'SNMULTI00005');
    const wakes = new Map<string, number>();
    for (const t of [first, second]) {
      let opened = false;
      const push = t.client.openPush({ onWake: () => wakes.set(t.id, (wakes.get(t.id) ?? 0) + 1), onOpen: () => (opened = true) });
      pushes.push(push);
      await until(() => opened && a.terminals.push.has(t.id), 'a stream on instance A');
    }
    const expires = Date.now() * 1000 + 600e6;
    const db = a.tdb.database.kysely as Kysely<TerminalSharedTables>;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inserted: () => void = () => undefined;
    const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
    // The first command takes the lower seq but its transaction stays open…
    const slow = db.transaction().execute(async (trx) => {
      await a.terminals.commands.enqueue([{ terminal_id: first.id, kind: 'message', payload: { n: 1 }, expires_at: expires }], trx);
      inserted();
      await gate;
    });
    await insertedOnce;
    // …while the second, through the other instance, commits first and is woken by A's poller.
    await b.terminals.commands.enqueue([{ terminal_id: second.id, kind: 'message', payload: { n: 2 }, expires_at: expires }]);
    await until(() => (wakes.get(second.id) ?? 0) >= 1, 'the wake for the second command');
    expect(wakes.get(first.id) ?? 0).toBe(0);
    release();
    await slow;
    await until(() => (wakes.get(first.id) ?? 0) >= 1, 'the wake for the late-committing first command');
  });

  it('an activation code is used once across instances, however many present it at once', async () => {
    const merchant = await staff('POST', '/parties', { kind: 'business', name: '商户SNMULTI00006', roles: ['merchant'], org_id: a.bankId });
    const terminal = await staff('POST', '/terminals', { serial: 'SNMULTI00006', model: 'P30', kind: 'smart_pos', owner_party_id: merchant.body.id });
    const code = (await staff('POST', `/terminals/${terminal.body.id}/activation-codes`, {})).body.code as string;
    const devices = await Promise.all(Array.from({ length: 8 }, () => generateDeviceKey()));
    const outcomes = await Promise.all(
      devices.map((device, i) =>
        new TerminalClient({ baseUrl: i % 2 === 0 ? url(a) : url(b) }).activate(code, 'SNMULTI00006', device).then(
          () => 'ok',
          (error: unknown) => (error as { code?: string }).code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'terminal_activation_invalid')).toHaveLength(7);
    const db = a.tdb.database.kysely as unknown as Kysely<TerminalSharedTables>;
    const row = await db.selectFrom('terminals').select(['status', 'device_public_key']).where('id', '=', terminal.body.id as string).executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
    expect(row.device_public_key).toBe(devices[outcomes.indexOf('ok')]!.publicKey);
  });

  it('sign-ons of one terminal sent to both instances at once take turns: one open session, distinct batches', async () => {
    const merchant = await staff('POST', '/parties', { kind: 'business', name: '商户SNMULTI00007', roles: ['merchant'], org_id: a.bankId });
    const terminal = await staff('POST', '/terminals', { serial: 'SNMULTI00007', model: 'P30', kind: 'smart_pos', owner_party_id: merchant.body.id });
    const id = terminal.body.id as string;
    const code = (await staff('POST', `/terminals/${id}/activation-codes`, {})).body.code as string;
    const device = await generateDeviceKey();
    await new TerminalClient({ baseUrl: url(a) }).activate(code, 'SNMULTI00007', device);
    // Eight sign-ons with the one device key, each a few ms apart in its timestamp.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const c = new TerminalClient({ baseUrl: i % 2 === 0 ? url(a) : url(b), now: () => Date.now() + i * 3 });
        return c.signOn(device, id).then(
          (session) => ({ ok: true as const, batchNo: session.batchNo, sessionId: session.sessionId }),
          (error: unknown) => ({ ok: false as const, code: (error as { code?: string }).code }),
        );
      }),
    );
    const accepted = results.filter((r) => r.ok);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    // Only a sign-on older than one already accepted is refused, as a replay.
    for (const r of results) if (!r.ok) expect(r.code).toBe('terminal_request_replayed');
    expect(new Set(accepted.map((r) => r.batchNo)).size).toBe(accepted.length);
    const db = a.tdb.database.kysely as unknown as Kysely<{ terminal_sessions: { id: string; terminal_id: string; closed_at: number | null } }>;
    const open = await db.selectFrom('terminal_sessions').select('id').where('terminal_id', '=', id).where('closed_at', 'is', null).execute();
    expect(open).toHaveLength(1);
    expect(accepted.map((r) => r.sessionId)).toContain(open[0]!.id);
  });

  it('the same request replayed to both instances at once is accepted once', async () => {
    const { client } = await terminalOn(url(a), 'SNMULTI00003');
    const prepared = await client.prepare('GET', '/api/v1/terminal/echo');
    const path = new URL(prepared.url).pathname;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await fetch(`${i % 2 === 0 ? url(a) : url(b)}${path}`, prepared.init);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
  });
});
