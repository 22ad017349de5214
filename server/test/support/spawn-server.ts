/**
 * Real server processes for tests that need more than `inject`: several processes on one
 * database, or a process killed with SIGKILL. The server runs from source through tsx (the same
 * way from a clean checkout, no build step); every child is tracked and killed by `killAll`
 * (call it in afterAll) and, as a last resort, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SERVER_DIR = path.resolve(here, '../..');
const MAIN_TS = path.join(SERVER_DIR, 'src/cli/main.ts');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** The bootstrap admin password, when this process created the admin (first start). */
  adminPassword(): string | undefined;
  /** Waits (bounded) until stdout matches. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray | null>;
  /** True once the process has exited. */
  exited(): boolean;
  /** Resolves with the exit code / signal once the process is gone. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A random 64-hex-digit master key. */
export const newMasterKey = (): string => randomBytes(32).toString('hex');

export interface StartOptions {
  /** postgres://… ; leave undefined for SQLite in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  masterKey: string;
  port?: number;
  /** Extra environment (config variables). */
  env?: Record<string, string>;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

/** Environment for a child: ours without any database/config variables, then the given ones. */
function childEnv(o: StartOptions, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'DATABASE_URL' || k.startsWith('XIAOWEI_') || k === 'PORT' || k === 'HOST' || k === 'LOG_LEVEL') continue;
    if (k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    XIAOWEI_DATA_DIR: o.dataDir,
    XIAOWEI_MASTER_KEY: o.masterKey,
    NODE_ENV: 'test',
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
    ...o.env,
  });
  return env;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spawns `xiaowei start --no-demo` and resolves once GET /readyz answers 200. */
export async function startServer(o: StartOptions): Promise<ServerProcess> {
  const port = o.port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN_TS, 'start', '--no-demo'], {
    cwd: SERVER_DIR,
    env: childEnv(o, port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  let gone = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    child,
    pid: child.pid!,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    adminPassword: () => /password 密码:\s+(\S+)/.exec(out)?.[1],
    exited: () => gone,
    exit,
    async waitForOutput(re: RegExp, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m || gone || Date.now() > until) return m;
        await sleep(20);
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (gone) return;
      try {
        process.kill(child.pid!, signal);
      } catch {
        // already gone
      }
      await exit;
    },
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (gone) throw new Error(`server exited before it was ready\nstdout:\n${out}\nstderr:\n${err}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) {
        await res.arrayBuffer();
        // The start command prints the logins right after listen(); give stdout a moment.
        await server.waitForOutput(/listening on[\s\S]*database/, 5000);
        return server;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.kill();
      throw new Error(`server not ready in time\nstdout:\n${out}\nstderr:\n${err}`);
    }
    await sleep(100);
  }
}

/** Kills every child still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          try {
            child.kill('SIGKILL');
          } catch {
            resolve();
          }
        }),
    ),
  );
}
