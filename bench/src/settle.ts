/**
 * bench:settle — settlement of a day of 1,000,000 approved sales over 1,000 merchants, timed.
 *
 * Generation (timed separately, not part of the figure): a fresh database (SQLite file by
 * default, PostgreSQL with --pg), the bank bootstrap, MERCHANTS merchant parties enrolled (fee plan
 * 0.38 %, cycle T0, a receivable 2004 and a settlement 2002 account each), as many funded customer
 * deposit accounts, then SALES `pay_transactions` rows of one business date written by one
 * set-based INSERT … SELECT (recursive CTE on SQLite, generate_series on PostgreSQL) and their
 * ledger side through `ledger.createTransfers` in big batches:
 *   --ledger=per-sale   (default on SQLite) exactly what the engine posts: postings.saleTransfers per sale,
 *                       with the sale's transaction id (2,000,000 linked transfers, ~30 s here);
 *   --ledger=aggregate  (default with --pg) postings.saleTransfers once per merchant for the sum of its sales: the
 *                       receivables hold exactly what the million sales would leave in them, with
 *                       2,000 transfers (for quick runs, or a busy machine where 2M transfers
 *                       would not fit the 3-minute budget). Settlement never reads the ledger's
 *                       transfers, so its figure does not depend on the choice.
 * Then `runSettlement` for the date is timed (`settle_1m_s`), the result checked (every merchant
 * settled, Σ net = Σ (amount − fee) of the rows, every receivable back to 0, every row stamped),
 * and a second run is timed (`settle_rerun_s`: the idempotent no-op).
 *
 *   npm run bench:settle
 *   npm run bench:settle -- --pg                  (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 *   npm run bench:settle -- --sales=200000 --merchants=500 --ledger=aggregate --verify
 *   npm run bench:settle -- --pg --generate-only    (keeps the generated database and names it), then
 *   npm run bench:settle -- --pg --from=xw_bench_settle_<pid>   (settles a fresh copy of it: runs to compare, without regenerating)
 *
 * Every --name=value flag can also be given as BENCH_SETTLE_<NAME>. The last line is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import pg from 'pg';
import type { IdentityTables } from '../../server/src/identity/tables.js';
import { LEDGER_CNY, accountType, createLedger, displayBalance, type Ledger, type TransferInput } from '../../server/src/ledger/index.js';
import { feeFor } from '../../server/src/payments/contracts.js';
import { saleTransfers } from '../../server/src/payments/postings.js';
import { runSettlement, type SettlementDb } from '../../server/src/payments/settlement.js';
import { loadConfig } from '../../server/src/platform/config.js';
import { openDatabase, type Database } from '../../server/src/platform/db/database.js';
import { migrate } from '../../server/src/platform/db/migrations.js';
import { BANK_ACCOUNTS, bootstrap } from '../../server/src/seed/bootstrap.js';

function setting(name: string, fallback: string): string {
  const flag = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (flag !== undefined) return flag.includes('=') ? flag.slice(name.length + 3) : 'true';
  const env = process.env[`BENCH_SETTLE_${name.toUpperCase().replace(/-/g, '_')}`];
  return env === undefined || env === '' ? fallback : env;
}
function positive(name: string, fallback: number): number {
  const n = Number(setting(name, String(fallback)));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const PG = setting('pg', 'false') === 'true';
const SETTINGS = {
  sales: positive('sales', 1_000_000),
  merchants: positive('merchants', 1_000),
  pg: PG,
  // PostgreSQL commits ~4× fewer transfers/s than SQLite here: 2M per-sale transfers would not fit 3 minutes.
  ledger: setting('ledger', PG ? 'aggregate' : 'per-sale') as 'per-sale' | 'aggregate',
  verify: setting('verify', 'false') === 'true',
  /** Transfers per createTransfers call, and calls in flight. */
  chunk: positive('chunk', 8_190),
  inflight: positive('inflight', 4),
  /** Keep the database (SQLite file or PostgreSQL database) and stop after generating it. */
  generateOnly: setting('generate-only', 'false') === 'true',
  /** Settle a copy of a database kept by --generate-only (SQLite file, or PostgreSQL database name) instead of generating one. */
  from: setting('from', ''),
};
if (SETTINGS.pg && SETTINGS.from !== '' && !/^[a-z_][a-z0-9_]*$/.test(SETTINGS.from)) throw new Error('--from must be a PostgreSQL database name');
if (SETTINGS.ledger !== 'per-sale' && SETTINGS.ledger !== 'aggregate') throw new Error('--ledger must be per-sale or aggregate');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATE = '2026-09-01';
const RATE = { rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0 };

