/**
 * The end-to-end half of bench:iso8583: ISO 8583 sales from simulated conventional POS terminals
 * (bench/src/iso-load.ts, its own process) through the acquirer host and the payments engine of a
 * real server process (SQLite, durable ledger, risk on) over the switch link to the switch
 * simulator (`xiaowei switch-sim`, its own process) — other banks' cards, so every sale is
 * authorised by the switch: PIN translated TPK → ZPK, MACs on both legs, the switch journal, the
 * ledger leg from the switch clearing account.
 *
 * Set-up goes through the staff API the way a bank would do it (fee plan, merchants, the ZMK key
 * ceremony, platform terminals of kind 'pos' and their TMKs). After the run the servers stop and the
 * bench checks: the ledger verifies from scratch; the switch clearing account moved by exactly the
 * approved off-us sales in `pay_transactions`, which equal what the terminals saw approved.
 *
 * Knobs (env): BENCH_ISO_TERMINALS (128), BENCH_ISO_MERCHANTS (16), BENCH_ISO_CARDS (2000),
 * BENCH_ISO_WARM_S (3), BENCH_ISO_WINDOW_S (4), BENCH_ISO_WINDOWS (3); BENCH_ISO_PROFILE=<dir> writes CPU
 * profiles of the server and the simulator (read with `npx tsx bench/src/payments-profile.ts <dir>/*.cpuprofile`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { createParty } from '../../server/src/identity/parties.js';
import { hashPassword } from '../../server/src/identity/passwords.js';
import { currentTotp, setTotpSecret } from '../../server/src/identity/sessions.js';
import type { IdentityTables } from '../../server/src/identity/tables.js';
import { createLedger } from '../../server/src/ledger/index.js';
import { loadConfig } from '../../server/src/platform/config.js';
import { openDatabase } from '../../server/src/platform/db/database.js';
import { migrate } from '../../server/src/platform/db/migrations.js';
import { Secrets } from '../../server/src/platform/secrets.js';
import { BANK_ACCOUNTS, bootstrap } from '../../server/src/seed/bootstrap.js';
import { SIM_TEST_ZMK_COMPONENTS, seededCards } from '../../server/src/gateway/switch-sim/index.js';
import { percentile } from '../../server/src/terminals/simulator.js';
import type { IsoLoadConfig, IsoLoadResult } from './iso-load.js';
import { Api, cpuMs, freePort, median, round, sleep } from './support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const TERMINALS = Math.max(1, env('BENCH_ISO_TERMINALS', 128));
const MERCHANTS = Math.max(1, env('BENCH_ISO_MERCHANTS', 16));
const CARDS = Math.max(1, env('BENCH_ISO_CARDS', 2000));
const WARM_S = env('BENCH_ISO_WARM_S', 3);
const WINDOW_S = Math.max(1, env('BENCH_ISO_WINDOW_S', 4));
const WINDOWS = Math.max(1, env('BENCH_ISO_WINDOWS', 3));
const MASTER_KEY = 'cd'.repeat(32);
const PASSWORD = 'Bench-admin-2026';
const SEED = 'bench-iso';
const PROFILE_DIR = process.env.BENCH_ISO_PROFILE ? path.resolve(process.env.BENCH_ISO_PROFILE) : null;

export interface IsoE2eFigures {
  iso_e2e_tps: number;
  iso_e2e_p50_ms: number;
  iso_e2e_p99_ms: number;
  iso_e2e_windows_tps: number[];
  iso_e2e_terminals: number;
  iso_e2e_sales: number;
  iso_e2e_approved_share: number;
  iso_e2e_codes: Record<string, number>;
  iso_e2e_errors: number;
  iso_e2e_server_cpu_us_per_sale: number;
  iso_e2e_sim_cpu_us_per_sale: number;
  iso_e2e_loader_cpu_us_per_sale: number;
  iso_e2e_ledger_ok: boolean;
  iso_e2e_books_match: boolean;
}




/** Starts `xiaowei <args>` and resolves once a stdout line contains `ready`. */
function startCli(args: string[], extraEnv: Record<string, string>, ready: string): Promise<ChildProcess> {
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROFILE_DIR, args[0]!)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, 'server/src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`xiaowei ${args[0]} exited with ${code}`));
    child.once('exit', onExit);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.includes(ready)) {
        child.off('exit', onExit);
        resolve(child);
      }
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await gone;
  }
}


