/**
 * bench:api — the HTTP transfer endpoint under load, with the load generator on the same machine.
 * Starts its own server process (built server, fresh SQLite database in a temp folder), signs in
 * as the administrator, then drives POST /api/v1/transfers with autocannon at 64 and at 256
 * connections, each request with its own Idempotency-Key. Afterwards it runs `xiaowei ledger
 * verify` on the database. The last line of output is one JSON object.
 *
 * Besides transfers/s and latency it reports the server's CPU time per transfer (µs, from /proc:
 * far less sensitive to a loaded machine than transfers/s), the load generator's, and the ledger's
 * group commits per transfer.
 *
 *   npm run bench:api            BENCH_API_SECONDS=10 (per run), BENCH_API_ACCOUNTS=1000
 *
 * Comparing two builds on the same load: BENCH_API_COMPARE=<other build's server/dist/cli/main.js>
 * starts that server too, on a copy of the same database, and alternates runs between the two
 * (BENCH_API_ROUNDS rounds per connection count, default 3 when comparing); figures are medians
 * and the JSON line carries the other build's under `compare`. BENCH_API_NODE_ARGS passes node
 * options to the server(s), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. Each server is warmed with
 * BENCH_API_WARM_S seconds (5) of load at 64 connections first: with 2 s at 16 the first measured
 * run still carried the JIT's warm-up (several times the CPU per transfer of the runs after it).
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, freePort, median } from './src/support.js';
import { currentTotp, setTotpSecret } from '../server/src/identity/sessions.js';
import { hashPassword } from '../server/src/identity/passwords.js';
import type { IdentityTables } from '../server/src/identity/tables.js';
import { AccountFlags, LEDGER_CNY, createLedger } from '../server/src/ledger/index.js';
import { loadConfig } from '../server/src/platform/config.js';
import { openDatabase } from '../server/src/platform/db/database.js';
import { migrate } from '../server/src/platform/db/migrations.js';
import { Secrets } from '../server/src/platform/secrets.js';
import { BANK_ACCOUNTS, bootstrap } from '../server/src/seed/bootstrap.js';
import type { Kysely } from 'kysely';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const ACCOUNTS = Number(process.env.BENCH_API_ACCOUNTS ?? 1000);
const COMPARE = process.env.BENCH_API_COMPARE;
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? (COMPARE ? 3 : 1));
/** Seconds of load (64 connections) each server gets before any measured run: JIT and caches warm. */
const WARM_SECONDS = Number(process.env.BENCH_API_WARM_S ?? 5);
const MASTER_KEY = 'ab'.repeat(32);
const PASSWORD = 'Bench-admin-2026';

/** Fresh database with the bank, an administrator we can sign in as, and funded accounts. */
async function prepare(dataDir: string): Promise<string> {
  const database = openDatabase({ url: `sqlite:${path.join(dataDir, 'xiaowei.db')}` });
  await migrate(database);
  const config = loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const ledger = createLedger(database, config);
  const db = database.kysely as Kysely<IdentityTables>;
  await bootstrap(db, ledger);
  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  await db.updateTable('users').set({ password_hash: await hashPassword(PASSWORD) }).where('id', '=', admin.id).execute();
  const secret = await setTotpSecret({ db, secrets: Secrets.load({ hexKey: MASTER_KEY, dataDir }) }, admin.id);
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `bench:${i}`);
  const flags = AccountFlags.debits_must_not_exceed_credits | AccountFlags.history;
  await ledger.createAccounts(ids.map((id) => ({ id, ledger: LEDGER_CNY, code: 2001, flags, owner_id: null, name: id })));
  const funding = await ledger.createTransfers(
    ids.map((id) => ({ id: `fund:${id}`, debit_account_id: BANK_ACCOUNTS.cash, credit_account_id: id, amount: 1_000_000_00, ledger: LEDGER_CNY, code: 2 })),
  );
  if (funding.length > 0) throw new Error(`funding failed: ${JSON.stringify(funding[0])}`);
  await ledger.drain();
  await database.close();
  return secret;
}

