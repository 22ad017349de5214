/**
 * bench:payments — card sales at the terminal, end to end: MAC-signed `POST /terminal/pay/sale`
 * requests with format 4 PIN blocks from simulated terminals over HTTP, risk rules on (three
 * active rules created through the staff API that never fire), the durable ledger
 * (synchronous=FULL). Everything runs on this machine; the load generator runs in its own
 * process(es) (`payments-load.ts`), apart from the server process(es).
 *
 * Runs (closed loop, one request in flight per terminal):
 *   (a) uniform — SQLite, one server, sales from BENCH_PAY_TERMINALS terminals spread over
 *       BENCH_PAY_MERCHANTS merchants;
 *   (b) hot     — the same server, BENCH_PAY_TERMINALS terminals all of one merchant (one hot
 *       receivable account);
 *   (c) pg      — PostgreSQL, two server processes, the uniform mix (skipped with BENCH_PAY_PG=0).
 * First an unmeasured pass of BENCH_PAY_FIRST_PASS_S on each set; then each run: BENCH_PAY_WARM_S
 * of warm-up, then BENCH_PAY_WINDOWS windows of BENCH_PAY_WINDOW_S;
 * figures are the medians over the windows. After each database's runs the servers stop and the
 * bench checks the ledger from scratch (`ledger.verify()`) and that every merchant's receivable
 * moved by exactly what its terminals saw approved (amount − fee), and counts the approved sales
 * in `pay_transactions`.
 *
 *   npm run bench:payments   BENCH_PAY_TERMINALS=64 BENCH_PAY_MERCHANTS=32 BENCH_PAY_CARDS=512
 *                            BENCH_PAY_CARDS_PER_TERMINAL=8 BENCH_PAY_WINDOW_S=4 BENCH_PAY_WINDOWS=3 BENCH_PAY_WARM_S=2
 *                            BENCH_PAY_LOADERS=1 BENCH_PAY_PG=1 BENCH_PAY_PROFILE=<dir> BENCH_PAY_FSYNCS=1
 *                            BENCH_PAY_VARIANT=NAME=value
 *
 * Server CPU per request comes from the server processes' CPU time; fsyncs per request from
 * `perf stat` on the fsync/fdatasync tracepoints of the server processes (null without perf).
 * BENCH_PAY_VARIANT restarts the SQLite server with those variables for a second set of runs and
 * without them for a third (A/B/A in one run); with BENCH_PAY_PG_VARIANT=1 the PostgreSQL servers too.
 *
 * BENCH_PAY_PROFILE=<dir> starts the SQLite server (and the first PostgreSQL server, into <dir>/pg)
 * with `--cpu-prof`; read the
 * profile with `npx tsx bench/src/payments-profile.ts <dir>/*.cpuprofile`.
 * The last line of output is one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createParty } from '../../server/src/identity/parties.js';
import { hashPassword } from '../../server/src/identity/passwords.js';
import { currentTotp, setTotpSecret } from '../../server/src/identity/sessions.js';
import type { IdentityTables } from '../../server/src/identity/tables.js';
import { accountType } from '../../server/src/ledger/chart.js';
import { LEDGER_CNY, createLedger } from '../../server/src/ledger/index.js';
import { loadConfig } from '../../server/src/platform/config.js';
import { openDatabase } from '../../server/src/platform/db/database.js';
import { migrate } from '../../server/src/platform/db/migrations.js';
import { newId } from '../../server/src/platform/ids.js';
import { Secrets } from '../../server/src/platform/secrets.js';
import { BANK_ACCOUNTS, bootstrap } from '../../server/src/seed/bootstrap.js';
import { percentile } from '../../server/src/terminals/simulator.js';
import { pinProblem } from '../../server/src/payments/cards.js';
import { provisionSimulatedTerminals } from '../../server/src/terminals/simulator-provision.js';
import type { LoaderCard, LoaderConfig, LoaderTerminal, MerchantTally, RunCommand, RunResult } from './payments-load.js';
import { Api, cpuMs, freePort, median, round, sleep } from './support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const TERMINALS = env('BENCH_PAY_TERMINALS', 64);
const MERCHANTS = Math.max(1, env('BENCH_PAY_MERCHANTS', 32));
const CARDS = Math.max(1, env('BENCH_PAY_CARDS', 512));
const CARDS_PER_TERMINAL = Math.max(1, env('BENCH_PAY_CARDS_PER_TERMINAL', 8));
const WINDOW_S = env('BENCH_PAY_WINDOW_S', 4);
const WINDOWS = Math.max(1, env('BENCH_PAY_WINDOWS', 3));
const WARM_S = env('BENCH_PAY_WARM_S', 2);
/** An unmeasured pass on each set of terminals before the measured runs. */
const FIRST_PASS_S = env('BENCH_PAY_FIRST_PASS_S', 3);
const LOADERS = Math.max(1, env('BENCH_PAY_LOADERS', 1));
const WITH_PG = process.env.BENCH_PAY_PG !== '0';
/** '1': an extra SQLite run of signed echo requests (the protocol layer alone); 'only': nothing but that (no payments set-up). */
const ECHO = process.env.BENCH_PAY_ECHO ?? '0';
const PROFILE_DIR = process.env.BENCH_PAY_PROFILE ? path.resolve(process.env.BENCH_PAY_PROFILE) : null;
/**
 * 'NAME=value[,NAME2=value2]': after the SQLite runs, the server is restarted with these variables
 * for a second uniform + hot pair, then without them for a third (A, B, A in one bench run, the same
 * database and terminals): how to compare two variants of a server switch on a noisy machine.
 */
