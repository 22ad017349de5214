/**
 * Bad input to every fleet endpoint (DESIGN.md rule 5): each case gets a typed 4xx whose code is in
 * the registry with its registered status and a message in zh-CN and en — never a 500 — and
 * changes nothing in the fleet's tables or the command queue.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../platform/errors.js';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { bindDevice, buildWorld, fleetDb, newTerminal, type FleetWorld } from './test-support/fleet-testkit.js';

const T = '@TERMINAL@';
const G = '@GROUP@';
const M = '@MERCHANT@';
const B = '@BRANCH@';

interface Case {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  code: ErrorCode;
}

const c = (
  method: Case['method'],
  url: string,
  payload: unknown,
  code: ErrorCode = 'validation_failed',
  headers?: Record<string, string>,
): Case => ({ method, url, payload, code, headers });

const newTerminalBody = { serial: 'BADINPUT0001', model: 'Sunmi P2', kind: 'smart_pos', owner_party_id: M };

const CASES: Case[] = [
  // POST /terminals
  c('POST', '/terminals', { ...newTerminalBody, colour: 'red' }),
  c('POST', '/terminals', { ...newTerminalBody, status: 'active' }),
  c('POST', '/terminals', { ...newTerminalBody, org_id: B }),
  c('POST', '/terminals', { ...newTerminalBody, device_public_key: 'x' }),
  c('POST', '/terminals', { ...newTerminalBody, kind: 'fridge' }),
  c('POST', '/terminals', { ...newTerminalBody, kind: 1 }),
  c('POST', '/terminals', { ...newTerminalBody, serial: 12345678 }),
  c('POST', '/terminals', { ...newTerminalBody, serial: 'AB' }),
  c('POST', '/terminals', { ...newTerminalBody, serial: 'BAD SERIAL' }),
  c('POST', '/terminals', { ...newTerminalBody, serial: 'X'.repeat(41) }),
  c('POST', '/terminals', { ...newTerminalBody, serial: 'NUL\u0000SERIAL' }),
  c('POST', '/terminals', { ...newTerminalBody, model: '' }),
  c('POST', '/terminals', { ...newTerminalBody, model: 'm'.repeat(65) }),
  c('POST', '/terminals', { ...newTerminalBody, model: 'bad\ud800' }),
  c('POST', '/terminals', { serial: 'BADINPUT0002', model: 'x', kind: 'phone' }),
  c('POST', '/terminals', { ...newTerminalBody, lat_e6: 36.5, lng_e6: 120_000_000 }),
  c('POST', '/terminals', { ...newTerminalBody, lat_e6: '36000000', lng_e6: 120_000_000 }),
  c('POST', '/terminals', { ...newTerminalBody, lat_e6: 90_000_001, lng_e6: 120_000_000 }),
  c('POST', '/terminals', { ...newTerminalBody, lat_e6: 1_000_000, lng_e6: null }),
  c('POST', '/terminals', { ...newTerminalBody, region_code: 370202 }),
  c('POST', '/terminals', { ...newTerminalBody, region_code: '37a' }),
  c('POST', '/terminals', { ...newTerminalBody, region_code: '370299' }, 'terminal_region_unknown'),
  c('POST', '/terminals', { ...newTerminalBody, tags: 'vip' }),
  c('POST', '/terminals', { ...newTerminalBody, tags: ['"quoted"'] }),
  c('POST', '/terminals', { ...newTerminalBody, tags: ['a b'] }),
  c('POST', '/terminals', { ...newTerminalBody, tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }),
  c('POST', '/terminals', { ...newTerminalBody, owner_party_id: 'no-such-party' }, 'terminal_owner_invalid'),
  c('POST', '/terminals', [newTerminalBody]),
  c('POST', '/terminals', null),
  c('POST', '/terminals', '{"serial": "BADINPUT0003",', 'malformed_json'),
  c('POST', '/terminals', 'serial=BADINPUT0004', 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }),
  // PATCH /terminals/:id
  c('PATCH', `/terminals/${T}`, {}),
  c('PATCH', `/terminals/${T}`, { status: 'retired' }),
  c('PATCH', `/terminals/${T}`, { org_id: B }),
  c('PATCH', `/terminals/${T}`, { model: 5 }),
  c('PATCH', `/terminals/${T}`, { lat_e6: 1 }),
  c('PATCH', `/terminals/${T}`, { params: { txn_limit_fen: 1 } }),
  c('PATCH', '/terminals/bad%20id', { model: 'x' }),
  c('PATCH', '/terminals/no-such-terminal', { model: 'x' }, 'not_found'),
  // PUT /terminals/:id/params
  c('PUT', `/terminals/${T}/params`, { txn_limit_fen: 0 }),
  c('PUT', `/terminals/${T}/params`, { txn_limit_fen: -5 }),
  c('PUT', `/terminals/${T}/params`, '{"txn_limit_fen":9007199254740993}'),
  c('PUT', `/terminals/${T}/params`, '{"txn_limit_fen":1e400}'),
  c('PUT', `/terminals/${T}/params`, '{"txn_limit_fen":100.5e0}'),
  c('PUT', `/terminals/${T}/params`, { heartbeat_interval_s: 3601 }),
  c('PUT', `/terminals/${T}/params`, { idle_timeout_s: true }),
  c('PUT', `/terminals/${T}/params`, { receipt_header_zh: ['a'] }),
  c('PUT', `/terminals/${T}/params`, { master_key: '0123456789ABCDEF' }),
  c('PUT', `/terminals/${T}/params`, []),
  c('PUT', `/terminals/${T}/params`, 'null', 'validation_failed'),
  // status changes
  c('POST', `/terminals/${T}/lock`, { reason: '' }),
  c('POST', `/terminals/${T}/lock`, { reason: 'r'.repeat(201) }),
  c('POST', `/terminals/${T}/lock`, { reason: 'x', force: true }),
  c('POST', `/terminals/${T}/retire`, { reason: 42 }),
  c('POST', `/terminals/${T}/unlock`, {}, 'terminal_status_conflict'),
  c('POST', `/terminals/${T}/explode`, {}, 'route_not_found'),
  // activation codes
  c('POST', `/terminals/${T}/activation-codes`, { expires_in_s: 1 }),
  c('POST', `/terminals/${T}/activation-codes`, { expires_in_s: 3600.5 }),
  c('POST', `/terminals/${T}/activation-codes`, { code: 'ABCDEFGH' }),
  // import
  c('POST', '/terminals/import', { csv: '' }),
  c('POST', '/terminals/import', { csv: 5 }),
  c('POST', '/terminals/import', { csv: 'serial,model,kind,owner_party_id', dry_run: 'yes' }),
  c('POST', '/terminals/import', { csv: 'serial,model,kind,owner_party_id', mode: 'upsert' }),
  c('POST', '/terminals/import', { csv: 'serial;model;kind;owner_party_id\n' }, 'terminal_import_invalid'),
  // reads
  c('GET', '/terminals?status=lost', undefined),
  c('GET', '/terminals?limit=0', undefined),
  c('GET', '/terminals?limit=501', undefined),
  c('GET', '/terminals?offset=-1', undefined),
  c('GET', '/terminals?online=maybe', undefined),
  c('GET', '/terminals?region=abc', undefined),
  c('GET', '/terminals?tag=a%20b', undefined),
  c('GET', '/terminals?colour=red', undefined),
  c('GET', '/terminals?search=' + 'x'.repeat(41), undefined),
  c('GET', `/terminals/${T}/heartbeats?limit=0`, undefined),
  c('GET', `/terminals/${T}/heartbeats?limit=abc`, undefined),
  c('GET', `/terminals/${T}/heartbeats?before=-1`, undefined),
  c('GET', '/terminals/no-such-terminal', undefined, 'not_found'),
  c('GET', '/terminal-groups?limit=9999', undefined),
  // groups
  c('POST', '/terminal-groups', { org_id: B, name: '' }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', colour: 'red' }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', maintenance_window: '22:00' }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', maintenance_window: '24:00-01:00' }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', maintenance_window: '01:00-01:00' }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', params: { txn_limit_fen: 0 } }),
  c('POST', '/terminal-groups', { org_id: B, name: 'g', params: { unknown: 1 } }),
  c('POST', '/terminal-groups', { org_id: 'no-such-org', name: 'g' }, 'forbidden'),
  c('PATCH', `/terminal-groups/${G}`, {}),
  c('PATCH', `/terminal-groups/${G}`, { params: {} }),
  c('PATCH', `/terminal-groups/${G}`, { name: '   ' }),
  c('PUT', `/terminal-groups/${G}/params`, { poll_interval_s: 10 }),
  c('POST', `/terminal-groups/${G}/members`, {}),
  c('POST', `/terminal-groups/${G}/members`, { terminal_ids: 'abc' }),
  c('POST', `/terminal-groups/${G}/members`, { terminal_ids: [5] }),
  c('POST', `/terminal-groups/${G}/members`, { terminal_ids: Array.from({ length: 5_001 }, (_, i) => `t${i}`) }),
  c('POST', `/terminal-groups/${G}/members`, { serials: ['bad serial'] }),
  c('POST', `/terminal-groups/${G}/members`, { terminal_ids: ['no-such-terminal'] }, 'terminal_group_member_invalid'),
  c('POST', `/terminal-groups/${G}/members/remove`, { terminal_ids: [T], also: 1 }),
  c('POST', '/terminal-groups/no-such-group/members', { terminal_ids: [T] }, 'not_found'),
];

describe.each(DIALECTS)('fleet bad input on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  let terminalId: string;
  let groupId: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
    terminalId = (await newTerminal(h, w.tokens.staffA, w.merchantA)).id;
    await bindDevice(h, terminalId);
    const g = await h.app.inject({
      method: 'POST',
      url: '/api/v1/terminal-groups',
      headers: auth(w.tokens.staffA),
      payload: { org_id: w.branchA, name: '坏输入' },
    });
    groupId = g.json().id;
  });
  afterAll(async () => h?.close());

  const count = async (
    table: 'terminals' | 'terminal_groups' | 'terminal_group_members' | 'terminal_activation_codes' | 'terminal_commands',
  ) =>
    Number(
      (
        await fleetDb(h)
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const snapshot = async () => ({
    terminals: await fleetDb(h).selectFrom('terminals').selectAll().orderBy('id').execute(),
    groups: await fleetDb(h).selectFrom('terminal_groups').selectAll().orderBy('id').execute(),
    members: await count('terminal_group_members'),
    codes: await count('terminal_activation_codes'),
    commands: await count('terminal_commands'),
  });
  const fill = (text: string) => text.replaceAll(T, terminalId).replaceAll(G, groupId).replaceAll(M, w.merchantA).replaceAll(B, w.branchA);

  it.each(
    CASES.map(
      (k, i) =>
        [
          i,
          `${k.method} ${k.url} ${typeof k.payload === 'string' ? k.payload : (JSON.stringify(k.payload) ?? '')}`.slice(0, 120),
          k,
        ] as const,
    ),
  )('#%i %s', async (_i, _name, k) => {
    const before = await snapshot();
    const o: InjectOptions = { method: k.method, url: `/api/v1${fill(k.url)}`, headers: { ...auth(w.tokens.staffA), ...k.headers } };
    if (typeof k.payload === 'string') {
      o.payload = fill(k.payload);
      o.headers = { 'content-type': 'application/json', ...o.headers };
    } else if (k.payload !== undefined) {
      o.payload = JSON.parse(fill(JSON.stringify(k.payload))) as object;
    }
    const res = await h.app.inject(o);
    expect(res.statusCode, res.body).not.toBe(500);
    expect(res.statusCode, res.body).toBe(ERRORS[k.code].status);
    const body = res.json<{ error: { code: string; messages: Record<string, string> }; request_id: string }>();
    expect(body.error.code, res.body).toBe(k.code);
    expect(body.error.messages['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    expect(body.error.messages.en).toMatch(/[A-Za-z]{3}/);
    expect(body.request_id).toBeTruthy();
    expect(await snapshot(), 'a refused request changes nothing').toEqual(before);
  });
});
