/**
 * bench:fleet — a fleet of simulated terminals connected and heartbeating, then a rollout to all
 * of them. Everything runs on this machine: PostgreSQL, two server processes (built server, as
 * behind a load balancer: one process may hold at most ~20,000 sockets here, the hard
 * open-files limit), and simulator processes (`xiaowei simulate terminals --jsonl`) that speak
 * the real protocol through the terminal client: activation, sign-on, MAC-signed heartbeats, SSE
 * push, command fetch and acknowledgement, bundle download with digest check, update reports.
 *
 * Phases: prepare a fresh database (bank, administrator, terminals, activation codes) → start the
 * servers → group, parameters (heartbeat every BENCH_FLEET_HEARTBEAT_S), an app at 1.0.0 for the
 * group → start the simulators and wait until every terminal is signed on with its push stream →
 * BENCH_FLEET_IDLE_S of heartbeats → publish 1.0.1 and approve a one-stage rollout to the group →
 * measure how long each terminal took to receive the update notice, and count installs.
 * Heartbeats are reported per phase (idle; notice: end of idle → last notice; after) and in a
 * 4-second timeline, next to each server's and simulator's event-loop delay, GC pauses and CPU
 * (`src/fleet-probe.ts`) and the machine's busy cores, so a slow phase shows who was busy.
 * The last line of output is one JSON object.
 *
 *   npm run bench:fleet    BENCH_FLEET_TERMINALS=20000 BENCH_FLEET_SIMULATORS=2
 *                          BENCH_FLEET_HEARTBEAT_S=30 BENCH_FLEET_IDLE_S=30 BENCH_FLEET_ACTIVATION_S=60
 *
 * Terminals still unactivated after BENCH_FLEET_ACTIVATION_S stay offline; the figures are for
 * the terminals online (`fleet_terminals`), next to the number asked for (`fleet_requested`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createParty } from '../server/src/identity/parties.js';
import { hashPassword } from '../server/src/identity/passwords.js';
import { currentTotp, setTotpSecret } from '../server/src/identity/sessions.js';
import type { IdentityTables } from '../server/src/identity/tables.js';
import { createLedger } from '../server/src/ledger/index.js';
import { loadConfig } from '../server/src/platform/config.js';
import { openDatabase } from '../server/src/platform/db/database.js';
import { migrate } from '../server/src/platform/db/migrations.js';
import { Secrets } from '../server/src/platform/secrets.js';
import { bootstrap } from '../server/src/seed/bootstrap.js';
import { buildBundle } from '../server/src/terminals/bundles.js';
import { percentile } from '../server/src/terminals/simulator.js';
import { provisionSimulatedTerminals } from '../server/src/terminals/simulator-provision.js';
import { probeArgs, probeFile, probeSummary, readProbe, sampleMachine, type ProbeSample } from './src/fleet-probe.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TERMINALS = Number(process.env.BENCH_FLEET_TERMINALS ?? 20_000);
const SIMULATORS = Number(process.env.BENCH_FLEET_SIMULATORS ?? 2);
const SERVERS = 2;
const HEARTBEAT_S = Number(process.env.BENCH_FLEET_HEARTBEAT_S ?? 30);
const IDLE_S = Number(process.env.BENCH_FLEET_IDLE_S ?? 30);
/** Terminals not activated by then stay offline, so the run ends within about 3 minutes. */
const ACTIVATION_S = Number(process.env.BENCH_FLEET_ACTIVATION_S ?? 60);
/** A directory: servers and simulators write V8 CPU profiles there (read them in Chrome DevTools). */
const PROFILE_DIR = process.env.BENCH_FLEET_PROFILE;
const profileArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
const NOTICE_WAIT_S = 40;
/**
 * The load generator's own V8 setting (never the servers'): a larger young generation. Ten
 * thousand simulated terminals per process make garbage fast (web streams, Responses, WebCrypto
 * jobs); with the default 16 MiB semi-space much of it was promoted, and the simulators' major
 * collections stalled them 0.2–0.9 s during the rollout (GC up to 37 % of a simulator's time),
 * adding that much to every heartbeat they timed — the load generator measuring itself.
 */
