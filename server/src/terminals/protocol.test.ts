/**
 * The terminal protocol end to end, on SQLite and PostgreSQL: a real listening server, the
 * protocol client (client.ts) speaking to it over fetch, and the staff side through the API.
 */
import type { FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { XiaoweiError } from '../platform/errors.js';
import { TerminalApiError, TerminalClient, generateDeviceKey, type DeviceKey, type PushHandle } from './client.js';
import type { TerminalPrincipal } from './contracts.js';
import { requireSupervisor } from './operators.js';
import { endOfBusinessDay } from './sign-on.js';
import { assertActsFor } from './terminal-auth.js';
import type { ProtocolTables } from './protocol-migration.js';
import type { Kysely } from 'kysely';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded, never timed as an assertion) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

/** The registry code a call failed with (or 'ok'). */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (error instanceof TerminalApiError) return error.code;
    throw error;
  }
}

let serialCounter = 0;

describe.each(DIALECTS)('terminal protocol on %s', (dialect) => {
  let h: Harness;
  let base: string;
  let db: Kysely<ProtocolTables>;
  const pushes: PushHandle[] = [];

  const staff = async (method: 'GET' | 'POST' | 'DELETE' | 'PUT', url: string, payload?: unknown, token = h.adminToken) => {
    const res = await h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };

  const newMerchant = async (name: string): Promise<string> => {
    const res = await staff('POST', '/parties', { kind: 'business', name, roles: ['merchant'], org_id: h.bankId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  const newTerminal = async (owner: string): Promise<{ id: string; serial: string }> => {
    const serial = `SN${dialect.slice(0, 2).toUpperCase()}${String(++serialCounter).padStart(6, '0')}`;
    const res = await staff('POST', '/terminals', { serial, model: 'P30', kind: 'smart_pos', owner_party_id: owner });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id as string, serial };
  };

  const issueCode = async (terminalId: string): Promise<string> => {
    const res = await staff('POST', `/terminals/${terminalId}/activation-codes`, {});
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.code as string;
  };

  /** A terminal of `owner`, activated and signed on through the protocol. */
  const readyTerminal = async (owner: string): Promise<{ client: TerminalClient; device: DeviceKey; id: string; serial: string }> => {
    const { id, serial } = await newTerminal(owner);
    const client = new TerminalClient({ baseUrl: base });
    const device = await generateDeviceKey();
    await client.activate(await issueCode(id), serial, device);
    await client.signOn();
    return { client, device, id, serial };
  };

  let merchantA: string;
  let merchantB: string;

  beforeAll(async () => {
    h = await createHarness(dialect);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    db = h.db as unknown as Kysely<ProtocolTables>;
    merchantA = await newMerchant('王家小卖部');
    merchantB = await newMerchant('李家农资店');
  });

  afterAll(async () => {
    for (const p of pushes) p.close();
    await h.close();
  });

  it('activates with a one-time code: reuse, expiry and a wrong serial are refused', async () => {
    const { id, serial } = await newTerminal(merchantA);
    const device = await generateDeviceKey();
    const client = new TerminalClient({ baseUrl: base });

    // A wrong serial leaves the code unused.
    const code = await issueCode(id);
    expect(await codeOf(client.activate(code, 'SNWRONG0001', device))).toBe('terminal_serial_mismatch');
    const reply = await client.activate(code.toLowerCase(), serial.toLowerCase(), device);
    expect(reply).toMatchObject({ terminalId: id, serial, merchant: { id: merchantA, name: '王家小卖部' }, org: { id: h.bankId } });
    expect(Buffer.from(reply.platformSigningKey, 'base64url').equals(await h.crypto.signingPublicKey())).toBe(true);
    const row = await db.selectFrom('terminals').select(['status', 'device_public_key']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'active', device_public_key: device.publicKey });

    // Used once: the same code again is refused.
    expect(await codeOf(client.activate(code, serial, device))).toBe('terminal_activation_invalid');

    // Expired: the clock of the code is moved past its end (as time passing would).
    const late = await issueCode(id);
    await db.updateTable('terminal_activation_codes' as never).set({ expires_at: Date.now() * 1000 - 1 } as never).where('terminal_id' as never, '=', id as never).execute();
    expect(await codeOf(client.activate(late, serial, device))).toBe('terminal_activation_invalid');
    expect(await codeOf(client.activate('NOT-A-CODE', serial, device))).toBe('terminal_activation_invalid');
  });

  it('signs on: a new batch each time, the previous session closes, a wrong device key is refused', async () => {
    const { client, device, id } = await readyTerminal(merchantA);
    const first = client.session!;
    expect(first.batchNo).toBe('000001');
    expect(first).toMatchObject({ heartbeatIntervalS: 60, pollIntervalS: 300, params: { receipt_header_zh: '欢迎光临' } });
    expect(await client.echo()).toMatchObject({ terminalId: id, operatorNo: null });

    const second = await client.signOn();
    expect(second.batchNo).toBe('000002');
    // The first session is closed by the second sign-on.
    const stale = new TerminalClient({ baseUrl: base });
    stale.session = { ...first, seq: 100 };
    expect(await codeOf(stale.echo())).toBe('terminal_session_closed');
    expect(await client.echo()).toMatchObject({ terminalId: id });

    // Another device's key cannot sign on for this terminal.
    const impostor = new TerminalClient({ baseUrl: base });
    expect(await codeOf(impostor.signOn(await generateDeviceKey(), id))).toBe('terminal_signature_invalid');
    expect(await codeOf(impostor.signOn(device, '0192f0a4-0000-7000-8000-000000000000'))).toBe('terminal_unknown');
    // An unactivated terminal cannot sign on.
    const fresh = await newTerminal(merchantA);
    expect(await codeOf(impostor.signOn(device, fresh.id))).toBe('terminal_not_activated');
    // The keys never reach the database in clear: only sealed handles and check values.
    const stored = await db.selectFrom('terminal_sessions').selectAll().where('id', '=', second.sessionId).executeTakeFirstOrThrow();
    expect(stored.mac_key.startsWith('XW1.')).toBe(true);
    expect(stored.mac_kcv).toBe(second.kcv.mac);
  });

  it('refuses forged, replayed, stale and out-of-sequence requests', async () => {
    const { client } = await readyTerminal(merchantA);
    const send = async (prepared: { url: string; init: RequestInit }) => {
      const res = await fetch(prepared.url, prepared.init);
      const body = (await res.json()) as { error?: { code: string; data?: { last_seq?: number } } };
      return { status: res.status, code: body.error?.code ?? 'ok', data: body.error?.data };
    };
    const beat = { appVersions: { shell: '1.0.0' }, network: 'wifi' };

    // Forged: the body changed after signing, or a MAC from another key.
    const signed = await client.prepare('POST', '/api/v1/terminal/heartbeat', beat);
    expect(await send({ ...signed, init: { ...signed.init, body: JSON.stringify({ ...beat, battery: 5 }) } })).toMatchObject({ status: 401, code: 'terminal_mac_invalid' });
    const other = await readyTerminal(merchantA);
    const foreign = await other.client.prepare('GET', '/api/v1/terminal/echo');
    const headers = { ...(foreign.init.headers as Record<string, string>), 'x-terminal-session': client.session!.sessionId, 'x-terminal-id': client.session!.terminalId };
    expect(await send({ url: foreign.url, init: { ...foreign.init, headers } })).toMatchObject({ status: 401, code: 'terminal_mac_invalid' });
    // A refused request uses up nothing: the original still goes through.
    expect(await send(signed)).toMatchObject({ status: 200, code: 'ok' });

    // Replayed: the very same request again, refused without a trace (last seen does not move).
    const seen = async () => (await db.selectFrom('terminals').select('last_seen_at').where('id', '=', client.terminalId!).executeTakeFirstOrThrow()).last_seen_at;
    const seenBefore = await seen();
    expect(await send(signed)).toMatchObject({ status: 409, code: 'terminal_request_replayed', data: { last_seq: client.session!.seq } });
    expect(await seen()).toBe(seenBefore);

    // Stale: six minutes old (and as far ahead).
    expect(await send(await client.prepare('GET', '/api/v1/terminal/echo', undefined, { timestamp: Date.now() - 6 * 60_000 }))).toMatchObject({ code: 'terminal_request_stale' });
    expect(await send(await client.prepare('GET', '/api/v1/terminal/echo', undefined, { timestamp: Date.now() + 6 * 60_000 }))).toMatchObject({ code: 'terminal_request_stale' });

    // Out of sequence: seq 50 accepted, then 49 refused, 51 accepted.
    expect(await send(await client.prepare('GET', '/api/v1/terminal/echo', undefined, { seq: 50 }))).toMatchObject({ code: 'ok' });
    expect(await send(await client.prepare('GET', '/api/v1/terminal/echo', undefined, { seq: 49 }))).toMatchObject({ code: 'terminal_request_replayed', data: { last_seq: 50 } });
    expect(await send(await client.prepare('GET', '/api/v1/terminal/echo', undefined, { seq: 51 }))).toMatchObject({ code: 'ok' });
    // The client recovers from a lost counter by itself, from last_seq.
    client.session!.seq = 3;
    expect(await client.echo()).toMatchObject({ terminalId: client.terminalId });

    // The same request sent eight times at once is accepted exactly once.
    const dup = await client.prepare('GET', '/api/v1/terminal/echo', undefined, { seq: 1000 });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => send(dup)));
    expect(outcomes.filter((o) => o.code === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'terminal_request_replayed')).toHaveLength(7);

    // The same for a heartbeat, whose write joins the sequence check's commit: stored once.
    const rowsBefore = (await db.selectFrom('terminal_heartbeats').select('ts').where('terminal_id', '=', client.terminalId!).execute()).length;
    const dupBeat = await client.prepare('POST', '/api/v1/terminal/heartbeat', { appVersions: { shell: '1.0.1' }, network: 'ethernet' }, { seq: 2000 });
    const beats = await Promise.all(Array.from({ length: 8 }, () => send(dupBeat)));
    expect(beats.map((b) => b.code).sort()).toEqual(['ok', ...Array.from({ length: 7 }, () => 'terminal_request_replayed')]);
    const rowsAfter = await db.selectFrom('terminal_heartbeats').select('network').where('terminal_id', '=', client.terminalId!).orderBy('ts').execute();
    expect(rowsAfter).toHaveLength(rowsBefore + 1);
    expect(rowsAfter.at(-1)).toEqual({ network: 'ethernet' });
    // A refused beat (here: out of sequence, on another network) leaves no trace in the history
    // sampling either: the next accepted beat on that network is kept.
    expect(await send(await client.prepare('POST', '/api/v1/terminal/heartbeat', { appVersions: { shell: '1.0.1' }, network: '5g' }, { seq: 1999 }))).toMatchObject({
      code: 'terminal_request_replayed',
    });
    expect(await send(await client.prepare('POST', '/api/v1/terminal/heartbeat', { appVersions: { shell: '1.0.1' }, network: '5g' }, { seq: 2001 }))).toMatchObject({ code: 'ok' });
    const rowsLast = await db.selectFrom('terminal_heartbeats').select('network').where('terminal_id', '=', client.terminalId!).orderBy('ts').execute();
    expect(rowsLast.slice(rowsBefore)).toEqual([{ network: 'ethernet' }, { network: '5g' }]);

    // Missing and ill-formed headers.
    const bare = await fetch(`${base}/api/v1/terminal/echo`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('terminal_auth_malformed');
    const badSeq = await client.prepare('GET', '/api/v1/terminal/echo');
    expect(await send({ ...badSeq, init: { ...badSeq.init, headers: { ...(badSeq.init.headers as Record<string, string>), 'x-terminal-seq': '1e3' } } })).toMatchObject({ code: 'terminal_auth_malformed' });
  });

  it('refuses a session after sign-off and after its end of day; the client signs on again by itself', async () => {
    const { client } = await readyTerminal(merchantA);
    const session = client.session!;
    await client.signOff();
    const after = new TerminalClient({ baseUrl: base });
    after.session = session;
    expect(await codeOf(after.echo())).toBe('terminal_session_closed');

    await client.signOn();
    await db.updateTable('terminal_sessions').set({ expires_at: Date.now() * 1000 - 1 }).where('id', '=', client.session!.sessionId).execute();
    const expired = await client.prepare('GET', '/api/v1/terminal/echo');
    const res = await fetch(expired.url, expired.init);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('terminal_session_expired');
    const before = client.session!.batchNo;
    expect(await client.echo()).toMatchObject({ terminalId: client.terminalId });
    expect(client.session!.batchNo).not.toBe(before);
  });

  it('signs on again after its clock stepped back (a re-learnt offset, a slow answer): sign-on timestamps only go forward', async () => {
    const { id, serial } = await newTerminal(merchantA);
    let stepBackMs = 0;
    const client = new TerminalClient({ baseUrl: base, now: () => Date.now() - stepBackMs });
    await client.activate(await issueCode(id), serial, await generateDeviceKey());
    const first = await client.signOn();
    // Within the allowed skew, but before the sign-on the server saw last: a plain clock would sign a replay.
    stepBackMs = 2_000;
    const second = await client.signOn();
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(await client.echo()).toMatchObject({ terminalId: id });
  });

  it('a terminal whose clock is two hours fast adopts the server time from the refusal and signs on', async () => {
    const { id, serial } = await newTerminal(merchantA);
    const client = new TerminalClient({ baseUrl: base, now: () => Date.now() + 7_200_000 });
    await client.activate(await issueCode(id), serial, await generateDeviceKey());
    // A client restored from storage has learnt nothing yet: its first sign-on is stale, its retry corrected.
    const fresh = new TerminalClient({ baseUrl: base, now: () => Date.now() + 7_200_000 });
    const session = await fresh.signOn((client as unknown as { device: DeviceKey }).device, id);
    expect(session.terminalId).toBe(id);
    expect(await fresh.echo()).toMatchObject({ terminalId: id });
  });

  it('numbers batches in the order sign-ons are accepted, whatever clock reading each request took', async () => {
    const { client } = await readyTerminal(merchantA);
    const first = client.session!;
    // As if another process, its request read a few seconds later, had opened this session.
    await db.updateTable('terminal_sessions').set({ opened_at: Date.now() * 1000 + 5_000_000 }).where('id', '=', first.sessionId).execute();
    const second = await client.signOn();
    const third = await client.signOn();
    expect(Number(second.batchNo)).toBe(Number(first.batchNo) + 1);
    expect(Number(third.batchNo)).toBe(Number(second.batchNo) + 1);
  });

  it('refuses a locked terminal, and serves it again once unlocked', async () => {
    const { client, id } = await readyTerminal(merchantA);
    expect((await staff('POST', `/terminals/${id}/lock`, { reason: 'lost' })).status).toBe(200);
    expect(await codeOf(client.echo())).toBe('terminal_locked');
    expect(await codeOf(client.signOn())).toBe('terminal_locked');
    expect((await staff('POST', `/terminals/${id}/unlock`, {})).status).toBe(200);
    expect(await client.echo()).toMatchObject({ terminalId: id });
    expect((await staff('POST', `/terminals/${id}/retire`, {})).status).toBe(200);
    expect(await codeOf(client.echo())).toBe('terminal_retired');
  });

  it('operators: sign-on with lockout, own merchant only, tokens bound to the session', async () => {
    const { client } = await readyTerminal(merchantA);
    const add = async (owner: string, no: string, role: 'cashier' | 'supervisor', password: string) => {
      const res = await staff('POST', '/terminal-operators', { owner_party_id: owner, operator_no: no, name: `操作员${no}`, role, password });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(JSON.stringify(res.body)).not.toContain(password);
      return res.body.id as string;
    };
    const cashier = await add(merchantA, '01', 'cashier', 'cash1er-01');
    await add(merchantA, '02', 'supervisor', 'super-0002');
    await add(merchantB, '03', 'cashier', 'other-0003');
    expect((await staff('POST', '/terminal-operators', { owner_party_id: merchantA, operator_no: '01', name: 'dup', role: 'cashier', password: 'cash1er-01' })).status).toBe(409);
    expect((await staff('POST', '/terminal-operators', { owner_party_id: merchantA, operator_no: '04', name: 'weak', role: 'cashier', password: '123456' })).status).toBe(400);

    expect(await client.operatorSignOn('01', 'cash1er-01')).toEqual({ operatorNo: '01', name: '操作员01', role: 'cashier' });
    expect(await client.echo()).toMatchObject({ operatorNo: '01' });
    // Another merchant's operator does not exist at this terminal.
    expect(await codeOf(client.operatorSignOn('03', 'other-0003'))).toBe('terminal_operator_credentials');

    // Five wrong passwords lock the operator; then even the right one is refused.
    for (let i = 1; i <= 4; i++) expect(await codeOf(client.operatorSignOn('01', `wrong-${i}xx`))).toBe('terminal_operator_credentials');
    expect(await codeOf(client.operatorSignOn('01', 'wrong-5xx'))).toBe('terminal_operator_locked');
    expect(await codeOf(client.operatorSignOn('01', 'cash1er-01'))).toBe('terminal_operator_locked');
    expect((await staff('POST', `/terminal-operators/${cashier}/enable`)).body).toMatchObject({ locked: false });
    await client.operatorSignOn('01', 'cash1er-01');

    // Sign-off ends the token; a new terminal sign-on ends it too.
    const token = client.operatorToken;
    await client.operatorSignOff();
    client.operatorToken = token;
    expect(await codeOf(client.echo())).toBe('terminal_operator_invalid');
    client.operatorToken = null;
    await client.operatorSignOn('02', 'super-0002');
    const supervisorToken = client.operatorToken;
    await client.signOn();
    client.operatorToken = supervisorToken;
    expect(await codeOf(client.echo())).toBe('terminal_operator_invalid');
    client.operatorToken = null;

    // Disabling ends sign-ons everywhere and refuses new ones.
    await client.operatorSignOn('01', 'cash1er-01');
    expect((await staff('POST', `/terminal-operators/${cashier}/disable`)).body).toMatchObject({ disabled: true });
    expect(await codeOf(client.echo())).toBe('terminal_operator_invalid');
    client.operatorToken = null;
    expect(await codeOf(client.operatorSignOn('01', 'cash1er-01'))).toBe('terminal_operator_disabled');

    // Staff lists follow scope: the merchant's own user sees its operators, another merchant's does not.
    const ownUser = await h.userToken('merchant_owner', h.bankId, merchantA);
    const otherUser = await h.userToken('merchant_owner', h.bankId, merchantB);
    const listed = await staff('GET', `/terminal-operators?owner_party_id=${merchantA}`, undefined, ownUser);
    expect(listed.body.items.map((o: { operator_no: string }) => o.operator_no)).toEqual(['01', '02']);
    expect((await staff('GET', `/terminal-operators?owner_party_id=${merchantA}`, undefined, otherUser)).status).toBe(404);
    expect((await staff('POST', '/terminal-operators', { owner_party_id: merchantA, operator_no: '05', name: 'x', role: 'cashier', password: 'cash1er-05' }, ownUser)).status).toBe(403);
    const audit = await staff('GET', '/audit');
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['terminal_operator.create', 'terminal_operator.disable', 'terminal_operator.enable']));
  });

  it('helpers for other routes: requireSupervisor, assertActsFor; sessions end at midnight Asia/Shanghai', () => {
    const principal = (operator: TerminalPrincipal['operator']) =>
      ({ terminal: { terminal_id: 't', serial: 's', owner_party_id: 'p', org_id: 'o', group_ids: [], session_id: 'x', operator } }) as unknown as FastifyRequest;
    expect(requireSupervisor(principal({ id: 'a', operator_no: '02', role: 'supervisor' }))).toMatchObject({ operator_no: '02' });
    expect(() => requireSupervisor(principal({ id: 'a', operator_no: '01', role: 'cashier' }))).toThrow(new XiaoweiError('terminal_supervisor_required'));
    expect(() => requireSupervisor(principal(null))).toThrow(new XiaoweiError('terminal_operator_required'));
    const terminal = (principal(null) as unknown as { terminal: TerminalPrincipal }).terminal;
    expect(() => assertActsFor(terminal, 'p')).not.toThrow();
    expect(() => assertActsFor(terminal, 'another-merchant')).toThrow(new XiaoweiError('terminal_wrong_owner'));
    // 2026-01-01 23:59:59 in Shanghai is 15:59:59Z; the business day ends at 16:00:00Z.
    expect(endOfBusinessDay(Date.parse('2026-01-01T15:59:59Z') * 1000)).toBe(Date.parse('2026-01-01T16:00:00Z') * 1000);
    expect(endOfBusinessDay(Date.parse('2026-01-01T16:00:00Z') * 1000)).toBe(Date.parse('2026-01-02T16:00:00Z') * 1000);
    expect(endOfBusinessDay(Date.parse('2026-01-01T00:30:00Z') * 1000)).toBe(Date.parse('2026-01-01T16:00:00Z') * 1000);
  });

  it('heartbeat: last seen moves, history is kept (sampled), the answer counts pending commands', async () => {
    const { client, id } = await readyTerminal(merchantA);
    const before = Date.now() * 1000;
    const reply = await client.heartbeat({ appVersions: { shell: '1.0.0', cashier: '2.1.0-beta.1' }, network: '4g', signal: -85, battery: 55, charging: true, lat: 36.1234567, lng: 120.7654321 });
    expect(reply).toMatchObject({ heartbeatIntervalS: 60, pollIntervalS: 300, pendingCommands: 0 });
    expect(Math.abs(reply.serverTime - Date.now())).toBeLessThan(60_000);
    const seen = await db.selectFrom('terminals').select('last_seen_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(seen.last_seen_at)).toBeGreaterThanOrEqual(before);
    const rows = await db.selectFrom('terminal_heartbeats').selectAll().where('terminal_id', '=', id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ network: '4g', lat_e6: 36123457, lng_e6: 120765432 });
    expect(Number(rows[0]!.battery)).toBe(55);
    expect(JSON.parse(rows[0]!.app_versions!)).toEqual({ shell: '1.0.0', cashier: '2.1.0-beta.1' });

    // The same state again moves last_seen only; a changed network is kept.
    await client.heartbeat({ appVersions: { shell: '1.0.0', cashier: '2.1.0-beta.1' }, network: '4g', battery: 54 });
    await client.heartbeat({ appVersions: { shell: '1.0.0', cashier: '2.1.0-beta.1' }, network: 'wifi', battery: 54 });
    expect(await db.selectFrom('terminal_heartbeats').select('network').where('terminal_id', '=', id).orderBy('ts').execute()).toEqual([{ network: '4g' }, { network: 'wifi' }]);
    // The fleet's history API reads what the protocol wrote.
    const history = await staff('GET', `/terminals/${id}/heartbeats`);
    expect(history.status).toBe(200);

    await h.terminals.commands.enqueue([{ terminal_id: id, kind: 'message', payload: { message: { zh: '你好', en: 'Hello' } }, expires_at: Date.now() * 1000 + 60e6 }]);
    expect((await client.heartbeat({ appVersions: {}, network: 'wifi' })).pendingCommands).toBe(1);
    // Bad input is refused after the MAC check, changing nothing.
    expect(await codeOf(client.heartbeat({ appVersions: { shell: 'latest' }, network: 'wifi' }))).toBe('validation_failed');
    expect(await codeOf(client.heartbeat({ appVersions: {}, network: 'wifi', battery: 101 }))).toBe('validation_failed');
    // Old history goes.
    await db.updateTable('terminal_heartbeats').set({ ts: 1 }).where('terminal_id', '=', id).execute();
    expect(await h.terminals.pruneHeartbeats()).toBeGreaterThanOrEqual(2);
    expect(await db.selectFrom('terminal_heartbeats').select('ts').where('terminal_id', '=', id).execute()).toEqual([]);
  });

  it('commands are delivered once across reconnects, woken over a real SSE stream', async () => {
    const { client, id } = await readyTerminal(merchantA);
    let wakes = 0;
    let opens = 0;
    const push = client.openPush({ onWake: () => wakes++, onOpen: () => opens++ });
    pushes.push(push);
    await until(() => opens === 1 && h.terminals.push.has(id), 'the push stream');

    const sent = await staff('POST', `/terminals/${id}/commands`, { kind: 'message', message: { zh: '明天停电', en: 'Power cut tomorrow' }, expires_in_s: 3600 });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ terminal_id: id, kind: 'message', status: 'pending', payload: { message: { zh: '明天停电' } } });
    await until(() => wakes >= 1, 'a wake event');

    const fetched = await client.commands();
    expect(fetched.map((c) => c.id)).toEqual([sent.body.id]);
    expect(fetched[0]).toMatchObject({ kind: 'message', payload: { message: { en: 'Power cut tomorrow' } }, notBefore: null });
    expect(await client.ack(sent.body.id as string, { shown: true })).toMatchObject({ id: sent.body.id, status: 'acked' });
    // A second acknowledgement changes nothing and answers the same.
    const again = await client.ack(sent.body.id as string, { shown: false });
    expect(again).toMatchObject({ status: 'acked' });
    const stored = await staff('GET', `/terminals/${id}/commands`);
    expect(stored.body.items[0]).toMatchObject({ status: 'acked', result: { shown: true } });

    // Reconnect: a new stream replaces the old one (which is told and stops), nothing is delivered again.
    let opens2 = 0;
    const push2 = client.openPush({ onWake: () => undefined, onOpen: () => opens2++ });
    pushes.push(push2);
    await push.done;
    await until(() => opens2 === 1, 'the second push stream');
    expect(await client.commands()).toEqual([]);
    push2.close();
    await push2.done;
    await until(() => !h.terminals.push.has(id), 'the stream to close');
    expect(await client.commands()).toEqual([]);
  });

  it('followCommands: every command handled and acknowledged once, through push, fetch and ack', async () => {
    const { client, id } = await readyTerminal(merchantA);
    const handled: string[] = [];
    const loop = client.followCommands((command) => {
      handled.push(command.id);
      return { handledBy: 'test' };
    });
    pushes.push(loop);
    const nowUs = Date.now() * 1000;
    const first = await h.terminals.commands.enqueue([
      { terminal_id: id, kind: 'message', payload: { n: 1 }, expires_at: nowUs + 600e6 },
      { terminal_id: id, kind: 'message', payload: { n: 2 }, expires_at: nowUs + 600e6 },
    ]);
    await until(() => handled.length >= 2, 'the first two commands');
    const [third] = await h.terminals.commands.enqueue([{ terminal_id: id, kind: 'message', payload: { n: 3 }, expires_at: nowUs + 600e6 }]);
    await until(() => handled.length >= 3, 'the third command');
    await until(async () => (await h.terminals.commands.list(id, { status: 'acked' })).length === 3, 'three acknowledgements');
    loop.close();
    await loop.done;
    expect(handled).toEqual([...first, third]);
    expect((await h.terminals.commands.get(id, third!))?.result).toEqual({ handledBy: 'test' });
  });

  it('commands: expired never delivered, not_before respected, only the terminal’s own', async () => {
    const { client, id } = await readyTerminal(merchantA);
    const other = await readyTerminal(merchantB);
    const nowUs = Date.now() * 1000;
    const [expiring, held, plain] = await h.terminals.commands.enqueue([
      { terminal_id: id, kind: 'message', payload: { n: 1 }, expires_at: nowUs + 60e6 },
      { terminal_id: id, kind: 'parameters', payload: { n: 2 }, expires_at: nowUs + 7200e6, not_before: nowUs + 3600e6 },
      { terminal_id: id, kind: 'message', payload: { n: 3 }, expires_at: nowUs + 60e6 },
    ]);
    await db.updateTable('terminal_commands').set({ expires_at: nowUs - 1 }).where('id', '=', expiring!).execute();
    expect((await client.commands()).map((c) => c.id)).toEqual([plain]);
    // The held command comes once its time has come.
    await db.updateTable('terminal_commands').set({ not_before: nowUs - 1 }).where('id', '=', held!).execute();
    expect((await client.commands()).map((c) => c.id)).toEqual([held, plain]);
    // The expired one was marked so, and acknowledging it changes nothing.
    expect(await client.ack(expiring!)).toMatchObject({ status: 'expired', ackedAt: null });
    // Another terminal's command is not found, and stays pending.
    expect(await codeOf(other.client.ack(plain!))).toBe('not_found');
    expect(await codeOf(other.client.ack('no-such-command'))).toBe('not_found');
    expect((await client.commands()).map((c) => c.id)).toEqual([held, plain]);
    expect(await h.terminals.expireCommands()).toBe(0);
  });

  it('enqueue of many commands (made a chunk at a time): all in order, or none when one is bad', async () => {
    const { id } = await readyTerminal(merchantA);
    const nowUs = Date.now() * 1000;
    const many = Array.from({ length: 1201 }, (_, n) => ({ terminal_id: id, kind: 'message' as const, payload: { n }, expires_at: nowUs + 600e6 }));
    // The bad one in the last chunk: the chunks before it are already inserted when it is found.
    await expect(h.terminals.commands.enqueue([...many.slice(0, 1200), { ...many[1200]!, expires_at: nowUs - 1 }])).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await db.selectFrom('terminal_commands').select('id').where('terminal_id', '=', id).execute()).toEqual([]);
    const ids = await h.terminals.commands.enqueue(many);
    const stored = await db.selectFrom('terminal_commands').select(['id', 'payload']).where('terminal_id', '=', id).orderBy('seq').execute();
    expect(stored.map((r) => r.id)).toEqual(ids);
    expect(stored.map((r) => (JSON.parse(r.payload) as { n: number }).n)).toEqual(many.map((m) => m.payload.n));
  });

  it('staff command routes follow scope, cancel only pending commands and are audited', async () => {
    const { client, id } = await readyTerminal(merchantA);
    const ownUser = await h.userToken('merchant_owner', h.bankId, merchantA);
    const otherUser = await h.userToken('merchant_owner', h.bankId, merchantB);
    const branch = await staff('POST', '/organisations', { parent_id: h.bankId, kind: 'branch', code: `BR-${dialect}`, name: '城阳支行' });
    expect(branch.status).toBe(201);
    const branchStaff = await h.userToken('branch_staff', branch.body.id as string);

    const sent = await staff('POST', `/terminals/${id}/commands`, { kind: 'message', message: { zh: '测试', en: 'Test' }, expires_in_s: 600 });
    expect(sent.status).toBe(201);
    expect((await staff('GET', `/terminals/${id}/commands`, undefined, ownUser)).body.items).toHaveLength(1);
    expect((await staff('GET', `/terminals/${id}/commands`, undefined, otherUser)).status).toBe(404);
    expect((await staff('GET', `/terminals/${id}/commands`, undefined, branchStaff)).status).toBe(404);
    expect((await staff('POST', `/terminals/${id}/commands`, { kind: 'message', message: { zh: 'x', en: 'x' }, expires_in_s: 600 }, ownUser)).status).toBe(403);
    expect((await staff('POST', `/terminals/${id}/commands`, { kind: 'lock', message: { zh: 'x', en: 'x' }, expires_in_s: 600 })).status).toBe(400);

    const cancelled = await staff('DELETE', `/terminals/${id}/commands/${sent.body.id}`);
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect(await client.commands()).toEqual([]);
    expect(await client.ack(sent.body.id as string)).toMatchObject({ status: 'cancelled' });
    expect((await staff('DELETE', `/terminals/${id}/commands/${sent.body.id}`)).body.error.code).toBe('terminal_command_not_pending');
    expect((await staff('DELETE', `/terminals/${id}/commands/nope`)).status).toBe(404);
    const audit = await staff('GET', '/audit');
    const actions = audit.body.items.filter((a: { target: string }) => a.target === sent.body.id).map((a: { action: string; outcome: string }) => `${a.action}:${a.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['terminal_command.create:ok', 'terminal_command.cancel:ok', 'terminal_command.cancel:failed:409']));
  });

  it('bad input gets typed errors, never a 500', async () => {
    const { client, id, device } = await readyTerminal(merchantA);
    const post = async (url: string, payload: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
    };
    const key43 = 'A'.repeat(43);
    expect(await post('/api/v1/terminal/activate', { code: 'x', serial: 'y', publicKey: 'A'.repeat(42) + 'B' })).toMatchObject({ status: 400 });
    expect(await post('/api/v1/terminal/activate', '{"code":')).toMatchObject({ status: 400, code: 'malformed_json' });
    expect(await post('/api/v1/terminal/activate', { code: 'x', serial: 'y', publicKey: key43, extra: 1 })).toMatchObject({ status: 400, code: 'validation_failed' });
    // An all-zero X25519 key (small order: no shared secret) and a garbage signature.
    const zero = 'A'.repeat(43);
    const ts = Date.now();
    expect(await post('/api/v1/terminal/sign-on', { terminalId: id, timestamp: ts, ephemeralPublicKey: zero, signature: 'A'.repeat(86) })).toMatchObject({ status: 401, code: 'terminal_signature_invalid' });
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, device.keyPair.privateKey, new TextEncoder().encode(`XW1-SIGNON\n${id}\n${ts}\n${zero}`)));
    expect(await post('/api/v1/terminal/sign-on', { terminalId: id, timestamp: ts, ephemeralPublicKey: zero, signature: Buffer.from(signature).toString('base64url') })).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(await post('/api/v1/terminal/sign-on', { terminalId: id, timestamp: 1e20, ephemeralPublicKey: zero, signature: 'A'.repeat(86) })).toMatchObject({ status: 401, code: 'terminal_request_stale' });
    // Signed requests with bad bodies: refused after the MAC check, as validation errors.
    expect(await codeOf(client.request('POST', '/api/v1/terminal/commands/x/ack', { result: 'not an object' }))).toBe('validation_failed');
    expect(await codeOf(client.request('POST', '/api/v1/terminal/heartbeat'))).toBe('validation_failed');
    expect(await codeOf(client.request('POST', '/api/v1/terminal/operator/sign-on', { operatorNo: '100', password: 'x' }))).toBe('validation_failed');
    expect(await codeOf(client.request('GET', '/api/v1/terminal/commands?limit=0'))).toBe('validation_failed');
    const long = await client.prepare('GET', '/api/v1/terminal/echo');
    const headers = { ...(long.init.headers as Record<string, string>), 'x-terminal-session': 'x'.repeat(100), 'x-terminal-operator': '\u00ff' };
    const res = await fetch(long.url, { ...long.init, headers });
    expect(res.status).toBe(401);
    // Still works afterwards.
    expect(await client.echo()).toMatchObject({ terminalId: id });
  });

  // Last: it spends this address's activation allowance.
  it('throttles activation guessing from one address', async () => {
    const { serial } = await newTerminal(merchantA);
    const device = await generateDeviceKey();
    const client = new TerminalClient({ baseUrl: base });
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push(await codeOf(client.activate(`ZZZZ-ZZ${'23456789ABCD'[i]}Z`, serial, device)));
    expect(codes).toContain('rate_limited');
    expect(codes.slice(0, 4).every((c) => c === 'terminal_activation_invalid')).toBe(true);
  });
});