const secondsSince = (t: number): number => Math.round((performance.now() - t) / 10) / 100;
const log = (line: string): void => console.log(line);

/** The amount of sale n (1-based): the same formula in SQL and here. */
const amountOf = (n: number): number => 100 + ((n * 7919) % 99_900);
const merchantOf = (n: number): number => n % SETTINGS.merchants;

async function openFresh(): Promise<{ database: Database; dialect: 'sqlite' | 'postgres'; cleanup: () => Promise<void> }> {
  if (!SETTINGS.pg) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-settle-'));
    if (SETTINGS.from !== '') fs.copyFileSync(SETTINGS.from, path.join(dir, 'settle.db'));
    const database = openDatabase({ url: `sqlite:${path.join(dir, 'settle.db')}` });
    return { database, dialect: 'sqlite', cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `xw_bench_settle_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  // A copy of a kept database is a file copy on the server (no other session may be connected to it).
  await admin.query(SETTINGS.from === '' ? `create database ${name}` : `create database ${name} template ${SETTINGS.from}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const database = openDatabase({ url: u.toString(), poolSize: 10 });
  return {
    database,
    dialect: 'postgres',
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Submits transfers from a generator in chunks, SETTINGS.inflight calls at a time. */
async function postAll(ledger: Ledger, total: number, make: (i: number) => TransferInput[]): Promise<number> {
  let next = 0;
  let posted = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const batch: TransferInput[] = [];
      while (next < total && batch.length + 2 <= SETTINGS.chunk) batch.push(...make(next++));
      const failed = await ledger.createTransfers(batch);
      if (failed.length > 0) throw new Error(`createTransfers: ${JSON.stringify(failed[0])} (${batch[failed[0]!.index]?.id})`);
      posted += batch.length;
    }
  };
  await Promise.all(Array.from({ length: SETTINGS.inflight }, worker));
  return posted;
}

/** Generates the bank, merchants, accounts, sales rows and their ledger side (see the top comment). */
async function generate(database: Database, ledger: Ledger, dialect: 'sqlite' | 'postgres', sums: { amount: number; fee: number }[]): Promise<{ rowsS: number; ledgerS: number; transfers: number }> {
  const M = SETTINGS.merchants;
  const N = SETTINGS.sales;
  const ids = Array.from({ length: M }, (_, i) => i);
  const idb = database.kysely as Kysely<IdentityTables>;
  const { bankId } = await bootstrap(idb, ledger);
  const db = database.kysely as SettlementDb & Kysely<IdentityTables>;
  const now = Date.now() * 1000;

  // Parties, fee plan, merchants, accounts.
  for (let i = 0; i < M; i += 500) {
    await idb
      .insertInto('parties')
      .values(ids.slice(i, i + 500).map((k) => ({ id: `bench-m-${k}`, kind: 'business', name: `商户${k}`, roles: 'merchant', org_id: bankId, national_id_enc: null, national_id_hmac: null, national_id_last4: null, phone: null, region_code: null, created_at: Date.now() })))
      .execute();
  }
  await db.insertInto('pay_fee_plans').values({ id: 'bench-plan', org_id: bankId, name: 'bench 0.38%', ...RATE, status: 'active', created_at: now, updated_at: now }).execute();
  for (let i = 0; i < M; i += 500) {
    await db
      .insertInto('pay_merchants')
      .values(
        ids.slice(i, i + 500).map((k) => ({
          party_id: `bench-m-${k}`,
          org_id: bankId,
          mcc: '5411',
          fee_plan_id: 'bench-plan',
          receivable_account_id: `bench-m-${k}:recv`,
          settlement_account_id: `bench-m-${k}:settle`,
          settlement_cycle: 'T0' as const,
          status: 'active' as const,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  }
  const acct = (id: string, code: number, owner: string) => ({ id, ledger: LEDGER_CNY, code, flags: accountType(code)!.flags, owner_id: owner, name: null });
  const accounts = ids.flatMap((k) => [acct(`bench-m-${k}:recv`, 2004, `bench-m-${k}`), acct(`bench-m-${k}:settle`, 2002, `bench-m-${k}`), acct(`bench-c-${k}`, 2001, `bench-m-${k}`)]);
  const badAccounts = await ledger.createAccounts(accounts);
  if (badAccounts.length > 0) throw new Error(`accounts: ${JSON.stringify(badAccounts[0])}`);
  await postAll(ledger, M, (k) => [
    { id: `bench-fund-${k}`, debit_account_id: BANK_ACCOUNTS.settlement, credit_account_id: `bench-c-${k}`, amount: 1_000_000_000_000, ledger: LEDGER_CNY, code: 2 },
  ]);

  // The sales rows, set-based.
  const rowsStart = performance.now();
  const select = sql`
    select 'bs' || printf('%08d', n), 'sale', 'approved', '00', 'bench-t-' || (n % ${sql.lit(M)}), 'c' || printf('%08d', n), 'h', '{}', null, 'bench-m-' || (n % ${sql.lit(M)}), ${bankId}, null, null, null, '1234',
      'bench-c-' || (n % ${sql.lit(M)}), null, 100 + ((n * 7919) % 99900), ((100 + ((n * 7919) % 99900)) * 38 + 5000) / 10000, 0, 0, null, n, '123456', null, null, null,
      ${DATE}, null, ${sql.lit(now)} + n, ${sql.lit(now)} + n`;
  const columns = sql`(id, type, status, response_code, client_scope, client_id, request_hash, reply, terminal_id, merchant_party_id, org_id, batch_id,
    operator_id, card_id, card_last4, account_id, counter_account_id, amount, fee, refunded_amount, refunded_fee, original_id, trace_no, auth_code,
    pending_transfer_id, hold_expires_at, risk, business_date, settlement_id, created_at, updated_at)`;
  if (dialect === 'sqlite') {
    await sql`with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ${sql.lit(N)}) insert into pay_transactions ${columns} ${select} from seq`.execute(db);
  } else {
    await sql`insert into pay_transactions ${columns} ${sql`
      select 'bs' || lpad(n::text, 8, '0'), 'sale', 'approved', '00', 'bench-t-' || (n % ${sql.lit(M)}), 'c' || lpad(n::text, 8, '0'), 'h', '{}', null, 'bench-m-' || (n % ${sql.lit(M)}), cast(${bankId} as text), null, null, null, '1234',
        'bench-c-' || (n % ${sql.lit(M)}), null, 100 + ((n * 7919) % 99900), ((100 + ((n * 7919) % 99900)) * 38 + 5000) / 10000, 0, 0, null, n, '123456', null, null, null,
        cast(${DATE} as text), null, ${sql.lit(now)} + n, ${sql.lit(now)} + n`} from generate_series(1, ${sql.lit(N)}::bigint) as n`.execute(db);
  }
  const rowsS = secondsSince(rowsStart);
  log(`  ${N.toLocaleString('en')} pay_transactions rows in ${rowsS} s`);

  // The ledger side.
  const ledgerStart = performance.now();
  const accountsOf = (k: number) => ({ customer: `bench-c-${k}`, receivable: `bench-m-${k}:recv` });
  const transfers =
    SETTINGS.ledger === 'per-sale'
      ? await postAll(ledger, N, (i) => saleTransfers(`bs${String(i + 1).padStart(8, '0')}`, accountsOf(merchantOf(i + 1)), amountOf(i + 1), feeFor(RATE, amountOf(i + 1))))
      : await postAll(ledger, M, (k) => saleTransfers(`bench-agg-${k}`, accountsOf(k), sums[k]!.amount, sums[k]!.fee));
  const ledgerS = secondsSince(ledgerStart);
  log(`  ${transfers.toLocaleString('en')} ledger transfers in ${ledgerS} s`);
  return { rowsS, ledgerS, transfers };
}

async function main(): Promise<void> {
  const { database, dialect, cleanup } = await openFresh();
  log(`bench:settle on ${dialect}: ${SETTINGS.sales.toLocaleString('en')} sales over ${SETTINGS.merchants} merchants, ledger ${SETTINGS.ledger}`);
  const config = loadConfig({ LOG_LEVEL: 'silent', XIAOWEI_PENDING_SWEEP_MS: '3600000' });
  let ledger: Ledger | undefined;
  let keep = false;
  try {
    const genStart = performance.now();
    await migrate(database);
    ledger = createLedger(database, config);
    const M = SETTINGS.merchants;
    const N = SETTINGS.sales;
    const ids = Array.from({ length: M }, (_, i) => i);
    const expectedNet = new Array<number>(M).fill(0);
    const sums = Array.from({ length: M }, () => ({ amount: 0, fee: 0 }));
    for (let n = 1; n <= N; n++) {
      const a = amountOf(n);
      const f = feeFor(RATE, a);
      const k = merchantOf(n);
      expectedNet[k]! += a - f;
      sums[k]!.amount += a;
      sums[k]!.fee += f;
    }
    let rowsS = 0;
    let ledgerS = 0;
    let transfers = SETTINGS.ledger === 'per-sale' ? 2 * N : 2 * M;
    if (SETTINGS.from === '') ({ rowsS, ledgerS, transfers } = await generate(database, ledger, dialect, sums));
    else log(`  copied from ${SETTINGS.from} (generated with the same --sales, --merchants and --ledger)`);
    const generateS = secondsSince(genStart);
    if (SETTINGS.generateOnly) {
      await ledger.drain();
      ledger = undefined;
      keep = true;
      log(`  generated; kept at ${dialect === 'sqlite' ? database.sqlite!.name : `database xw_bench_settle_${process.pid}`} (settle copies of it with --from=…)`);
      return;
    }

    // Settle, timed.
    const deps = { db: database.kysely, database, ledger, now: () => Date.now() * 1000 };
    const settleStart = performance.now();
    const cpuStart = process.cpuUsage();
    const steps: Record<string, number> = {};
    let stepAt = performance.now();
    let stepName = 'start';
    const summary = await runSettlement(deps, DATE, {
      onProgress: (step) => {
        if (step === stepName) return;
        steps[stepName] = secondsSince(stepAt);
        stepName = step;
        stepAt = performance.now();
      },
    });
    const settleS = secondsSince(settleStart);
    const cpu = process.cpuUsage(cpuStart);
    const settleCpuS = Math.round((cpu.user + cpu.system) / 10_000) / 100;
    const load = os.loadavg()[0]!;
    log(`  steps (s): ${JSON.stringify(steps)}; CPU ${settleCpuS} s; load average ${load.toFixed(1)} on ${os.cpus().length} cores`);
    log(`  settle ${DATE}: ${summary.merchants} merchants, ${summary.transactions.toLocaleString('en')} transactions, net ${summary.net} fen in ${settleS} s`);
    const rerunStart = performance.now();
    const again = await runSettlement(deps, DATE);
    const rerunS = secondsSince(rerunStart);
    log(`  second run (no-op) in ${rerunS} s`);

    // Check.
    const problems: string[] = [];
    const wantNet = expectedNet.reduce((a, b) => a + b, 0);
    if (summary.merchants !== M || summary.settled !== M) problems.push(`settled ${summary.settled}/${M}`);
    if (summary.transactions !== N) problems.push(`stamped ${summary.transactions}/${N}`);
    if (summary.net !== wantNet) problems.push(`net ${summary.net} ≠ ${wantNet}`);
    if (JSON.stringify({ ...again, created: 0 }) !== JSON.stringify({ ...summary, created: 0 })) problems.push('second run answered differently');
    const recv = await ledger.lookupAccounts(ids.map((k) => `bench-m-${k}:recv`));
    const nonZero = recv.filter((a) => displayBalance(a.code, a.debits_posted, a.credits_posted) !== 0).length;
    if (nonZero > 0) problems.push(`${nonZero} receivables not emptied`);
    const settleAccounts = await ledger.lookupAccounts(ids.map((k) => `bench-m-${k}:settle`));
    const wrong = settleAccounts.filter((a) => a.credits_posted !== expectedNet[Number(a.id.split('-')[2]!.split(':')[0])]).length;
    if (wrong > 0) problems.push(`${wrong} settlement accounts ≠ expected net`);
    let verified: boolean | null = null;
    if (SETTINGS.verify) {
      const report = await ledger.verify();
      verified = report.ok;
      if (!report.ok) problems.push(`ledger verify: ${report.problem}`);
    }
    log(problems.length === 0 ? '  check: ok (every merchant settled, net = Σ(amount − fee), receivables 0)' : `  check FAILED: ${problems.join('; ')}`);
    const result = {
      bench: 'settle',
      dialect,
      sales: N,
      merchants: M,
      ledger_mode: SETTINGS.ledger,
      ledger_transfers: transfers,
      generate_s: generateS,
      generate_rows_s: rowsS,
      generate_ledger_s: ledgerS,
      settle_1m_s: settleS,
      settle_rerun_s: rerunS,
      /** CPU seconds of this process during the timed run (the rest is I/O and waiting for a core). */
      settle_cpu_s: settleCpuS,
      load_avg_1m: Math.round(load * 10) / 10,
      cores: os.cpus().length,
      settle_steps_s: steps,
      settled_merchants: summary.settled,
      stamped: summary.transactions,
      net_fen: summary.net,
      target_s: 30,
      ok: problems.length === 0,
      verified,
    };
    await ledger.drain();
    ledger = undefined;
    console.log(JSON.stringify(result));
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    if (ledger) await ledger.drain().catch(() => undefined);
    await database.close().catch(() => undefined);
    if (!keep) await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