const VARIANT: Record<string, string> | null = process.env.BENCH_PAY_VARIANT
  ? Object.fromEntries(process.env.BENCH_PAY_VARIANT.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  : null;
/** '0': do not count the servers' fsyncs (otherwise counted with `perf stat` when it is available). */
const COUNT_FSYNCS = process.env.BENCH_PAY_FSYNCS !== '0';
/** BENCH_PAY_PG_VARIANT=1: the PostgreSQL servers too are restarted with BENCH_PAY_VARIANT (A/B/A) — for switches that act there. */
const VARIANT_PG = process.env.BENCH_PAY_PG_VARIANT === '1';
const MASTER_KEY = 'ef'.repeat(32);
const PASSWORD = 'Bench-admin-2026';
const OPERATOR = { no: '01', password: 'Kasse-7392' };
/** ¥1–¥50 a sale: a village shop's counter. */
const AMOUNT = { min: 100, max: 5000 };
/** Each customer's deposit: far above what the runs spend. */
const FUNDING = 100_000_000;
const PG_ADMIN = process.env.XIAOWEI_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = `xiaowei_bench_pay_${process.pid}`;
const PG_URL = PG_ADMIN.replace(/\/[^/]*$/, `/${PG_DB}`);

const t0 = Date.now();
const log = (line: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`);


async function adminSql(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await task(items[i]!, i);
    }),
  );
}

/** A 6-digit PIN the card issuer accepts (its own rule decides: no repeats, runs, doubled digits…). */
function pinFor(i: number): string {
  for (let k = 0; ; k++) {
    const pin = String(100_000 + ((i * 7919 + k * 104_729 + 31_337) % 900_000));
    if (pinProblem(pin) === undefined) return pin;
  }
}

interface Prepared {
  bankId: string;
  totpSecret: string;
  merchants: string[];
  customers: { partyId: string; accountId: string }[];
  terminals: { serial: string; code: string; set: string; merchantId: string }[];
}

/**
 * The parts staff would have done long before: the bank, an administrator, merchant and customer
 * parties, funded deposit accounts, terminals with activation codes — straight into the database.
 */
async function prepare(url: string, dataDir: string, withHot: boolean): Promise<Prepared> {
  const database = openDatabase({ url, poolSize: 8 });
  try {
    await migrate(database);
    const config = loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: url.startsWith('postgres') ? url : '' });
    const secrets = Secrets.load({ hexKey: MASTER_KEY, dataDir });
    const ledger = createLedger(database, config);
    const db = database.kysely as Kysely<IdentityTables>;
    const { bankId } = await bootstrap(db, ledger);
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    await db.updateTable('users').set({ password_hash: await hashPassword(PASSWORD) }).where('id', '=', admin.id).execute();
    const totpSecret = await setTotpSecret({ db, secrets }, admin.id);

    const merchants: string[] = [];
    for (let m = 0; m < MERCHANTS; m++) {
      merchants.push((await createParty(db, secrets, { kind: 'business', name: `压测商户 Bench shop ${m}`, roles: ['merchant'], org_id: bankId })).id);
    }
    const customers: Prepared['customers'] = [];
    for (let c = 0; c < CARDS; c++) {
      const party = await createParty(db, secrets, { kind: 'person', name: `压测客户 Bench customer ${c}`, roles: ['customer'], org_id: bankId });
      customers.push({ partyId: party.id, accountId: newId() });
    }
    const deposit = accountType(2001)!;
    const accounts = customers.map((c) => ({ id: c.accountId, ledger: LEDGER_CNY, code: 2001, flags: deposit.flags, owner_id: c.partyId, name: '个人存款账户 Customer deposit' }));
    for (let i = 0; i < accounts.length; i += 1000) {
      const failed = await ledger.createAccounts(accounts.slice(i, i + 1000));
      if (failed.length > 0) throw new Error(`accounts refused: ${JSON.stringify(failed[0])}`);
    }
    const funding = customers.map((c) => ({ id: `bench-fund:${c.accountId}`, debit_account_id: BANK_ACCOUNTS.cash, credit_account_id: c.accountId, amount: FUNDING, ledger: LEDGER_CNY, code: 2 }));
    for (let i = 0; i < funding.length; i += 1000) {
      const failed = await ledger.createTransfers(funding.slice(i, i + 1000));
      if (failed.length > 0) throw new Error(`funding refused: ${JSON.stringify(failed[0])}`);
    }
    await ledger.drain();

    const terminals: Prepared['terminals'] = [];
    const now = Date.now() * 1000;
    const perMerchant = Math.ceil(TERMINALS / MERCHANTS);
    for (let m = 0; m < MERCHANTS && terminals.length < TERMINALS; m++) {
      const count = Math.min(perMerchant, TERMINALS - terminals.length);
      const made = await provisionSimulatedTerminals(database.kysely as never, secrets, { count, prefix: `BU${String(m).padStart(4, '0')}`, ownerPartyId: merchants[m]!, now, concurrency: 8 });
      terminals.push(...made.terminals.map((t) => ({ serial: t.serial, code: t.code, set: 'uniform', merchantId: merchants[m]! })));
    }
    if (withHot) {
      const hot = await provisionSimulatedTerminals(database.kysely as never, secrets, { count: TERMINALS, prefix: 'BHOT', ownerPartyId: merchants[0]!, now, concurrency: 8 });
      terminals.push(...hot.terminals.map((t) => ({ serial: t.serial, code: t.code, set: 'hot', merchantId: merchants[0]! })));
    }
    return { bankId, totpSecret, merchants, customers, terminals };
  } finally {
    await database.close();
  }
}

interface Server {
  child: ChildProcess;
  url: string;
}

function startServer(port: number, dataDir: string, databaseUrl: string | null, profileDir: string | null, extraEnv: Record<string, string> = {}): Promise<Server> {
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, 'server/src/cli/main.ts'), 'start', '--no-demo'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      XIAOWEI_DATA_DIR: dataDir,
      XIAOWEI_MASTER_KEY: MASTER_KEY,
      LOG_LEVEL: 'warn',
      XIAOWEI_RISK: 'on',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, XIAOWEI_PG_POOL_SIZE: '16' } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`server exited with ${code}`));
    child.once('exit', onExit);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) {
        child.off('exit', onExit);
        resolve({ child, url: `http://127.0.0.1:${port}` });
      }
    });
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const gone = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await Promise.race([gone, sleep(15_000)]);
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await gone;
  }
}