function startServer(main: string, dataDir: string, port: number): Promise<ChildProcess> {
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main, 'start', '--no-demo'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', XIAOWEI_DATA_DIR: dataDir, XIAOWEI_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve(child);
    });
  });
}

interface RunFigures {
  connections: number;
  tps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  /** Server process CPU (user + system) per acknowledged transfer, µs. */
  server_cpu_us: number;
  /** Load generator (this process) CPU per acknowledged transfer, µs. */
  loadgen_cpu_us: number;
  /** Ledger group commits per acknowledged transfer. */
  commits_per_transfer: number;
}

interface Target {
  label: string;
  main: string;
  dataDir: string;
  server: ChildProcess;
  url: string;
  token: string;
}

async function metricsOf(url: string): Promise<(name: string) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

async function run(target: Target, connections: number, seconds: number, tag: string): Promise<RunFigures> {
  let n = 0;
  const before = await metricsOf(target.url);
  const server0 = cpuMs(target.server.pid);
  const loadgen0 = process.cpuUsage();
  const result = await autocannon({
    url: `${target.url}/api/v1/transfers`,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          n++;
          const debit = Math.floor(Math.random() * ACCOUNTS);
          const credit = (debit + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
          return {
            ...req,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${target.token}`,
              'idempotency-key': `bench-${tag}-${String(n).padStart(10, '0')}`,
            },
            body: JSON.stringify({ debit_account_id: `bench:${debit}`, credit_account_id: `bench:${credit}`, amount: 1 + (n % 500), code: 1 }),
          };
        },
      },
    ],
  });
  const loadgen = process.cpuUsage(loadgen0);
  const serverMs = cpuMs(target.server.pid) - server0;
  const after = await metricsOf(target.url);
  const ok = Math.max(1, result['2xx']);
  const commits = after('xiaowei_ledger_commit_batch_size_count') - before('xiaowei_ledger_commit_batch_size_count');
  return {
    connections,
    tps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    server_cpu_us: Math.round((serverMs * 1000) / ok),
    loadgen_cpu_us: Math.round((loadgen.user + loadgen.system) / ok),
    commits_per_transfer: Math.round((commits / ok) * 1000) / 1000,
  };
}

/** Medians of several runs' figures (sums for the error counts). */
function summarise(runs: RunFigures[]): RunFigures {
  const m = (pick: (f: RunFigures) => number): number => median(runs.map(pick));
  return {
    connections: runs[0]!.connections,
    tps: Math.round(m((f) => f.tps)),
    p50_ms: Math.round(m((f) => f.p50_ms)),
    p99_ms: Math.round(m((f) => f.p99_ms)),
    non2xx: runs.reduce((a, f) => a + f.non2xx, 0),
    errors: runs.reduce((a, f) => a + f.errors, 0),
    server_cpu_us: Math.round(m((f) => f.server_cpu_us)),
    loadgen_cpu_us: Math.round(m((f) => f.loadgen_cpu_us)),
    commits_per_transfer: Math.round(m((f) => f.commits_per_transfer) * 1000) / 1000,
  };
}

const describe = (f: RunFigures): string =>
  `${f.tps} transfers/s, p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, server ${f.server_cpu_us} µs CPU/transfer, ` +
  `load generator ${f.loadgen_cpu_us} µs, ${f.commits_per_transfer} commits/transfer, non-2xx ${f.non2xx}, errors ${f.errors}`;

const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function startTarget(label: string, main: string, dataDir: string, secret: string): Promise<Target> {
  const port = await freePort();
  const server = await startServer(main, dataDir, port);
  const url = `http://127.0.0.1:${port}`;
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: currentTotp(secret) }),
  });
  const { token } = (await login.json()) as { token: string };
  return { label, main, dataDir, server, url, token };
}

/** Stops the server and checks its ledger from scratch. */
async function stopAndVerify(target: Target): Promise<{ ok: boolean; transfers: number }> {
  target.server.kill('SIGTERM');
  await new Promise((resolve) => target.server.once('exit', resolve));
  const verify = execFileSync(process.execPath, [target.main, 'ledger', 'verify'], {
    env: { ...process.env, XIAOWEI_DATA_DIR: target.dataDir, XIAOWEI_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'silent' },
  }).toString();
  return JSON.parse(verify.split('\n')[0]!) as { ok: boolean; transfers: number };
}

