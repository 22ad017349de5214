/**
 * Fixtures shared by the fleet's HTTP tests (not a test itself): two branches, merchants in each,
 * users of every role that matters, and helpers that do through the database what the protocol
 * part would do (bind a device, record a heartbeat) so fleet tests need not speak the protocol.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { ERRORS, type ErrorCode } from '../../platform/errors.js';
import { auth, type Harness } from '../../../test/harness.js';
import type { FleetTables } from '../fleet-tables.js';

export interface FleetWorld {
  branchA: string;
  branchB: string;
  /** A service point under branch A. */
  pointA: string;
  merchantA: string;
  merchantA2: string;
  /** An agent party at the service point under branch A. */
  agentA: string;
  merchantB: string;
  /** A customer (no owner role) in branch A. */
  customerA: string;
  tokens: { admin: string; staffA: string; staffB: string; auditor: string; ownerA: string; ownerB: string };
}

let worldCounter = 0;

interface Reply {
  statusCode: number;
  body: string;
  json<T = unknown>(): T;
}

async function post(h: Harness, token: string, url: string, payload: object): Promise<Reply> {
  return h.app.inject({ method: 'POST', url, headers: auth(token), payload });
}

async function created(h: Harness, token: string, url: string, payload: object): Promise<string> {
  const res = await post(h, token, url, payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

export async function buildWorld(h: Harness): Promise<FleetWorld> {
  const n = ++worldCounter;
  const admin = h.adminToken;
  const branchA = await created(h, admin, '/api/v1/organisations', {
    parent_id: h.bankId,
    kind: 'branch',
    code: `FA${n}`,
    name: '城阳支行',
  });
  const branchB = await created(h, admin, '/api/v1/organisations', {
    parent_id: h.bankId,
    kind: 'branch',
    code: `FB${n}`,
    name: '胶州支行',
  });
  const pointA = await created(h, admin, '/api/v1/organisations', {
    parent_id: branchA,
    kind: 'service_point',
    code: `FP${n}`,
    name: '上马服务点',
  });
  const party = (name: string, roles: string[], org_id: string) =>
    created(h, admin, '/api/v1/parties', { kind: 'business', name, roles, org_id });
  const merchantA = await party('城阳便利店', ['merchant'], branchA);
  const merchantA2 = await party('上马超市', ['merchant', 'customer'], branchA);
  const agentA = await party('上马代理点', ['agent'], pointA);
  const merchantB = await party('胶州农资店', ['merchant'], branchB);
  const customerA = await party('王小明', ['customer'], branchA);
  return {
    branchA,
    branchB,
    pointA,
    merchantA,
    merchantA2,
    agentA,
    merchantB,
    customerA,
    tokens: {
      admin,
      staffA: await h.userToken('branch_staff', branchA),
      staffB: await h.userToken('branch_staff', branchB),
      auditor: await h.userToken('auditor', h.bankId),
      ownerA: await h.userToken('merchant_owner', branchA, merchantA),
      ownerB: await h.userToken('merchant_owner', branchB, merchantB),
    },
  };
}

let serialCounter = 0;
/** A fresh serial, unique within the test process. */
export function serial(prefix = 'XW'): string {
  return `${prefix}${String(process.pid % 10_000).padStart(4, '0')}${String(++serialCounter).padStart(6, '0')}`;
}

export async function newTerminal(
  h: Harness,
  token: string,
  owner: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; serial: string }> {
  const res = await post(h, token, '/api/v1/terminals', {
    serial: serial(),
    model: 'Sunmi P2',
    kind: 'smart_pos',
    owner_party_id: owner,
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; serial: string }>();
}

export function fleetDb(h: Harness): Kysely<FleetTables> {
  return h.tdb.database.kysely as Kysely<FleetTables>;
}

/** What the protocol part's activation does to the record: a device key bound, status active. */
export async function bindDevice(h: Harness, terminalId: string, now = Date.now() * 1000): Promise<void> {
  await fleetDb(h)
    .updateTable('terminals')
    .set({ status: 'active', device_public_key: 'test-device-key', activated_at: now })
    .where('id', '=', terminalId)
    .execute();
}

export async function commandsOf(
  h: Harness,
  terminalId: string,
): Promise<{ kind: string; payload: Record<string, unknown>; expires_at: number }[]> {
  const rows = await fleetDb(h)
    .selectFrom('terminal_commands')
    .select(['kind', 'payload', 'expires_at', 'created_at', 'id'])
    .where('terminal_id', '=', terminalId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ kind: r.kind, payload: JSON.parse(r.payload) as Record<string, unknown>, expires_at: Number(r.expires_at) }));
}

/** A typed error: registered code and status, both languages, never a 500. */
export function expectError(res: Reply, code: ErrorCode): void {
  expect(res.statusCode, res.body).toBe(ERRORS[code].status);
  const body = res.json<{ error: { code: string; messages: Record<string, string> } }>();
  expect(body.error.code, res.body).toBe(code);
  expect(body.error.messages['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
  expect(body.error.messages.en).toMatch(/[A-Za-z]{3}/);
}