async function login(url: string, totpSecret: string): Promise<Api> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: currentTotp(totpSecret) }),
  });
  const body = (await res.json()) as { token?: string };
  if (!body.token) throw new Error(`admin login failed: ${JSON.stringify(body)}`);
  return new Api(url, body.token);
}

/** Beijing hour of a moment. */
const beijingHour = (ms: number): number => new Date(ms + 8 * 3_600_000).getUTCHours();

/**
 * What staff set up through the API: a fee plan, the merchants enrolled, a cashier per merchant,
 * the cards (with their PINs), and the risk rules. Answers the cards and the receivable accounts.
 */
async function setUpThroughApi(api: Api, prepared: Prepared): Promise<{ cards: LoaderCard[]; receivables: Map<string, string>; rules: number }> {
  if (ECHO === 'only') {
    await pool(prepared.merchants, 8, (partyId) => api.call('POST', '/terminal-operators', { owner_party_id: partyId, operator_no: OPERATOR.no, name: '收银员 Cashier', role: 'cashier', password: OPERATOR.password }));
    return { cards: [], receivables: new Map(), rules: 0 };
  }
  const plan = await api.call<{ id: string }>('POST', '/fee-plans', { org_id: prepared.bankId, name: '压测费率 Bench 0.38%', rate_bp: 38, min_fee: 1, max_fee: 2000, fixed_fee: 0 });
  const receivables = new Map<string, string>();
  await pool(prepared.merchants, 8, async (partyId) => {
    const merchant = await api.call<{ receivable_account_id: string }>('POST', '/merchants', { party_id: partyId, mcc: '5411', fee_plan_id: plan.id, settlement_cycle: 'T1' });
    receivables.set(partyId, merchant.receivable_account_id);
    await api.call('POST', '/terminal-operators', { owner_party_id: partyId, operator_no: OPERATOR.no, name: '收银员 Cashier', role: 'cashier', password: OPERATOR.password });
  });
  const cards = new Array<LoaderCard>(prepared.customers.length);
  await pool(prepared.customers, 8, async (c, i) => {
    const pin = pinFor(i);
    const card = await api.call<{ pan: string; expiry: string }>('POST', '/cards', { party_id: c.partyId, account_id: c.accountId, pin, daily_limit: 100_000_000, per_txn_limit: 5_000_000 });
    cards[i] = { pan: card.pan, expiry: card.expiry, pin };
  });
  // Realistic rules, active, that this load does not trip: a single sale above ¥50,000; more than
  // 600 sales of one card in a minute (card testing — at the defaults it would fire only above
  // ~5,000 sales/s, and the approved share shows it); no sales in a two-hour night window that
  // starts six hours from now (Beijing time), so the window is evaluated but never matches.
  const quiet = (beijingHour(Date.now()) + 6) % 24;
  const rules = [
    { org_id: prepared.bankId, kind: 'amount_limit', name: '单笔超过5万元 Single sale above ¥50,000', outcome: 'decline', params: { scope: 'card', max_amount: 5_000_000 } },
    { org_id: prepared.bankId, kind: 'velocity', name: '同卡1分钟超过600笔 Card testing', outcome: 'decline', params: { scope: 'card', max_count: 600, window_minutes: 1 } },
    { org_id: prepared.bankId, kind: 'time_window', name: '夜间禁止交易 Night window', outcome: 'decline', params: { from: `${String(quiet).padStart(2, '0')}:00`, to: `${String((quiet + 2) % 24).padStart(2, '0')}:00` } },
  ];
  let made = 0;
  for (const rule of rules) {
    try {
      const created = await api.call<{ id?: string; mode?: string } | null>('POST', '/risk/rules', { ...rule, mode: 'active' });
      if (created?.mode !== 'active' && created?.id) await api.call('POST', `/risk/rules/${created.id}/mode`, { mode: 'active' });
      made++;
    } catch (error) {
      log(`risk rule ${rule.kind} not created: ${(error as Error).message}`);
    }
  }
  return { cards, receivables, rules: made };
}

