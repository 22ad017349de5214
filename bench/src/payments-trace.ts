/**
 * Where a card sale's time goes on SQLite, statement by statement: an in-process server on a
 * temporary database (the real app, the real terminal protocol over a socket), every
 * better-sqlite3 statement timed (they run synchronously on the event loop, so their time is time
 * no other request is served), then N sales from T terminals. Prints, per SQL text, how often it
 * runs per sale and its mean cost, and the share of the sale's server time that is SQLite.
 *
 *   npx tsx bench/src/payments-trace.ts [sales=2000] [terminals=16] [cards=32]
 *
 * With the three risk rules of bench:payments active (none trips).
 */
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { buildApp } from '../../server/src/app.js';
import { currentTotp, setTotpSecret } from '../../server/src/identity/sessions.js';
import type { IdentityTables } from '../../server/src/identity/tables.js';
import { createLedger } from '../../server/src/ledger/index.js';
import { makePinBlock } from '../../server/src/payments/card-access.js';
import type { TxnReply } from '../../server/src/payments/contracts.js';
import { setupPaymentsWorld } from '../../server/src/payments/test-support.js';
import { loadConfig } from '../../server/src/platform/config.js';
import { openDatabase } from '../../server/src/platform/db/database.js';
import { migrate } from '../../server/src/platform/db/migrations.js';
import { Secrets } from '../../server/src/platform/secrets.js';
import { bootstrap } from '../../server/src/seed/bootstrap.js';

const SALES = Number(process.argv[2] ?? 2000);
const TERMINALS = Number(process.argv[3] ?? 16);
const CUSTOMERS = Number(process.argv[4] ?? 32);

const timings = new Map<string, { n: number; ns: bigint }>();
let tracing = false;
const wrapStatementPrototype = (statement: object): void => {
  const proto = Object.getPrototypeOf(statement) as Record<string, unknown>;
  if (proto.__traced) return;
  proto.__traced = true;
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      if (!tracing) return original.apply(this, args);
      const t0 = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const key = this.source.replace(/\s+/g, ' ').slice(0, 150);
        const e = timings.get(key) ?? { n: 0, ns: 0n };
        e.n++;
        e.ns += process.hrtime.bigint() - t0;
        timings.set(key, e);
      }
    };
  }
};
const dbProto = BetterSqlite3.prototype as unknown as { prepare: (sql: string) => object };
const prepare = dbProto.prepare;
dbProto.prepare = function (this: unknown, sqlText: string) {
  const statement = prepare.call(this, sqlText);
  wrapStatementPrototype(statement);
  return statement;
};

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-pay-trace-'));
const masterKey = 'ab'.repeat(32);
try {
  const database = openDatabase({ url: `sqlite:${path.join(dataDir, 'xiaowei.db')}` });
  await migrate(database);
  const config = loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent', XIAOWEI_MASTER_KEY: masterKey });
  const secrets = Secrets.load({ hexKey: masterKey, dataDir });
  const db = database.kysely as Kysely<IdentityTables>;
  const ledger = createLedger(database, config);
  const { bankId } = await bootstrap(db, ledger);
  await ledger.drain();
  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  const { hashPassword } = await import('../../server/src/identity/passwords.js');
  await db.updateTable('users').set({ password_hash: await hashPassword('Admin-pass-2026') }).where('id', '=', admin.id).execute();
  const totp = await setTotpSecret({ db, secrets }, admin.id);
  const built = await buildApp({ config, database, secrets, logger: false, webDist: null });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const login = await built.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'Admin-pass-2026', totp: currentTotp(totp) } });
  const world = await setupPaymentsWorld(
    { app: built.app, db, secrets, bankId, adminToken: login.json<{ token: string }>().token, payments: built.payments },
    { customers: CUSTOMERS, balance: 100_000_000, cardLimits: { per_txn_limit: 5_000_000, daily_limit: 100_000_000 } },
  );
  while (world.terminals.length < TERMINALS) await world.addTerminal();
  // The risk rules of bench:payments (active, never tripped by this load).
  const quiet = (new Date(Date.now() + 8 * 3_600_000).getUTCHours() + 6) % 24;
  for (const rule of [
    { kind: 'amount_limit', name: 'Single sale above ¥50,000', outcome: 'decline', params: { scope: 'card', max_amount: 5_000_000 } },
    { kind: 'velocity', name: 'Card testing', outcome: 'decline', params: { scope: 'card', max_count: 600, window_minutes: 1 } },
    { kind: 'time_window', name: 'Night window', outcome: 'decline', params: { from: `${String(quiet).padStart(2, '0')}:00`, to: `${String((quiet + 2) % 24).padStart(2, '0')}:00` } },
  ]) {
    const made = await built.app.inject({ method: 'POST', url: '/api/v1/risk/rules', headers: { authorization: `Bearer ${login.json<{ token: string }>().token}` }, payload: { org_id: bankId, mode: 'active', ...rule } });
    if (made.statusCode >= 300) throw new Error(`risk rule ${rule.kind}: ${made.body}`);
  }
  const blocks = new Map<string, string>();
  for (const t of world.terminals) {
    const key = await t.pinKeyHex();
    for (const c of world.customers) blocks.set(`${t.id}:${c.card.pan}`, makePinBlock(c.card.pin, c.card.pan, key));
  }
  // Warm up, then trace.
  const run = async (count: number, tag: string): Promise<number> => {
    let next = 0;
    let approved = 0;
    await Promise.all(
      world.terminals.map(async (t) => {
        for (let i = next++; i < count; i = next++) {
          const c = world.customers[i % world.customers.length]!;
          const reply = await t.client.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', {
            clientId: `${tag}-${i}`,
            amount: 100 + (i % 5000),
            card: { pan: c.card.pan, expiry: c.card.expiry },
            pinBlock: blocks.get(`${t.id}:${c.card.pan}`)!,
          });
          if (reply.approved) approved++;
        }
      }),
    );
    return approved;
  };
  await run(200, 'warm');
  tracing = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const approved = await run(SALES, 'trace');
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  tracing = false;
  const rows = [...timings].map(([sql, e]) => ({ sql, perSale: e.n / SALES, meanUs: Number(e.ns) / e.n / 1000, usPerSale: Number(e.ns) / 1000 / SALES })).sort((a, b) => b.usPerSale - a.usPerSale);
  const sqliteUs = rows.reduce((a, r) => a + r.usPerSale, 0);
  console.log(`${SALES} sales from ${TERMINALS} terminals in ${(wallMs / 1000).toFixed(1)} s (${Math.round(SALES / (wallMs / 1000))}/s), ${approved} approved`);
  console.log(`process CPU (server + the terminal clients in this process): ${Math.round((cpu.user + cpu.system) / SALES)} µs/sale; synchronous SQLite: ${Math.round(sqliteUs)} µs/sale`);
  console.log('\n   µs/sale  runs/sale  mean µs  statement');
  for (const r of rows.slice(0, 30)) console.log(`${r.usPerSale.toFixed(1).padStart(10)} ${r.perSale.toFixed(2).padStart(10)} ${r.meanUs.toFixed(1).padStart(8)}  ${r.sql}`);
  await built.app.close();
  await database.close();
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