/** The bank, an administrator with a known password and TOTP secret, merchant parties — straight into the database. */
async function prepare(url: string, dataDir: string): Promise<{ bankId: string; totpSecret: string; merchants: string[] }> {
  const database = openDatabase({ url });
  try {
    await migrate(database);
    const config = loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const secrets = Secrets.load({ hexKey: MASTER_KEY, dataDir });
    const ledger = createLedger(database, config);
    const db = database.kysely as Kysely<IdentityTables>;
    const { bankId } = await bootstrap(db, ledger);
    await ledger.drain();
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    await db.updateTable('users').set({ password_hash: await hashPassword(PASSWORD) }).where('id', '=', admin.id).execute();
    const totpSecret = await setTotpSecret({ db, secrets }, admin.id);
    const merchants: string[] = [];
    for (let m = 0; m < MERCHANTS; m++) {
      merchants.push((await createParty(db, secrets, { kind: 'business', name: `压测商户 ISO bench shop ${m}`, roles: ['merchant'], org_id: bankId })).id);
    }
    return { bankId, totpSecret, merchants };
  } finally {
    await database.close();
  }
}

/** After the run: the ledger from scratch, and the switch clearing account against the approved off-us sales. */
async function checkBooks(url: string, dataDir: string, loaderApproved: number | null): Promise<{ ledgerOk: boolean; booksMatch: boolean; detail: string }> {
  const database = openDatabase({ url });
  try {
    const ledger = createLedger(database, loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    const report = await ledger.verify();
    const [clearing] = await ledger.lookupAccounts([BANK_ACCOUNTS.switch_clearing]);
    const moved = clearing ? clearing.debits_posted - clearing.credits_posted : 0;
    const db = database.kysely as Kysely<{ pay_transactions: { account_id: string | null; card_id: string | null; status: string; type: string; amount: number } }>;
    const row = await db
      .selectFrom('pay_transactions')
      .select((eb) => eb.fn.sum<string>('amount').as('total'))
      .where('account_id', '=', BANK_ACCOUNTS.switch_clearing)
      .where('type', '=', 'sale')
      .where('status', '=', 'approved')
      .executeTakeFirst();
    const approved = Number(row?.total ?? 0);
    await ledger.drain();
    const booksMatch = moved === approved && (loaderApproved === null || loaderApproved === approved);
    return { ledgerOk: report.ok, booksMatch, detail: `clearing moved ${moved}, approved off-us sales ${approved}, terminals saw ${loaderApproved ?? 'n/a'}` };
  } finally {
    await database.close();
  }
}

export async function runIsoE2e(log: (line: string) => void): Promise<IsoE2eFigures> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-iso-'));
  const dbUrl = `sqlite:${path.join(dataDir, 'xiaowei.db')}`;
  const children: ChildProcess[] = [];
  try {
    const prepared = await prepare(dbUrl, dataDir);
    const [simPort, httpPort, isoPort] = [await freePort(), await freePort(), await freePort()];
    const sim = await startCli(['switch-sim', '--port', String(simPort), '--cards', String(CARDS), '--seed', SEED, '--out', path.join(dataDir, 'switch')], {}, 'listening');
    children.push(sim);
    const server = await startCli(['start', '--no-demo'], {
      PORT: String(httpPort),
      HOST: '127.0.0.1',
      XIAOWEI_DATA_DIR: dataDir,
      DATABASE_URL: dbUrl,
      XIAOWEI_MASTER_KEY: MASTER_KEY,
      XIAOWEI_RISK: 'on',
      XIAOWEI_ISO_PORT: String(isoPort),
      XIAOWEI_SWITCH_URL: `tcp://127.0.0.1:${simPort}`,
    }, 'listening on');
    children.push(server);
    const base = `http://127.0.0.1:${httpPort}`;
    const login = (await (
      await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: currentTotp(prepared.totpSecret) }),
      })
    ).json()) as { token?: string };
    if (!login.token) throw new Error('admin login failed');
    const api = new Api(base, login.token);

    // What the bank's staff do once: fee plan, merchants, the key ceremony with the switch, the POS terminals and their TMKs.
    const plan = await api.call<{ id: string }>('POST', '/fee-plans', { org_id: prepared.bankId, name: '压测费率 ISO bench 0.38%', rate_bp: 38, min_fee: 1, max_fee: 2000, fixed_fee: 0 });
    for (const partyId of prepared.merchants) await api.call('POST', '/merchants', { party_id: partyId, mcc: '5411', fee_plan_id: plan.id, settlement_cycle: 'T1' });
    await api.call('POST', '/gateway/switch/zmk', { components: [...SIM_TEST_ZMK_COMPONENTS] });
    const terminals: IsoLoadConfig['terminals'] = [];
    for (let i = 0; i < TERMINALS; i++) {
      const owner = prepared.merchants[i % prepared.merchants.length]!;
      const t = await api.call<{ id: string }>('POST', '/terminals', { serial: `ISOB${String(i).padStart(6, '0')}`, model: 'Conventional POS', kind: 'pos', owner_party_id: owner });
      const c1 = randomBytes(16);
      const c2 = randomBytes(16);
      const tmk = Buffer.from(c1.map((b, k) => b ^ c2[k]!)).toString('hex').toUpperCase();
      const tid = `B${String(i).padStart(7, '0')}`;
      const pos = await api.call<{ mid: string }>('POST', '/gateway/pos-terminals', { terminal_id: t.id, tid, tmk_components: [c1.toString('hex'), c2.toString('hex')] });
      terminals.push({ tid, mid: pos.mid, tmk });
    }
    for (let i = 0; ; i++) {
      const status = await api.call<{ state: string }>('GET', '/gateway/switch');
      if (status.state === 'signed_on') break;
      if (i > 100) throw new Error(`the switch link did not sign on: ${JSON.stringify(status)}`);
      await sleep(100);
    }
    log(`iso e2e: ${TERMINALS} POS terminals of ${MERCHANTS} merchants, ${CARDS} switch cards; link signed on`);

    const cards = seededCards(SEED, CARDS).map((c) => ({ pan: c.pan, expiry: c.expiry, pin: c.pin }));
    const seconds = WARM_S + WINDOW_S * WINDOWS;
    const file = path.join(dataDir, 'load.json');
    fs.writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: isoPort, terminals, cards, seconds, amount: { min: 100, max: 5000 } } satisfies IsoLoadConfig));
    const loader = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/src/iso-load.ts'), file], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(loader);
    let cpuAtStart = { server: 0, sim: 0, loader: 0 };
    const result = await new Promise<IsoLoadResult>((resolve, reject) => {
      loader.once('exit', (code) => reject(new Error(`iso load generator exited with ${code}`)));
      readline.createInterface({ input: loader.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { type: string };
        if (event.type === 'ready') cpuAtStart = { server: cpuMs(server.pid), sim: cpuMs(sim.pid), loader: cpuMs(loader.pid) };
        if (event.type === 'result') resolve(event as IsoLoadResult);
      });
    });
    const cpuUsed = { server: cpuMs(server.pid) - cpuAtStart.server, sim: cpuMs(sim.pid) - cpuAtStart.sim, loader: cpuMs(loader.pid) - cpuAtStart.loader };

    const windows: { n: number; latency: number[] }[] = Array.from({ length: WINDOWS }, () => ({ n: 0, latency: [] }));
    const measured: number[] = [];
    for (let i = 0; i < result.doneAt.length; i++) {
      const at = result.doneAt[i]! / 1000 - WARM_S;
      if (at < 0) continue;
      const w = Math.floor(at / WINDOW_S);
      if (w >= WINDOWS) continue;
      windows[w]!.n++;
      windows[w]!.latency.push(result.latency[i]!);
      measured.push(result.latency[i]!);
    }
    const sales = result.doneAt.length;
    const windowsTps = windows.map((w) => round(w.n / WINDOW_S));
    await stop(loader);
    await stop(server);
    await stop(sim);
    const books = await checkBooks(dbUrl, dataDir, result.errors === 0 ? result.approvedAmount : null);
    log(`iso e2e books: ledger ${books.ledgerOk ? 'verified' : 'FAILED'}; ${books.detail}`);
    const perSale = (ms: number): number => (sales > 0 ? Math.round((ms * 1000) / sales) : 0);
    return {
      iso_e2e_tps: round(median(windowsTps)),
      iso_e2e_p50_ms: round(percentile(measured, 0.5), 2),
      iso_e2e_p99_ms: round(percentile(measured, 0.99), 2),
      iso_e2e_windows_tps: windowsTps,
      iso_e2e_terminals: TERMINALS,
      iso_e2e_sales: sales,
      iso_e2e_approved_share: sales > 0 ? round(result.approved / sales, 3) : 0,
      iso_e2e_codes: result.codes,
      iso_e2e_errors: result.errors,
      iso_e2e_server_cpu_us_per_sale: perSale(cpuUsed.server),
      iso_e2e_sim_cpu_us_per_sale: perSale(cpuUsed.sim),
      iso_e2e_loader_cpu_us_per_sale: perSale(cpuUsed.loader),
      iso_e2e_ledger_ok: books.ledgerOk,
      iso_e2e_books_match: books.booksMatch,
    };
  } finally {
    for (const c of children) await stop(c);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