interface Loader {
  child: ChildProcess;
  ready: Promise<{ terminals: number; bySet: Record<string, number> }>;
  run(command: RunCommand): Promise<RunResult>;
}

function startLoader(config: LoaderConfig, file: string): Loader {
  fs.writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/src/payments-load.ts'), file], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } });
  let onReady: (v: { terminals: number; bySet: Record<string, number> }) => void = () => undefined;
  let onResult: (v: RunResult) => void = () => undefined;
  const ready = new Promise<{ terminals: number; bySet: Record<string, number> }>((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const event = JSON.parse(line) as { type: string; line?: string };
    if (event.type === 'ready') onReady(event as never);
    else if (event.type === 'result') onResult(event as RunResult);
    else if (event.type === 'log') log(`load generator: ${event.line}`);
  });
  return {
    child,
    ready,
    run(command) {
      const result = new Promise<RunResult>((resolve) => (onResult = resolve));
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return result;
    },
  };
}

interface RunFigures {
  /** CPU the server process(es) / load generator(s) used per answered request over the whole run: load-independent cost. */
  server_cpu_us_per_request: number;
  /** fsync + fdatasync calls of the server process(es) per answered request (SQLite's durable commits; null without `perf`). */
  server_fsyncs_per_request: number | null;
  loader_cpu_us_per_request: number;
  terminals: number;
  tps: number;
  p50_ms: number;
  p99_ms: number;
  windows_tps: number[];
  windows_p99_ms: number[];
  requests: number;
  approved: number;
  approved_share: number;
  declined: Record<string, number>;
  errors: number;
  error_kinds: Record<string, number>;
}

