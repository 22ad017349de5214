/**
 * Scale-out (DESIGN.md: several server processes on one PostgreSQL must stay correct): two real
 * server processes on one fresh PostgreSQL database hammer one hot customer deposit account over
 * HTTP. The account must never overdraw, every acknowledged transfer must be in the journal
 * exactly once, every refusal must be `exceeds_credits`, and the ledger must verify.
 * PostgreSQL only: SQLite is one process by design.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../src/ledger/index.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from './dialects.js';
import { adminToken, call, pool } from './support/http-client.js';
import { killAll, newMasterKey, startServer, type ServerProcess } from './support/spawn-server.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };
const PER_PROCESS = 1_500;
const IN_FLIGHT_PER_PROCESS = 24;
const UNIT = 100; // fen per transfer
const FUNDING = 150 * UNIT; // the hot account can pay 150 transfers out of its funding
const INFLOW_EVERY = 10; // every 10th request pays into the hot account

const tmpDirs: string[] = [];
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-mp-'));
  tmpDirs.push(dir);
  return dir;
};

describe.skipIf(!DIALECTS.includes('postgres'))('two server processes on one PostgreSQL', () => {
  afterAll(async () => {
    await killAll();
    for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('a hot account hammered from both processes', () => {
    let tdb: TestDatabase;
    let servers: ServerProcess[] = [];
    let token: string;
    let hot: string;
    let sink: string;

    beforeAll(async () => {
      tdb = await createTestDatabase('postgres');
      const masterKey = newMasterKey();
      // The first process bootstraps (and prints the admin password); the second joins.
      const first = await startServer({ databaseUrl: tdb.url, dataDir: tmp(), masterKey });
      const password = (await first.waitForOutput(/password 密码:\s+(\S+)/))?.[1];
      expect(password, first.stdout()).toBeTruthy();
      const second = await startServer({ databaseUrl: tdb.url, dataDir: tmp(), masterKey });
      servers = [first, second];
      token = await adminToken(first.url, tdb.database, masterKey, password!);

      const bank = (await call(first.url, 'GET', '/api/v1/organisations', { token })).body[0].id as string;
      const party = await call(first.url, 'POST', '/api/v1/parties', { token, body: { kind: 'person', name: '热点账户', roles: ['customer'], org_id: bank } });
      expect(party.status, party.text).toBe(201);
      const open = async () => {
        const res = await call(second.url, 'POST', '/api/v1/accounts', { token, body: { code: 2001, owner_id: party.body.id } });
        expect(res.status, res.text).toBe(201);
        return res.body.id as string;
      };
      hot = await open();
      sink = await open();
      const fund = await call(first.url, 'POST', '/api/v1/transfers', { token, body: { debit_account_id: 'bank:cash', credit_account_id: hot, amount: FUNDING, code: 2 }, headers: { 'idempotency-key': 'mp-funding-000000001' } });
      expect(fund.status, fund.text).toBe(201);
    }, 120_000);

    afterAll(async () => {
      for (const s of servers) await s.kill();
      await tdb?.drop();
    });

    it('never overdraws, journals each acknowledged transfer once and refuses the rest with exceeds_credits', async () => {
      interface Req {
        server: ServerProcess;
        key: string;
        out: boolean;
        status?: number;
        result?: string;
        text?: string;
      }
      const plan: Req[] = [];
      for (const [s, server] of servers.entries()) {
        for (let i = 0; i < PER_PROCESS; i++) plan.push({ server, key: `mp-${s}-${String(i).padStart(6, '0')}-hotkey`, out: i % INFLOW_EVERY !== 0 });
      }
      const outs = plan.filter((r) => r.out).length;
      const ins = plan.length - outs;
      // The test means something only if the outflows could overdraw the account several times.
      expect(outs * UNIT).toBeGreaterThan(3 * (FUNDING + ins * UNIT));

      const send = async (r: Req) => {
        const body = r.out ? { debit_account_id: hot, credit_account_id: sink, amount: UNIT, code: 3 } : { debit_account_id: 'bank:cash', credit_account_id: hot, amount: UNIT, code: 2 };
        const res = await call(r.server.url, 'POST', '/api/v1/transfers', { token, body, headers: { 'idempotency-key': r.key } });
        r.status = res.status;
        r.result = res.body?.error?.data?.result;
        r.text = res.text;
      };
      // Both processes at once, interleaving in and out.
      await Promise.all(servers.map((server) => pool(plan.filter((r) => r.server === server), IN_FLIGHT_PER_PROCESS, send)));

      const unexpected = plan.filter((r) => !(r.status === 201 || (r.out && r.status === 422 && r.result === 'exceeds_credits')));
      expect(unexpected.slice(0, 5).map((r) => `${r.key}: ${r.status} ${r.text}`)).toEqual([]);
      const okOut = plan.filter((r) => r.out && r.status === 201).length;
      const okIn = plan.filter((r) => !r.out && r.status === 201).length;
      expect(okIn).toBe(ins);
      expect(plan.filter((r) => r.status === 422).length).toBeGreaterThan(0);
      expect(okOut * UNIT).toBeLessThanOrEqual(FUNDING + okIn * UNIT);

      // The journal holds exactly the acknowledged transfers, each once.
      const db = tdb.database.kysely;
      const rows = (await db.selectFrom('ledger_transfers').select(['id', 'debit_account_id', 'dr_debits_after', 'dr_credits_after']).where('id', 'like', 'mp-%-hotkey').execute()) as Record<string, unknown>[];
      const journal = rows.map((r) => r.id as string).sort();
      expect(new Set(journal).size).toBe(journal.length);
      expect(journal).toEqual(plan.filter((r) => r.status === 201).map((r) => r.key).sort());

      // The balance, and the balance after every transfer out of the account, never went below zero.
      const ledger = createLedger(tdb.database, options);
      const [account] = await ledger.lookupAccounts([hot]).finally(() => ledger.drain());
      expect(account!.credits_posted - account!.debits_posted).toBe(FUNDING + okIn * UNIT - okOut * UNIT);
      expect(account!.credits_posted - account!.debits_posted).toBeGreaterThanOrEqual(0);
      expect(account!.debits_pending).toBe(0);
      const negative = rows.filter((r) => r.debit_account_id === hot && Number(r.dr_credits_after) - Number(r.dr_debits_after) < 0);
      expect(negative).toEqual([]);

      // Each process answers a retry sent to the other one with the first outcome.
      const sample = plan.filter((_, i) => i % 37 === 0);
      await pool(sample, 8, async (r) => {
        const other = servers.find((s) => s !== r.server)!;
        const body = r.out ? { debit_account_id: hot, credit_account_id: sink, amount: UNIT, code: 3 } : { debit_account_id: 'bank:cash', credit_account_id: hot, amount: UNIT, code: 2 };
        const again = await call(other.url, 'POST', '/api/v1/transfers', { token, body, headers: { 'idempotency-key': r.key } });
        if (r.status === 201) expect({ key: r.key, status: again.status, replayed: again.body?.replayed }).toEqual({ key: r.key, status: 200, replayed: true });
        else expect({ key: r.key, status: again.status, result: again.body?.error?.data?.result }).toEqual({ key: r.key, status: 422, result: 'exceeds_credits' });
      });

      for (const s of servers) {
        const ready = await call(s.url, 'GET', '/readyz');
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({ ok: true, database: 'postgres' });
      }
      const checker = createLedger(tdb.database, options);
      try {
        const report = await checker.verify();
        expect(report, report.problem).toMatchObject({ ok: true });
      } finally {
        await checker.drain();
      }
    }, 120_000);

    it('ends a session in both processes at once when it is signed out through one', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const bank = (await call(a.url, 'GET', '/api/v1/organisations', { token })).body[0].id as string;
      const user = await call(a.url, 'POST', '/api/v1/users', { token, body: { username: 'mp-staff', display_name: 'mp', role: 'branch_staff', org_id: bank, password: 'Passw0rd-mp-1234' } });
      expect(user.status, user.text).toBe(201);
      const login = await call(a.url, 'POST', '/api/v1/auth/login', { body: { username: 'mp-staff', password: 'Passw0rd-mp-1234' } });
      const session = login.body.token as string;
      // Both processes have seen the session in use.
      expect((await call(a.url, 'GET', '/api/v1/auth/me', { token: session })).status).toBe(200);
      expect((await call(b.url, 'GET', '/api/v1/auth/me', { token: session })).status).toBe(200);
      expect((await call(a.url, 'POST', '/api/v1/auth/logout', { token: session })).status).toBe(200);
      // Behind a load balancer the next request may reach either process: both must refuse it.
      const after = await call(b.url, 'GET', '/api/v1/accounts', { token: session });
      expect(after.status, `the other process still accepted the signed-out session: ${after.text}`).toBe(401);
    });

    it('lets a branch created through one process be used through the other at once', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const bank = (await call(b.url, 'GET', '/api/v1/organisations', { token })).body[0].id as string; // b has the admin's scope now
      const branch = await call(a.url, 'POST', '/api/v1/organisations', { token, body: { parent_id: bank, kind: 'branch', code: 'MP-NEW', name: '新支行' } });
      expect(branch.status, branch.text).toBe(201);
      const party = await call(b.url, 'POST', '/api/v1/parties', { token, body: { kind: 'person', name: '新客户', roles: ['customer'], org_id: branch.body.id } });
      expect(party.status, `registering a party in the new branch through the other process: ${party.text}`).toBe(201);
    });
  });

  it('starts two processes at the same moment on an empty database: both come up, one bank, one admin', async () => {
    const tdb = await createTestDatabase('postgres', { migrate: false });
    try {
      const masterKey = newMasterKey();
      const started = await Promise.allSettled([0, 1].map(() => startServer({ databaseUrl: tdb.url, dataDir: tmp(), masterKey })));
      const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        expect(started.map((s) => (s.status === 'rejected' ? String(s.reason).slice(0, 600) : 'ready'))).toEqual(['ready', 'ready']);
        const db = tdb.database.kysely;
        expect(await db.selectFrom('organisations').select('code').execute()).toEqual([{ code: 'QDRCB' }]);
        expect(await db.selectFrom('users').select('username').execute()).toEqual([{ username: 'admin' }]);
        const passwords = servers.map((s) => s.adminPassword()).filter(Boolean);
        expect(passwords).toHaveLength(1);
      } finally {
        for (const s of servers) await s.kill();
      }
    } finally {
      await tdb.drop();
    }
  }, 120_000);
});
