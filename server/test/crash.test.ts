/**
 * Exactly once across a crash (DESIGN.md rule 3: nothing acknowledged is ever lost): a real
 * server process takes concurrent HTTP transfers, is killed with SIGKILL in the middle of the
 * load, and is started again on the same database. Every acknowledged transfer must be there
 * exactly once, every retry (acknowledged or not) must be answered as a replay or committed
 * now — never twice — and the ledger must verify. On SQLite (the db in XIAOWEI_DATA_DIR) and
 * PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../src/ledger/index.js';
import type { Database } from '../src/platform/db/database.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from './dialects.js';
import { adminToken, call, openServerDatabase, pool } from './support/http-client.js';
import { killAll, newMasterKey, startServer, type ServerProcess } from './support/spawn-server.js';

const options = { XIAOWEI_COMMIT_MAX_BATCH: 8190, XIAOWEI_COMMIT_MAX_WAIT_MS: 0, XIAOWEI_COMMIT_MAX_QUEUE: 100_000, XIAOWEI_PENDING_SWEEP_MS: 3_600_000 };
const IN_FLIGHT = 64;
/** Kill once this many transfers were acknowledged and about a second has passed. */
const MIN_ACKED_BEFORE_KILL = 100;
const LOAD_BEFORE_KILL_MS = 1_000;
const MAX_REQUESTS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('kill -9 under load on %s', (dialect) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `xiaowei-crash-${dialect}-`));
  const masterKey = newMasterKey();
  let tdb: TestDatabase | undefined;
  let databaseUrl: string | undefined;
  let server: ServerProcess;
  let token: string;
  let accountId: string;

  /** The database the server uses, opened in this process for checks (SQLite: while it runs, WAL). */
  const withDatabase = async <T,>(task: (db: Database) => Promise<T>): Promise<T> => {
    if (tdb) return task(tdb.database);
    const db = openServerDatabase(undefined, dataDir);
    try {
      return await task(db);
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    if (dialect === 'postgres') {
      tdb = await createTestDatabase('postgres');
      databaseUrl = tdb.url;
    }
    server = await startServer({ databaseUrl, dataDir, masterKey });
    const password = (await server.waitForOutput(/password 密码:\s+(\S+)/))?.[1];
    expect(password, server.stdout()).toBeTruthy();
    token = await withDatabase((db) => adminToken(server.url, db, masterKey, password!));
    const bank = (await call(server.url, 'GET', '/api/v1/organisations', { token })).body[0].id as string;
    const party = await call(server.url, 'POST', '/api/v1/parties', { token, body: { kind: 'person', name: '断电测试', roles: ['customer'], org_id: bank } });
    expect(party.status, party.text).toBe(201);
    const open = await call(server.url, 'POST', '/api/v1/accounts', { token, body: { code: 2001, owner_id: party.body.id } });
    expect(open.status, open.text).toBe(201);
    accountId = open.body.id;
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await tdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged transfer exactly once and applies each retry at most once', async () => {
    const keyOf = (i: number): string => `crash-${dialect}-${String(i).padStart(7, '0')}`;
    const amountOf = (i: number): number => 1 + (i % 97);
    const bodyOf = (i: number) => ({ debit_account_id: 'bank:cash', credit_account_id: accountId, amount: amountOf(i), code: 2 });
    const acked = new Set<number>();
    const unknown = new Set<number>();
    const refused: string[] = [];
    let next = 0;
    let stop = false;
    const before = server;

    const worker = async (): Promise<void> => {
      while (!stop && next < MAX_REQUESTS) {
        const i = next++;
        try {
          const res = await call(before.url, 'POST', '/api/v1/transfers', { token, body: bodyOf(i), headers: { 'idempotency-key': keyOf(i) } });
          if (res.status === 201 || res.status === 200) acked.add(i);
          else if (before.exited()) unknown.add(i);
          else refused.push(`${keyOf(i)}: ${res.status} ${res.text}`);
        } catch {
          unknown.add(i); // the connection died with the process: outcome unknown
        }
      }
    };
    const started = Date.now();
    const workers = Array.from({ length: IN_FLIGHT }, worker);
    while ((acked.size < MIN_ACKED_BEFORE_KILL || Date.now() - started < LOAD_BEFORE_KILL_MS) && next < MAX_REQUESTS && !before.exited()) await sleep(20);
    const inFlightAtKill = next - acked.size - unknown.size - refused.length;
    stop = true; // workers finish what they have in flight and take nothing new
    process.kill(before.pid, 'SIGKILL');
    await before.exit;
    await Promise.all(workers);
    expect(refused).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(MIN_ACKED_BEFORE_KILL);
    expect(inFlightAtKill, 'requests were in flight when the process was killed').toBeGreaterThan(0);

    // Start again on the same database; the session is in the database and still valid.
    server = await startServer({ databaseUrl, dataDir, masterKey });

    // Every acknowledged transfer is there, with its amount.
    const missing: string[] = [];
    await pool([...acked], 16, async (i) => {
      const res = await call(server.url, 'GET', `/api/v1/transfers/${keyOf(i)}`, { token });
      if (res.status !== 200 || res.body.amount !== amountOf(i) || res.body.credit_account_id !== accountId) missing.push(`${keyOf(i)}: ${res.status} ${res.text}`);
    });
    expect(missing).toEqual([]);

    // Retrying every key with the same body: a replay for what committed, a first commit for the rest.
    const all = [...acked, ...unknown].sort((a, b) => a - b);
    const wrong: string[] = [];
    let committedNow = 0;
    await pool(all, 32, async (i) => {
      const res = await call(server.url, 'POST', '/api/v1/transfers', { token, body: bodyOf(i), headers: { 'idempotency-key': keyOf(i) } });
      if (res.status === 201 && !acked.has(i)) committedNow++;
      else if (!(res.status === 200 && res.body.replayed === true)) wrong.push(`${keyOf(i)} (${acked.has(i) ? 'acknowledged' : 'unknown'}): ${res.status} ${res.text}`);
    });
    expect(wrong).toEqual([]);

    // Each key exactly once in the journal; the balance is the sum of them all; the ledger verifies.
    await withDatabase(async (db) => {
      const rows = (await db.kysely.selectFrom('ledger_transfers').select(['id', 'amount']).where('id', 'like', `crash-${dialect}-%`).execute()) as { id: string; amount: unknown }[];
      const ids = rows.map((r) => r.id).sort();
      expect(ids).toEqual(all.map(keyOf));
      const ledger = createLedger(db, options);
      try {
        const [account] = await ledger.lookupAccounts([accountId]);
        expect(account!.credits_posted).toBe(all.reduce((sum, i) => sum + amountOf(i), 0));
      } finally {
        await ledger.drain();
      }
    });
    expect(committedNow).toBeLessThanOrEqual(unknown.size);
    if (process.env.XIAOWEI_CRASH_STATS) console.log(dialect, { acked: acked.size, unknown: unknown.size, committedNow, committedButUnacknowledged: unknown.size - committedNow });

    // Stop cleanly, then check the whole ledger from scratch.
    await server.kill('SIGTERM');
    expect(await server.exit).toMatchObject({ code: 0 });
    await withDatabase(async (db) => {
      const ledger = createLedger(db, options);
      try {
        const report = await ledger.verify();
        expect(report, report.problem).toMatchObject({ ok: true });
        expect(report.transfers).toBeGreaterThanOrEqual(all.length);
      } finally {
        await ledger.drain();
      }
    });
  }, 120_000);
});