/** Adds a run's approved sales per merchant to the running totals (the receivables must match them). */
function addTallies(tallies: Map<string, MerchantTally>, r: RunResult): void {
  for (const [m, t] of Object.entries(r.merchants)) {
    const sum = tallies.get(m) ?? { count: 0, amount: 0, fee: 0 };
    sum.count += t.count;
    sum.amount += t.amount;
    sum.fee += t.fee;
    tallies.set(m, sum);
  }
}


/**
 * Counts the servers' fsync and fdatasync calls from now until the returned function is called
 * (`perf stat` on the syscall tracepoints: no slowdown of the servers). Answers null when perf is
 * missing or not allowed, or with BENCH_PAY_FSYNCS=0.
 */
function countSyncs(servers: Server[]): () => Promise<number | null> {
  const pids = servers.map((s) => s.child.pid).filter((p): p is number => p !== undefined);
  if (!COUNT_FSYNCS || pids.length === 0) return async () => null;
  let perf: ChildProcess;
  try {
    perf = spawn('perf', ['stat', '-x', ',', '-e', 'syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync', '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    return async () => null;
  }
  let text = '';
  perf.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    perf.on('error', () => resolve(null));
    perf.on('close', () => {
      let total = 0;
      let found = 0;
      for (const line of text.split('\n')) {
        const [value, , event] = line.split(',');
        if (!event?.startsWith('syscalls:sys_enter_f') || !/^\d+$/.test(value ?? '')) continue;
        total += Number(value);
        found++;
      }
      resolve(found > 0 ? total : null);
    });
  });
  return async () => {
    perf.kill('SIGINT');
    return exited;
  };
}

/** Runs one closed-loop load on every loader at once and cuts the answers into windows. */
async function measure(loaders: Loader[], servers: Server[], set: string, tag: string, tallies: Map<string, MerchantTally>, op: 'sale' | 'echo'): Promise<RunFigures> {
  const seconds = WARM_S + WINDOW_S * WINDOWS;
  const cpu = (list: { child: ChildProcess }[]): number => list.reduce((a, x) => a + cpuMs(x.child.pid), 0);
  const cpuBefore = { server: cpu(servers), loader: cpu(loaders) };
  const syncs = countSyncs(servers);
  const results = await Promise.all(loaders.map((l, i) => l.run({ cmd: 'run', set, tag: `${tag}${i}`, seconds, concurrency: 0, op })));
  const cpuUsed = { server: cpu(servers) - cpuBefore.server, loader: cpu(loaders) - cpuBefore.loader };
  const fsyncs = await syncs();
  const windows: { n: number; latency: number[] }[] = Array.from({ length: WINDOWS }, () => ({ n: 0, latency: [] }));
  const all: number[] = [];
  const declined: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  let approved = 0;
  let requests = 0;
  const base = Math.min(...results.map((r) => r.startedAt));
  for (const r of results) {
    const shift = r.startedAt - base;
    for (let i = 0; i < r.doneAt.length; i++) {
      const at = (r.doneAt[i]! + shift) / 1000 - WARM_S;
      if (at < 0) continue;
      const w = Math.floor(at / WINDOW_S);
      if (w >= WINDOWS) continue;
      windows[w]!.n++;
      windows[w]!.latency.push(r.latency[i]!);
      all.push(r.latency[i]!);
    }
    requests += r.doneAt.length;
    approved += r.approved;
    for (const [k, v] of Object.entries(r.declined)) declined[k] = (declined[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.errors)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
    addTallies(tallies, r);
  }
  const windowsTps = windows.map((w) => Math.round(w.n / WINDOW_S));
  const windowsP99 = windows.map((w) => round(percentile(w.latency, 0.99), 1));
  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  return {
    server_cpu_us_per_request: requests ? Math.round((cpuUsed.server * 1000) / requests) : 0,
    server_fsyncs_per_request: fsyncs === null || !requests ? null : round(fsyncs / requests, 3),
    loader_cpu_us_per_request: requests ? Math.round((cpuUsed.loader * 1000) / requests) : 0,
    terminals: results.reduce((a, r) => a + r.terminals, 0),
    tps: median(windowsTps),
    p50_ms: round(median(windows.map((w) => percentile(w.latency, 0.5))), 1),
    p99_ms: round(median(windowsP99), 1),
    windows_tps: windowsTps,
    windows_p99_ms: windowsP99,
    requests,
    approved,
    approved_share: requests ? round(approved / requests, 4) : 0,
    declined,
    errors,
    error_kinds: errorKinds,
  };
}

interface Verification {
  ledger_ok: boolean;
  problem?: string;
  transfers: number;
  receivables_match: boolean;
  mismatched_merchants: number;
  approved_seen: number;
  approved_sales_in_table: number;
}

/** From scratch, with the servers stopped: the journal, each receivable against the answers, the table. */
async function verify(url: string, dataDir: string, tallies: Map<string, MerchantTally>, receivables: Map<string, string>): Promise<Verification> {
  const database = openDatabase({ url, poolSize: 4 });
  try {
    const ledger = createLedger(database, loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: url.startsWith('postgres') ? url : '' }));
    const report = await ledger.verify();
    const ids = [...receivables.values()];
    const accounts = await ledger.lookupAccounts(ids);
    const byId = new Map(accounts.map((a) => [a.id, a]));
    let mismatched = 0;
    for (const [merchant, accountId] of receivables) {
      const a = byId.get(accountId);
      const t = tallies.get(merchant) ?? { count: 0, amount: 0, fee: 0 };
      const net = a ? a.credits_posted - a.debits_posted : NaN;
      if (net !== t.amount - t.fee) mismatched++;
    }
    await ledger.drain();
    const row = (await database.kysely
      .selectFrom('pay_transactions' as never)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('type' as never, '=', 'sale' as never)
      .where('status' as never, '=', 'approved' as never)
      .executeTakeFirst()) as { n: number | string } | undefined;
    const seen = [...tallies.values()].reduce((a, t) => a + t.count, 0);
    return {
      ledger_ok: report.ok,
      ...(report.ok ? {} : { problem: String((report as { problem?: string }).problem) }),
      transfers: report.transfers,
      receivables_match: mismatched === 0,
      mismatched_merchants: mismatched,
      approved_seen: seen,
      approved_sales_in_table: Number(row?.n ?? 0),
    };
  } finally {
    await database.close();
  }
}