async function main(): Promise<void> {
  console.log('building the server…');
  execFileSync('npm', ['run', 'build', '--workspace', 'server'], { cwd: root, stdio: 'ignore' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-api-'));
  const dirs = [dataDir];
  const targets: Target[] = [];
  try {
    const secret = await prepare(dataDir);
    targets.push(await startTarget('current', path.join(root, 'server/dist/cli/main.js'), dataDir, secret));
    if (COMPARE) {
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-api-'));
      dirs.push(copy);
      fs.cpSync(dataDir, copy, { recursive: true });
      targets.push(await startTarget('compare', path.resolve(COMPARE), copy, secret));
    }
    for (const t of targets) await run(t, 64, WARM_SECONDS, `warm${t.label}`);
    console.log(`load average before: ${loadAverage()}`);
    const figures = new Map<string, RunFigures[]>(targets.map((t) => [t.label, []]));
    for (const connections of [64, 256]) {
      const runs = new Map<string, RunFigures[]>(targets.map((t) => [t.label, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which build goes first, so neither always gets the quieter moment.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const f = await run(t, connections, SECONDS, `c${connections}r${round}${t.label}`);
          console.log(`${t.label} ${connections} connections: ${describe(f)} (load ${loadAverage()})`);
          runs.get(t.label)!.push(f);
        }
      }
      for (const t of targets) {
        const s = summarise(runs.get(t.label)!);
        if (ROUNDS > 1) console.log(`${t.label} ${connections} connections, medians of ${ROUNDS}: ${describe(s)}`);
        figures.get(t.label)!.push(s);
      }
    }
    const metric = await metricsOf(targets[0]!.url);
    const commits = metric('xiaowei_ledger_commit_batch_size_count');
    const batchMean = metric('xiaowei_ledger_commit_batch_size_sum') / commits;
    const commitMs = (metric('xiaowei_ledger_commit_latency_seconds_sum') / commits) * 1000;
    console.log(`group commits: ${commits}, mean batch ${batchMean.toFixed(1)} transfers, mean commit ${commitMs.toFixed(2)} ms`);
    const reports = [];
    for (const t of targets) {
      const report = await stopAndVerify(t);
      console.log(`${t.label} ledger verify: ${report.ok ? 'consistent' : 'INCONSISTENT'}, ${report.transfers} transfers`);
      reports.push(report);
    }
    const summary = (label: string, report: { ok: boolean; transfers: number }) => {
      const [c64, c256] = figures.get(label) as [RunFigures, RunFigures];
      return {
        api_tps: c64.tps,
        api_p50_ms: c64.p50_ms,
        api_p99_ms: c64.p99_ms,
        api_256_tps: c256.tps,
        api_256_p50_ms: c256.p50_ms,
        api_256_p99_ms: c256.p99_ms,
        api_server_cpu_us: c64.server_cpu_us,
        api_256_server_cpu_us: c256.server_cpu_us,
        api_loadgen_cpu_us: c64.loadgen_cpu_us,
        api_commits_per_transfer: c64.commits_per_transfer,
        api_256_commits_per_transfer: c256.commits_per_transfer,
        api_non2xx: c64.non2xx + c256.non2xx,
        api_errors: c64.errors + c256.errors,
        ledger_verified: report.ok,
        journal_transfers: report.transfers,
      };
    };
    const current = summary('current', reports[0]!);
    const compare = COMPARE ? summary('compare', reports[1]!) : undefined;
    console.log(
      JSON.stringify({
        ...current,
        ...(compare ? { compare: { build: COMPARE, ...compare } } : {}),
        seconds_per_run: SECONDS,
        rounds: ROUNDS,
        accounts: ACCOUNTS,
        database: 'sqlite',
        cpus: os.cpus().length,
        load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
      }),
    );
    const bad = [current, ...(compare ? [compare] : [])].some((r) => !r.ledger_verified || r.api_non2xx > 0);
    if (bad) process.exitCode = 1;
  } finally {
    for (const t of targets) if (t.server.exitCode === null) t.server.kill('SIGKILL');
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