const SIMULATOR_NODE_ARGS = ['--max-semi-space-size=64'];
const MASTER_KEY = 'cd'.repeat(32);
const PASSWORD = 'Bench-admin-2026';
const PG_ADMIN = process.env.XIAOWEI_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `xiaowei_bench_fleet_${process.pid}`;
const DB_URL = PG_ADMIN.replace(/\/[^/]*$/, `/${DB_NAME}`);
const APP = 'fleetbench';

const t0 = Date.now();
const log = (line: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`);

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

async function adminSql(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Fresh database: the bank, an administrator we can sign in as, a merchant, terminals with codes. */
async function prepare(): Promise<{ totpSecret: string; merchantId: string; bankId: string; terminals: { serial: string; code: string }[] }> {
  const database = openDatabase({ url: DB_URL, poolSize: 16 });
  await migrate(database);
  const config = loadConfig({ XIAOWEI_DATA_DIR: os.tmpdir(), LOG_LEVEL: 'silent', DATABASE_URL: DB_URL });
  const secrets = Secrets.load({ hexKey: MASTER_KEY, dataDir: os.tmpdir() });
  const ledger = createLedger(database, config);
  const db = database.kysely as Kysely<IdentityTables>;
  const { bankId } = await bootstrap(db, ledger);
  await ledger.drain();
  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  await db.updateTable('users').set({ password_hash: await hashPassword(PASSWORD) }).where('id', '=', admin.id).execute();
  const totpSecret = await setTotpSecret({ db, secrets }, admin.id);
  const merchant = await createParty(db, secrets, { kind: 'business', name: '车队测试便利店 Fleet bench shop', roles: ['merchant'], org_id: bankId });
  const { terminals } = await provisionSimulatedTerminals(database.kysely as never, secrets, {
    count: TERMINALS,
    prefix: 'FLEET',
    ownerPartyId: merchant.id,
    now: Date.now() * 1000,
    concurrency: 16,
    onProgress: (n) => {
      if (n % 5000 === 0) log(`activation codes ${n}/${TERMINALS}`);
    },
  });
  await database.close();
  return { totpSecret, merchantId: merchant.id, bankId, terminals };
}

function startServer(port: number, dataDir: string, role: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...profileArgs, ...probeArgs(), path.join(root, 'server/dist/cli/main.js'), 'start', '--no-demo'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: DB_URL, XIAOWEI_DATA_DIR: dataDir, XIAOWEI_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'warn', BENCH_FLEET_PROBE_FILE: probeFile(dataDir, role) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve(child);
    });
  });
}

/** Resident set size now and at its peak (VmHWM), in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}
  async call<T>(method: string, url: string, body?: unknown, raw?: { bytes: Buffer; type: string }): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: BodyInit | undefined;
    if (raw) {
      headers['content-type'] = raw.type;
      payload = new Uint8Array(raw.bytes);
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${this.base}/api/v1${url}`, { method, headers, ...(payload ? { body: payload } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

interface SimEvent {
  type: string;
  t?: number;
  at?: number;
  ms?: number[];
  kind?: string;
  payload?: Record<string, unknown>;
  status?: string;
  activated?: number;
  failed?: number;
  errors?: number;
  error?: string;
  detail?: string;
  steps?: number[];
  errorCodes?: Record<string, number>;
}

async function main(): Promise<void> {
  log('building the server…');
  if (process.env.BENCH_FLEET_BUILD === '0') {
    log('BENCH_FLEET_BUILD=0: using the server already in server/dist');
  } else {
    try {
      execFileSync('npm', ['run', 'build', '--workspace', 'server'], { cwd: root, stdio: 'ignore' });
    } catch (error) {
      // tsc still writes the JavaScript when it finds type errors (someone's edit in progress in a shared tree).
      if (!fs.existsSync(path.join(root, 'server/dist/cli/main.js'))) throw error;
      log('the server build reported type errors (npm run typecheck says where); benchmarking the JavaScript it wrote');
    }
  }
  await adminSql(`drop database if exists ${DB_NAME}`);
  await adminSql(`create database ${DB_NAME}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-bench-fleet-'));
  const children: ChildProcess[] = [];
  try {
    log(`preparing PostgreSQL database ${DB_NAME} with ${TERMINALS} terminals…`);
    const prepared = await prepare();
    const ports = await Promise.all(Array.from({ length: SERVERS }, () => freePort()));
    const servers: ChildProcess[] = [];
    for (const [i, port] of ports.entries()) {
      const s = await startServer(port, dataDir, `server-${i}`);
      servers.push(s);
      children.push(s);
    }
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    log(`servers up on ${urls.join(', ')}`);

    const login = await fetch(`${urls[0]}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: currentTotp(prepared.totpSecret) }),
    });
    const { token } = (await login.json()) as { token: string };
    const api = new Api(urls[0]!, token);

    // One group for the fleet, its heartbeat period, and an app at 1.0.0 in a set assigned to it.
    const group = await api.call<{ id: string }>('POST', '/terminal-groups', { org_id: prepared.bankId, name: 'Fleet bench', params: { heartbeat_interval_s: HEARTBEAT_S } });
    const serials = prepared.terminals.map((t) => t.serial);
    for (let i = 0; i < serials.length; i += 5000) await api.call('POST', `/terminal-groups/${group.id}/members`, { serials: serials.slice(i, i + 5000) });
    const app = await api.call<{ id: string }>('POST', '/apps', { code: APP, name_zh: '车队测试', name_en: 'Fleet bench', scenario: 'common' });
    const bundle = (version: string): Buffer => buildBundle(APP, version, { 'index.html': `<h1>${version}</h1>`, 'app.js': `console.log(${JSON.stringify(version)})` });
    await api.call('POST', `/apps/${app.id}/versions?approve=true`, undefined, { bytes: bundle('1.0.0'), type: 'application/octet-stream' });
    const set = await api.call<{ id: string }>('POST', '/app-sets', { code: 'fleet_bench', name_zh: '车队测试', name_en: 'Fleet bench', scenario: 'common' });
    await api.call('PUT', `/app-sets/${set.id}/items/${app.id}`, { version: null });
    await api.call('POST', `/app-sets/${set.id}/assignments`, { group_id: group.id });

    // Simulators: terminal lists split evenly, simulator i talks to server i mod 2.
    const events: SimEvent[] = [];
    let ready = 0;
    let activated = 0;
    let activationFailed = 0;
    const progress = Array.from({ length: SIMULATORS }, () => 0);
    log('group, parameters, app 1.0.0 ready; starting the simulators…');
    const allReady = new Promise<void>((resolve) => {
      const per = Math.ceil(prepared.terminals.length / SIMULATORS);
      for (let i = 0; i < SIMULATORS; i++) {
        const file = path.join(dataDir, `sim-${i}.json`);
        fs.writeFileSync(file, JSON.stringify(prepared.terminals.slice(i * per, (i + 1) * per)));
        const child = spawn(
          process.execPath,
          [...profileArgs, ...probeArgs(), ...SIMULATOR_NODE_ARGS, path.join(root, 'server/dist/cli/main.js'), 'simulate', 'terminals', '--from', file, '--url', urls[i % SERVERS]!, '--jsonl', '--concurrency', '64', '--activation-seconds', String(ACTIVATION_S)],
          { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent', BENCH_FLEET_PROBE_FILE: probeFile(dataDir, `sim-${i}`) } },
        );
        children.push(child);
        readline.createInterface({ input: child.stdout }).on('line', (line) => {
          if (!line.startsWith('{')) return;
          let event: SimEvent;
          try {
            event = JSON.parse(line) as SimEvent;
          } catch {
            return; // a line cut short when the simulator is stopped at the end
          }
          if (event.type === 'progress') {
            progress[i] = event.activated ?? 0;
            const total = progress.reduce((a, b) => a + b, 0);
            if (total % 2000 === 0) log(`activated ${total}`);
          } else if (event.type === 'ready') {
            activated += event.activated ?? 0;
            activationFailed += event.failed ?? 0;
            if (++ready === SIMULATORS) resolve();
          } else if (event.type === 'command') {
            // Only what the figures use: the simulators block on a full stdout pipe while this
            // process is busy, so it keeps little (a payload's signature and digest add up to
            // megabytes over a rollout, and their collection stalled the simulators it reads).
            events.push({ type: 'command', at: event.at, kind: event.kind, payload: { version: event.payload?.version } });
          } else events.push(event);
        });
      }
    });
    const activationStart = Date.now();
    await allReady;
    const activationS = (Date.now() - activationStart) / 1000;
    log(`${activated} terminals activated and signed on in ${activationS.toFixed(1)} s (${activationFailed} failed); heartbeating every ${HEARTBEAT_S} s`);
    if (activationFailed > 0) {
      const why = new Map<string, number>();
      for (const e of events) if (e.type === 'activation_failed') why.set(String(e.error), (why.get(String(e.error)) ?? 0) + 1);
      log(`activation failures: ${JSON.stringify(Object.fromEntries(why))}`);
    }

    const machine = sampleMachine();
    const idleStart = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idleEnd = Date.now();

    // The rollout: 1.0.1 to the whole group in one stage.
    await api.call('POST', `/apps/${app.id}/versions`, undefined, { bytes: bundle('1.0.1'), type: 'application/octet-stream' });
    const rollout = await api.call<{ id: string }>('POST', '/rollouts', { app_id: app.id, version: '1.0.1', group_id: group.id, stages: [100], ignore_maintenance_window: true });
    const approveAt = Date.now();
    await api.call('POST', `/rollouts/${rollout.id}/approve`);
    const approvedIn = (Date.now() - approveAt) / 1000;
    log(`rollout approved (${approvedIn.toFixed(1)} s to store ${activated} update notices); waiting for notices…`);
    const noticed = (): SimEvent[] => events.filter((e) => e.type === 'command' && e.kind === 'update_available' && e.payload?.version === '1.0.1');
    const installed = (): number => events.filter((e) => e.type === 'update' && e.status === 'installed').length;
    const updateFailed = (): SimEvent[] => events.filter((e) => e.type === 'update' && e.status === 'failed');
    const deadline = approveAt + NOTICE_WAIT_S * 1000;
    while (Date.now() < deadline && (noticed().length < activated || installed() < activated)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const notices = noticed().map((e) => ((e.at ?? 0) - approveAt) / 1000);
    const installs = events.filter((e) => e.type === 'update' && e.status === 'installed').map((e) => ((e.at ?? 0) - approveAt) / 1000);
    const failures = new Map<string, number>();
    for (const e of updateFailed()) failures.set(String(e.detail), (failures.get(String(e.detail)) ?? 0) + 1);
    if (failures.size > 0) log(`update failures: ${JSON.stringify(Object.fromEntries(failures))}`);
    const stepsOf = (k: number): number[] => events.flatMap((e) => (e.type === 'update' && e.steps ? [e.steps[k] ?? 0] : []));
    const stepP50 = [0, 1, 2].map((k) => Math.round(percentile(stepsOf(k), 0.5)));
    const within30 = notices.filter((s) => s <= 30).length;
    const memory = servers.map((s) => memoryOf(s.pid!));

    // A simulator flushes the round trips of the last 2 s: count only flushes wholly after the
    // activations, so the fleet powering on is not mistaken for steady-state heartbeats.
    const FLUSH_MS = 2000;
    const inWindow = (e: SimEvent, from: number, to: number): boolean => e.type === 'hb' && (e.t ?? 0) - FLUSH_MS >= from && (e.t ?? 0) <= to;
    const hbIdle = events.filter((e) => inWindow(e, idleStart, idleEnd)).flatMap((e) => e.ms ?? []);
    const hbAll = events.filter((e) => inWindow(e, idleStart, Infinity)).flatMap((e) => e.ms ?? []);
    const end = Date.now();
    machine.stop();
    // Per phase: idle heartbeats; the notice phase (from the end of idle — the publication and the
    // approval — to the last notice received: the wakes, command fetches and first downloads); after it.
    const lastNotice = Math.max(approveAt, ...noticed().map((e) => e.at ?? 0));
    const probes = {
      servers: servers.map((_, i) => readProbe(probeFile(dataDir, `server-${i}`))),
      sims: Array.from({ length: SIMULATORS }, (_, i) => readProbe(probeFile(dataDir, `sim-${i}`))),
    };
    const phases: [string, number, number][] = [
      ['idle', idleStart, idleEnd],
      ['notice', idleEnd, lastNotice],
      ['after', lastNotice, end],
    ];
    const round1 = (v: number): number => Math.round(v * 10) / 10;
    const sumCpu = (list: ProbeSample[][], from: number, to: number): number => Math.round(list.reduce((a, p) => a + probeSummary(p, from, to).cpu, 0) * 100) / 100;
    const worst = (list: ProbeSample[][], from: number, to: number, k: 'loopP99' | 'loopMax' | 'gcMax' | 'gcShare'): number => Math.max(0, ...list.map((p) => probeSummary(p, from, to)[k]));
    const phaseFigures = Object.fromEntries(
      phases.map(([name, from, to]) => {
        const ms = events.filter((e) => inWindow(e, from, to)).flatMap((e) => e.ms ?? []);
        return [
          name,
          {
            s: round1((to - from) / 1000),
            heartbeats: ms.length,
            p50_ms: round1(percentile(ms, 0.5)),
            p99_ms: round1(percentile(ms, 0.99)),
            max_ms: round1(ms.length ? Math.max(...ms) : 0),
            over_50ms: ms.filter((v) => v > 50).length,
            server_loop_p99_ms: worst(probes.servers, from, to, 'loopP99'),
            server_loop_max_ms: worst(probes.servers, from, to, 'loopMax'),
            sim_loop_p99_ms: worst(probes.sims, from, to, 'loopP99'),
            sim_loop_max_ms: worst(probes.sims, from, to, 'loopMax'),
            server_gc_max_ms: worst(probes.servers, from, to, 'gcMax'),
            server_gc_share: worst(probes.servers, from, to, 'gcShare'),
            sim_gc_max_ms: worst(probes.sims, from, to, 'gcMax'),
            sim_gc_share: worst(probes.sims, from, to, 'gcShare'),
            server_cpu: sumCpu(probes.servers, from, to),
            sim_cpu: sumCpu(probes.sims, from, to),
            machine_cpu: probeSummary(machine.samples, from, to).cpu,
            bench_loop_max_ms: probeSummary(machine.samples, from, to).loopMax,
          },
        ];
      }),
    );
    for (const [name, f] of Object.entries(phaseFigures)) log(`phase ${name}: ${JSON.stringify(f)}`);
    // The run second by second (4 s buckets): where the slow heartbeats fall, and who was busy then.
    const BUCKET_MS = 4000;
    for (let from = idleStart; from < end; from += BUCKET_MS) {
      const to = from + BUCKET_MS;
      const ms = events.filter((e) => e.type === 'hb' && (e.t ?? 0) > from && (e.t ?? 0) <= to).flatMap((e) => e.ms ?? []);
      const n = noticed().filter((e) => (e.at ?? 0) > from && (e.at ?? 0) <= to).length;
      log(
        `  +${((from - approveAt) / 1000).toFixed(0).padStart(4)} s: hb ${String(ms.length).padStart(5)} p50 ${percentile(ms, 0.5).toFixed(0).padStart(4)} p99 ${percentile(ms, 0.99).toFixed(0).padStart(5)} ms >50 ms ${String(ms.filter((v) => v > 50).length).padStart(4)}` +
          ` | notices ${String(n).padStart(5)} | server loop p99 ${worst(probes.servers, from, to, 'loopP99').toFixed(0).padStart(4)} max ${worst(probes.servers, from, to, 'loopMax').toFixed(0).padStart(4)} ms` +
          ` sim loop p99 ${worst(probes.sims, from, to, 'loopP99').toFixed(0).padStart(4)} ms | gc max servers ${worst(probes.servers, from, to, 'gcMax').toFixed(0).padStart(3)} sims ${worst(probes.sims, from, to, 'gcMax').toFixed(0).padStart(3)} ms | cpu servers ${sumCpu(probes.servers, from, to).toFixed(2)} sims ${sumCpu(probes.sims, from, to).toFixed(2)} machine ${probeSummary(machine.samples, from, to).cpu.toFixed(2)} | bench loop max ${probeSummary(machine.samples, from, to).loopMax.toFixed(0)} ms`,
      );
    }
    const hbErrors = Math.max(0, ...events.filter((e) => e.type === 'hb').map((e) => e.errors ?? 0));
    const lastCodes = events.filter((e) => e.type === 'hb' && e.errorCodes).at(-1)?.errorCodes;
    if (hbErrors > 0 && lastCodes) log(`heartbeat errors by code (one simulator): ${JSON.stringify(lastCodes)}`);
    const figures = {
      fleet_requested: TERMINALS,
      fleet_terminals: activated,
      fleet_activation_failed: activationFailed,
      fleet_activation_s: Math.round(activationS * 10) / 10,
      fleet_servers: SERVERS,
      fleet_database: 'postgresql',
      fleet_heartbeat_interval_s: HEARTBEAT_S,
      fleet_heartbeats: hbAll.length,
      fleet_heartbeat_p50_ms: Math.round(percentile(hbAll, 0.5) * 10) / 10,
      fleet_heartbeat_p99_ms: Math.round(percentile(hbAll, 0.99) * 10) / 10,
      fleet_heartbeat_idle_p99_ms: Math.round(percentile(hbIdle, 0.99) * 10) / 10,
      /** p99 of the heartbeats while the notices go out (end of idle → last notice), and after. */
      fleet_heartbeat_notice_p99_ms: phaseFigures.notice!.p99_ms,
      fleet_heartbeat_after_p99_ms: phaseFigures.after!.p99_ms,
      /** Worst second's event-loop delay p99 of either server, and of either simulator, during the notice phase. */
      fleet_notice_server_loop_p99_ms: phaseFigures.notice!.server_loop_p99_ms,
      fleet_notice_sim_loop_p99_ms: phaseFigures.notice!.sim_loop_p99_ms,
      fleet_heartbeat_errors: hbErrors,
      fleet_rollout_approve_s: Math.round(approvedIn * 10) / 10,
      fleet_noticed: notices.length,
      fleet_noticed_within_30s_pct: activated ? Math.round((within30 / activated) * 1000) / 10 : 0,
      fleet_notice_p50_s: Math.round(percentile(notices, 0.5) * 100) / 100,
      fleet_notice_p99_s: notices.length >= activated * 0.99 ? Math.round(percentile(notices, 0.99 * (activated / notices.length)) * 100) / 100 : null,
      fleet_installed: installed(),
      fleet_install_p99_s: installs.length >= activated * 0.99 ? Math.round(percentile(installs, 0.99 * (activated / installs.length)) * 100) / 100 : null,
      fleet_update_failed: updateFailed().length,
      /** Of an installed update, the median ms of: the 'downloading' report, the download and digest check, the 'installed' report. */
      fleet_update_steps_p50_ms: stepP50,
      fleet_rss_mb: Math.max(...memory.map((m) => m.peak)),
      fleet_rss_mb_per_server: memory.map((m) => m.peak),
      fleet_total_s: Math.round((Date.now() - t0) / 100) / 10,
    };
    log('done');
    console.log(JSON.stringify(figures));
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
    // A process writing its CPU profile needs longer than 1.5 s to exit.
    const exited = (c: ChildProcess): Promise<unknown> => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));
    await Promise.race([Promise.all(children.map(exited)), new Promise((r) => setTimeout(r, PROFILE_DIR ? 30_000 : 1500))]);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await adminSql(`drop database if exists ${DB_NAME} with (force)`).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
