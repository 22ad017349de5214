/**
 * bench:ledger — the ledger's group-commit engine in process, exactly as the server runs it
 * (openDatabase + migrate + createLedger with the server's default commit settings), durable:
 * SQLite in WAL with synchronous=FULL, PostgreSQL with synchronous_commit on.
 *
 * Four runs: SQLite uniform, SQLite hot, PostgreSQL uniform, PostgreSQL hot. In each, CALLERS
 * concurrent callers submit batches of BATCH transfers back to back over ACCOUNTS accounts,
 * picked uniformly or from a Zipf distribution (s = ZIPF_S, so a handful of accounts — a busy
 * shop, the bank's settlement account — are in most transfers). A run is a warm-up second and
 * ROUNDS rounds of SECONDS; it reports the median acknowledged (durable) transfers/s and the
 * commit latency p50/p99 from the onCommit hook, and this process's CPU time (user + system) per
 * acknowledged transfer (median of the rounds; it includes making the transfers, and on
 * PostgreSQL not the server's own CPU) — the figure to compare on a loaded machine, where
 * transfers/s mostly measures the load. Afterwards ledger.verify() must pass on both databases,
 * or the bench exits 1. The last line of output is one JSON object.
 *
 *   npm run bench:ledger
 *   npm run bench:ledger -- --seconds=10 --rounds=5 --accounts=100000 --only=sqlite
 *   BENCH_DATABASE_URL=postgres://user@host:5432/db npm run bench:ledger
 *
 * Every --name=value flag can also be given as BENCH_LEDGER_<NAME> (e.g. BENCH_LEDGER_SECONDS).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEDGER_CNY, createLedger, type Ledger, type TransferInput } from '../server/src/ledger/index.js';
import { loadConfig } from '../server/src/platform/config.js';
import { openDatabase, type Database } from '../server/src/platform/db/database.js';
import { migrate } from '../server/src/platform/db/migrations.js';

function setting(name: string, fallback: number): number;
function setting(name: string, fallback: string): string;
function setting(name: string, fallback: number | string): number | string {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const raw = flag ?? process.env[`BENCH_LEDGER_${name.toUpperCase().replace(/-/g, '_')}`];
  if (raw === undefined || raw === '') return fallback;
  if (typeof fallback === 'string') return raw;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${raw}`);
  return n;
}

const SETTINGS = {
  accounts: setting('accounts', 10_000),
  callers: setting('callers', 8),
  batch: setting('batch', 1_000),
  rounds: setting('rounds', 3),
  seconds: setting('seconds', 3),
  zipf_s: setting('zipf-s', 1.0),
  only: setting('only', 'all'),
};
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Pick = () => number;

const uniform =
  (n: number): Pick =>
  () =>
    Math.floor(Math.random() * n);

/** Zipf over n accounts: rank r is drawn with probability ∝ 1/r^s (inverse CDF, binary search). */
function zipf(n: number, s: number): Pick {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
  for (let r = 0; r < n; r++) cdf[r]! /= sum;
  return () => {
    const u = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface RunResult {
  tps: number;
  rounds: number[];
  /** This process's CPU time (user + system) per acknowledged transfer, median of the rounds. */
  cpu_us: number;
  cpu_rounds: number[];
  p50_ms: number;
  p99_ms: number;
  commits: number;
}

/** One workload on an open ledger: accounts `<tag>:<i>`, transfer ids `<tag>-<caller>-<n>`. */
async function runWorkload(ledger: Ledger, latencies: number[], tag: string, pick: Pick): Promise<RunResult> {
  const { accounts, callers, batch } = SETTINGS;
  for (let i = 0; i < accounts; i += 5_000) {
    const chunk = Array.from({ length: Math.min(5_000, accounts - i) }, (_, j) => ({ id: `${tag}:${i + j}`, ledger: LEDGER_CNY, code: 1 }));
    const failed = await ledger.createAccounts(chunk);
    if (failed.length > 0) throw new Error(`createAccounts: ${JSON.stringify(failed[0])}`);
  }
  let sequence = 0;
  const transfer = (caller: number): TransferInput => {
    const debit = pick();
    let credit = pick();
    while (credit === debit) credit = pick();
    return {
      id: `${tag}-${caller}-${sequence++}`,
      debit_account_id: `${tag}:${debit}`,
      credit_account_id: `${tag}:${credit}`,
      amount: 1 + Math.floor(Math.random() * 50_000),
      ledger: LEDGER_CNY,
      code: 1,
    };
  };
  const round = async (seconds: number): Promise<{ tps: number; cpu_us: number }> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let acknowledged = 0;
    const caller = async (c: number): Promise<void> => {
      while (performance.now() < deadline) {
        const transfers = Array.from({ length: batch }, () => transfer(c));
        const failed = await ledger.createTransfers(transfers);
        if (failed.length > 0) throw new Error(`createTransfers: ${JSON.stringify(failed[0])}`);
        acknowledged += transfers.length;
      }
    };
    await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
    const used = process.cpuUsage(cpu);
    return { tps: acknowledged / ((performance.now() - started) / 1000), cpu_us: (used.user + used.system) / acknowledged };
  };
  await round(1);
  latencies.length = 0;
  const rounds: number[] = [];
  const cpuRounds: number[] = [];
  for (let r = 0; r < SETTINGS.rounds; r++) {
    const { tps, cpu_us } = await round(SETTINGS.seconds);
    rounds.push(tps);
    cpuRounds.push(cpu_us);
  }
  return {
    tps: median(rounds),
    rounds,
    cpu_us: median(cpuRounds),
    cpu_rounds: cpuRounds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    commits: latencies.length,
  };
}

interface DialectResult {
  uniform: RunResult;
  hot: RunResult;
  verified: boolean;
  transfers: number;
  verify_s: number;
  /** SQLite: seconds the deferred per-account indexer needed to catch up after the runs. */
  index_catchup_s?: number;
}

async function benchDialect(name: string, database: Database): Promise<DialectResult> {
  await migrate(database);
  const latencies: number[] = [];
  const config = loadConfig({});
  const ledger = createLedger(database, config, { onCommit: (_transfers, _requests, ms) => latencies.push(ms) });
  try {
    const print = (kind: string, r: RunResult): void =>
      console.log(
        `${name} ${kind}: ${fmt(r.tps)} transfers/s (rounds ${r.rounds.map(fmt).join(' / ')}), ` +
          `${round1(r.cpu_us)} µs CPU per transfer (rounds ${r.cpu_rounds.map(round1).join(' / ')}), ` +
          `commit p50 ${round1(r.p50_ms)} ms, p99 ${round1(r.p99_ms)} ms over ${r.commits} commits`,
      );
    const uniformRun = await runWorkload(ledger, latencies, 'u', uniform(SETTINGS.accounts));
    print('uniform', uniformRun);
    const hotRun = await runWorkload(ledger, latencies, 'h', zipf(SETTINGS.accounts, SETTINGS.zipf_s));
    print(`hot (Zipf s=${SETTINGS.zipf_s})`, hotRun);
    const catchup = database.dialect === 'sqlite' ? await indexCatchup(database) : undefined;
    if (catchup !== undefined) console.log(`${name}: the deferred per-account index caught up ${round1(catchup)} s after the last round`);
    const started = performance.now();
    const report = await ledger.verify();
    const verify_s = (performance.now() - started) / 1000;
    console.log(
      `${name} verify: ${report.ok ? 'ok' : `FAILED — ${report.problem}`}, ${fmt(report.transfers)} transfers, ${report.accounts} accounts (${round1(verify_s)} s)`,
    );
    return {
      uniform: uniformRun,
      hot: hotRun,
      verified: report.ok,
      transfers: report.transfers,
      verify_s,
      ...(catchup !== undefined ? { index_catchup_s: catchup } : {}),
    };
  } finally {
    await ledger.drain();
  }
}

/** Waits (at most a minute) until the SQLite indexer's watermark reaches the newest transfer. */
async function indexCatchup(database: Database): Promise<number> {
  const started = performance.now();
  const behind = (): boolean => {
    const row = database
      .sqlite!.prepare(
        "select (select value from ledger_meta where key = 'entries_watermark') < (select max(ts) from ledger_transfers) as behind",
      )
      .get() as { behind: number };
    return row.behind === 1;
  };
  while (behind() && performance.now() - started < 60_000) await new Promise((r) => setTimeout(r, 50));
  return (performance.now() - started) / 1000;
}

async function benchSqlite(): Promise<DialectResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-ledger-'));
  const database = openDatabase({ url: `sqlite:${path.join(dir, 'ledger.db')}` });
  try {
    return await benchDialect('sqlite', database);
  } finally {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<DialectResult> {
  const name = `xw_bench_${process.pid}`;
  const admin = openDatabase({ url: PG_URL, poolSize: 1 });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  try {
    await admin.pool!.query(`drop database if exists ${name} with (force)`);
    await admin.pool!.query(`create database ${name}`);
    const database = openDatabase({ url: url.toString(), poolSize: loadConfig({}).XIAOWEI_PG_POOL_SIZE });
    try {
      return await benchDialect('postgres', database);
    } finally {
      await database.close();
    }
  } finally {
    await admin.pool!.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.close();
  }
}

async function main(): Promise<void> {
  const { accounts, callers, batch, rounds, seconds, zipf_s, only } = SETTINGS;
  console.log(
    `bench:ledger — ${fmt(accounts)} accounts, ${callers} callers × ${fmt(batch)} transfers, ${rounds} rounds × ${seconds} s per run, ${os.cpus().length} CPUs`,
  );
  const started = performance.now();
  const sqlite = only === 'postgres' ? undefined : await benchSqlite();
  const pg = only === 'sqlite' ? undefined : await benchPostgres();
  const result = {
    ledger_sqlite_tps: sqlite && Math.round(sqlite.uniform.tps),
    ledger_sqlite_hot_tps: sqlite && Math.round(sqlite.hot.tps),
    ledger_pg_tps: pg && Math.round(pg.uniform.tps),
    ledger_pg_hot_tps: pg && Math.round(pg.hot.tps),
    ledger_sqlite_cpu_us: sqlite && round1(sqlite.uniform.cpu_us),
    ledger_sqlite_hot_cpu_us: sqlite && round1(sqlite.hot.cpu_us),
    ledger_pg_cpu_us: pg && round1(pg.uniform.cpu_us),
    ledger_pg_hot_cpu_us: pg && round1(pg.hot.cpu_us),
    ledger_sqlite_commit_p50_ms: sqlite && round1(sqlite.uniform.p50_ms),
    ledger_sqlite_commit_p99_ms: sqlite && round1(sqlite.uniform.p99_ms),
    ledger_sqlite_hot_commit_p99_ms: sqlite && round1(sqlite.hot.p99_ms),
    ledger_pg_commit_p50_ms: pg && round1(pg.uniform.p50_ms),
    ledger_pg_commit_p99_ms: pg && round1(pg.uniform.p99_ms),
    ledger_pg_hot_commit_p99_ms: pg && round1(pg.hot.p99_ms),
    ledger_sqlite_index_catchup_s: sqlite?.index_catchup_s !== undefined ? round1(sqlite.index_catchup_s) : undefined,
    ledger_sqlite_verified: sqlite?.verified,
    ledger_pg_verified: pg?.verified,
    journal_transfers: (sqlite?.transfers ?? 0) + (pg?.transfers ?? 0),
    accounts,
    callers,
    batch_per_caller: batch,
    rounds,
    seconds_per_round: seconds,
    zipf_s,
    durable: true,
    cpus: os.cpus().length,
    node: process.version,
    total_s: round1((performance.now() - started) / 1000),
  };
  console.log(JSON.stringify(result));
  if (sqlite?.verified === false || pg?.verified === false) process.exitCode = 1;
}

await main();