/** One database: prepare, start the servers, set up, bring the terminals up, run, stop, verify. */
async function scenario(
  name: string,
  options: { url: string; dataDir: string; servers: number; profileDir: string | null; runs: { set: string; tag: string; op?: 'sale' | 'echo' }[] },
  children: ChildProcess[],
): Promise<{ runs: Record<string, RunFigures>; verification: Verification; bringUpS: number; setupS: number }> {
  const startedAt = Date.now();
  const withHot = options.runs.some((r) => r.set === 'hot');
  log(`${name}: preparing ${MERCHANTS} merchants, ${CARDS} customers with funded accounts, ${withHot ? TERMINALS * 2 : TERMINALS} terminals…`);
  const prepared = await prepare(options.url, options.dataDir, withHot);
  const databaseUrl = options.url.startsWith('postgres') ? options.url : null;
  const servers: Server[] = [];
  for (let i = 0; i < options.servers; i++) {
    const s = await startServer(await freePort(), options.dataDir, databaseUrl, i === 0 ? options.profileDir : null);
    servers.push(s);
    children.push(s.child);
  }
  log(`${name}: ${servers.length} server(s) up on ${servers.map((s) => s.url).join(', ')}; fee plan, merchants, operators, cards, risk rules…`);
  const api = await login(servers[0]!.url, prepared.totpSecret);
  const { cards, receivables, rules } = await setUpThroughApi(api, prepared);
  const setupS = (Date.now() - startedAt) / 1000;
  log(`${name}: ${cards.length} cards issued, ${receivables.size} merchants enrolled, ${rules} risk rules active (${setupS.toFixed(1)} s); bringing terminals up…`);

  const bringUpAt = Date.now();
  const loaders: Loader[] = [];
  for (let l = 0; l < LOADERS; l++) {
    const terminals: LoaderTerminal[] = prepared.terminals
      .map((t, i) => ({ ...t, baseUrl: servers[i % servers.length]!.url, i }))
      .filter((t) => t.i % LOADERS === l)
      .map(({ i: _i, ...t }) => t);
    const loader = startLoader(
      { terminals, cards, cardsPerTerminal: CARDS_PER_TERMINAL, operator: OPERATOR, amount: AMOUNT, bringUpConcurrency: 32 },
      path.join(options.dataDir, `loader-${name}-${l}.json`),
    );
    loaders.push(loader);
    children.push(loader.child);
  }
  const ready = await Promise.all(loaders.map((l) => l.ready));
  const bringUpS = (Date.now() - bringUpAt) / 1000;
  log(`${name}: ${ready.reduce((a, r) => a + r.terminals, 0)} terminals activated, signed on, cashier signed on (${bringUpS.toFixed(1)} s)`);

  const tallies = new Map<string, MerchantTally>();
  // An unmeasured first pass on every set: batches opened, caches filled, code optimised.
  for (const set of new Set(options.runs.map((r) => r.set))) await Promise.all(loaders.map((l, i) => l.run({ cmd: 'run', set, tag: `w${set}${i}`, seconds: FIRST_PASS_S, concurrency: 0 }).then((r) => addTallies(tallies, r))));
  const runs: Record<string, RunFigures> = {};
  for (const run of options.runs) {
    const f = await measure(loaders, servers, run.set, run.tag, tallies, run.op ?? 'sale');
    runs[run.tag] = f;
    log(
      `${name} ${run.tag}: ${f.terminals} terminals, ${f.tps} req/s (windows ${f.windows_tps.join(' / ')}), p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, approved ${(f.approved_share * 100).toFixed(1)} %, server CPU ${f.server_cpu_us_per_request} µs/request, ${f.server_fsyncs_per_request ?? '?'} fsyncs/request, load generator CPU ${f.loader_cpu_us_per_request} µs/request, declined ${JSON.stringify(f.declined)}, errors ${f.errors} ${f.errors ? JSON.stringify(f.error_kinds) : ''}`,
    );
  }
  if (VARIANT && (!databaseUrl || VARIANT_PG)) {
    // A, B, A: the same server restarted with the variant's variables, then without them again.
    for (const [label, env] of [['variant', VARIANT], ['again', {}]] as const) {
      for (let i = 0; i < servers.length; i++) {
        await stopServer(servers[i]!);
        const port = Number(new URL(servers[i]!.url).port);
        servers[i] = await startServer(port, options.dataDir, databaseUrl, null, env);
        children.push(servers[i]!.child);
      }
      for (const set of new Set(options.runs.map((r) => r.set))) await Promise.all(loaders.map((l, i) => l.run({ cmd: 'run', set, tag: `w${set}${label}${i}`, seconds: FIRST_PASS_S, concurrency: 0 }).then((r) => addTallies(tallies, r))));
      for (const run of options.runs) {
        const tag = `${run.tag}_${label}`;
        const f = await measure(loaders, servers, run.set, tag, tallies, run.op ?? 'sale');
        runs[tag] = f;
        log(`${name} ${tag} (${JSON.stringify(env)}): ${f.tps} req/s (windows ${f.windows_tps.join(' / ')}), p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, approved ${(f.approved_share * 100).toFixed(1)} %, server CPU ${f.server_cpu_us_per_request} µs/request, ${f.server_fsyncs_per_request ?? '?'} fsyncs/request, errors ${f.errors}`);
      }
    }
  }
  for (const l of loaders) l.child.stdin!.write('{"cmd":"exit"}\n');
  for (const s of servers) await stopServer(s);
  const verification = await verify(options.url, options.dataDir, tallies, receivables);
  log(
    `${name}: ledger ${verification.ledger_ok ? 'verified' : `INCONSISTENT (${verification.problem})`} (${verification.transfers} transfers); receivables ${verification.receivables_match ? 'equal' : `DIFFER for ${verification.mismatched_merchants} merchants from`} the approved sales the terminals saw; approved sales seen ${verification.approved_seen}, in pay_transactions ${verification.approved_sales_in_table}`,
  );
  return { runs, verification, bringUpS, setupS };
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-pay-'));
  const pgDataDir = path.join(dataDir, 'pg');
  fs.mkdirSync(pgDataDir);
  if (PROFILE_DIR) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  try {
    const echoRun = { set: 'uniform', tag: 'echo', op: 'echo' as const };
    const sqliteRuns = ECHO === 'only' ? [echoRun] : [{ set: 'uniform', tag: 'uniform' }, { set: 'hot', tag: 'hot' }, ...(ECHO === '1' ? [echoRun] : [])];
    const sqlite = await scenario('sqlite', { url: `sqlite:${path.join(dataDir, 'xiaowei.db')}`, dataDir, servers: 1, profileDir: PROFILE_DIR, runs: sqliteRuns }, children);
    if (ECHO === 'only') {
      const e = sqlite.runs.echo!;
      console.log(JSON.stringify({ echo_server_cpu_us: e.server_cpu_us_per_request, echo_loader_cpu_us: e.loader_cpu_us_per_request, echo_tps: e.tps, echo_p50_ms: e.p50_ms, echo_p99_ms: e.p99_ms, echo_errors: e.errors, terminals: e.terminals, cpus: os.cpus().length }));
      return;
    }
    let postgres: Awaited<ReturnType<typeof scenario>> | null = null;
    if (WITH_PG) {
      await adminSql(`drop database if exists ${PG_DB}`);
      await adminSql(`create database ${PG_DB}`);
      postgres = await scenario('postgres', { url: PG_URL, dataDir: pgDataDir, servers: 2, profileDir: PROFILE_DIR ? path.join(PROFILE_DIR, 'pg') : null, runs: [{ set: 'uniform', tag: 'pg' }] }, children);
    }
    const u = sqlite.runs.uniform!;
    const hot = sqlite.runs.hot!;
    const p = postgres?.runs.pg;
    const good = (v: Verification): boolean => v.ledger_ok && v.receivables_match && v.approved_seen === v.approved_sales_in_table;
    const verified = good(sqlite.verification) && (!postgres || good(postgres.verification));
    const figures = {
      sale_tps: u.tps,
      sale_p50_ms: u.p50_ms,
      sale_p99_ms: u.p99_ms,
      sale_hot_tps: hot.tps,
      sale_hot_p50_ms: hot.p50_ms,
      sale_hot_p99_ms: hot.p99_ms,
      sale_pg_tps: p?.tps ?? null,
      sale_pg_p50_ms: p?.p50_ms ?? null,
      sale_pg_p99_ms: p?.p99_ms ?? null,
      sale_approved_share: u.approved_share,
      sale_hot_approved_share: hot.approved_share,
      sale_pg_approved_share: p?.approved_share ?? null,
      sale_server_cpu_us: u.server_cpu_us_per_request,
      sale_hot_server_cpu_us: hot.server_cpu_us_per_request,
      sale_pg_server_cpu_us: p?.server_cpu_us_per_request ?? null,
      sale_fsyncs_per_sale: u.server_fsyncs_per_request,
      sale_hot_fsyncs_per_sale: hot.server_fsyncs_per_request,
      ...(VARIANT
        ? {
            variant: VARIANT,
            variant_runs: Object.fromEntries(
              Object.entries(sqlite.runs)
                .filter(([tag]) => tag.includes('_'))
                .map(([tag, f]) => [tag, { tps: f.tps, p99_ms: f.p99_ms, server_cpu_us: f.server_cpu_us_per_request, fsyncs_per_sale: f.server_fsyncs_per_request }]),
            ),
          }
        : {}),
      sale_loader_cpu_us: u.loader_cpu_us_per_request,
      sale_errors: u.errors + hot.errors + (p?.errors ?? 0),
      sale_declined: { uniform: u.declined, hot: hot.declined, ...(p ? { pg: p.declined } : {}) },
      ...(sqlite.runs.echo ? { echo_tps: sqlite.runs.echo.tps, echo_p99_ms: sqlite.runs.echo.p99_ms, echo_server_cpu_us: sqlite.runs.echo.server_cpu_us_per_request } : {}),
      ledger_verified: verified,
      sqlite_verification: sqlite.verification,
      pg_verification: postgres?.verification ?? null,
      settle_1m_s: null,
      terminals_per_run: TERMINALS,
      merchants: MERCHANTS,
      cards: CARDS,
      windows: WINDOWS,
      window_s: WINDOW_S,
      loaders: LOADERS,
      pg_servers: WITH_PG ? 2 : 0,
      cpus: os.cpus().length,
      total_s: round((Date.now() - t0) / 1000, 1),
    };
    log('done');
    console.log(JSON.stringify(figures));
    if (!verified) process.exitCode = 1;
  } finally {
    for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(1000);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (WITH_PG) await adminSql(`drop database if exists ${PG_DB} with (force)`).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
