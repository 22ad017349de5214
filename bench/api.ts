/**
 * bench:api — the HTTP transfer endpoint under load, with the load generator on the same machine.
 * Starts its own server process (built server, fresh SQLite database in a temp folder), signs in
 * as the administrator, then drives POST /api/v1/transfers with autocannon at 64 and at 256
 * connections, each request with its own Idempotency-Key. Afterwards it runs `xiaowei ledger
 * verify` on the database. The last line of output is one JSON object.
 *
 *   npm run bench:api            BENCH_API_SECONDS=10 (per run), BENCH_API_ACCOUNTS=1000
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
const MASTER_KEY = 'ab'.repeat(32);
const PASSWORD = 'Bench-admin-2026';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

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

function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'server/dist/cli/main.js'), 'start', '--no-demo'], {
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
}

async function run(url: string, token: string, connections: number, seconds: number, tag: string): Promise<RunFigures> {
  let n = 0;
  const result = await autocannon({
    url: `${url}/api/v1/transfers`,
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
              authorization: `Bearer ${token}`,
              'idempotency-key': `bench-${tag}-${String(n).padStart(10, '0')}`,
            },
            body: JSON.stringify({ debit_account_id: `bench:${debit}`, credit_account_id: `bench:${credit}`, amount: 1 + (n % 500), code: 1 }),
          };
        },
      },
    ],
  });
  return {
    connections,
    tps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  console.log('building the server…');
  execFileSync('npm', ['run', 'build', '--workspace', 'server'], { cwd: root, stdio: 'ignore' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-api-'));
  const secret = await prepare(dataDir);
  const port = await freePort();
  const server = await startServer(dataDir, port);
  const url = `http://127.0.0.1:${port}`;
  try {
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: currentTotp(secret) }),
    });
    const { token } = (await login.json()) as { token: string };
    await run(url, token, 16, 2, 'warm');
    const figures: RunFigures[] = [];
    for (const connections of [64, 256]) {
      const f = await run(url, token, connections, SECONDS, `c${connections}`);
      console.log(`${connections} connections: ${f.tps} transfers/s, p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, non-2xx ${f.non2xx}, errors ${f.errors}`);
      figures.push(f);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    const commits = metric('xiaowei_ledger_commit_batch_size_count');
    const batchMean = metric('xiaowei_ledger_commit_batch_size_sum') / commits;
    const commitMs = (metric('xiaowei_ledger_commit_latency_seconds_sum') / commits) * 1000;
    console.log(`group commits: ${commits}, mean batch ${batchMean.toFixed(1)} transfers, mean commit ${commitMs.toFixed(2)} ms`);
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    const verify = execFileSync(process.execPath, [path.join(root, 'server/dist/cli/main.js'), 'ledger', 'verify'], {
      env: { ...process.env, XIAOWEI_DATA_DIR: dataDir, XIAOWEI_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'silent' },
    }).toString();
    const report = JSON.parse(verify.split('\n')[0]!) as { ok: boolean; transfers: number };
    console.log(`ledger verify: ${report.ok ? 'consistent' : 'INCONSISTENT'}, ${report.transfers} transfers`);
    const [c64, c256] = figures as [RunFigures, RunFigures];
    console.log(
      JSON.stringify({
        api_tps: c64.tps,
        api_p50_ms: c64.p50_ms,
        api_p99_ms: c64.p99_ms,
        api_256_tps: c256.tps,
        api_256_p50_ms: c256.p50_ms,
        api_256_p99_ms: c256.p99_ms,
        api_non2xx: c64.non2xx + c256.non2xx,
        api_errors: c64.errors + c256.errors,
        ledger_verified: report.ok,
        journal_transfers: report.transfers,
        seconds_per_run: SECONDS,
        accounts: ACCOUNTS,
        database: 'sqlite',
        cpus: os.cpus().length,
      }),
    );
    if (!report.ok || c64.non2xx + c256.non2xx > 0) process.exitCode = 1;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
