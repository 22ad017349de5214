import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { buildApp, type Xiaowei } from '../../../server/src/app.js';
import { hashPassword } from '../../../server/src/identity/passwords.js';
import { currentTotp, setTotpSecret } from '../../../server/src/identity/sessions.js';
import type { IdentityTables } from '../../../server/src/identity/tables.js';
import { createLedger } from '../../../server/src/ledger/index.js';
import { loadConfig } from '../../../server/src/platform/config.js';
import { openDatabase, type Database } from '../../../server/src/platform/db/database.js';
import { migrate } from '../../../server/src/platform/db/migrations.js';
import { Secrets } from '../../../server/src/platform/secrets.js';
import { publishAppBundles, type AppBundlesOutcome } from '../../../server/src/seed/app-bundles.js';
import { bootstrap } from '../../../server/src/seed/bootstrap.js';
import type { AppsDb } from '../../../server/src/terminals/apps-tables.js';

export const TERMINAL_DIST = fileURLToPath(new URL('../../terminal/dist/shell', import.meta.url));
export const BUNDLES_DIR = fileURLToPath(new URL('../../terminal/dist/bundles', import.meta.url));
const ADMIN_PASSWORD = 'Admin-pass-2026';

/** One terminal request as the server received it (before authentication). */
export interface SeenRequest {
  method: string;
  url: string;
  idempotencyKey: string | null;
}

export interface TerminalServer extends Xiaowei {
  /** http://127.0.0.1:<port> — the API and the built terminal app on one origin. */
  baseUrl: string;
  db: Kysely<AppsDb>;
  bankId: string;
  /** What the seed published from web/terminal/dist/bundles. */
  seeded: AppBundlesOutcome;
  /** Every /api/v1/terminal/ request that reached the server, in arrival order. */
  seen: SeenRequest[];
  /** The server's secrets and the administrator's bearer token (for server-side test helpers such as setupPaymentsWorld). */
  secrets: Secrets;
  adminToken: string;
  /** A staff API call as the bootstrap administrator; throws unless the status is 2xx. */
  api<T>(method: string, url: string, body?: unknown, contentType?: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * The whole server in this process on a fresh SQLite file, serving the built terminal app at
 * /terminal/, with the repository's app bundles published by the seed — what `npm start` gives,
 * plus a record of the terminal requests that arrived (to prove the outbox sends once).
 */
export async function startTerminalServer(): Promise<TerminalServer> {
  if (!fs.existsSync(path.join(TERMINAL_DIST, 'index.html'))) throw new Error(`no terminal build in ${TERMINAL_DIST}: run npm run build:terminal first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-terminal-test-'));
  let database: Database | undefined;
  try {
    database = openDatabase({ url: `sqlite:${path.join(dir, 'terminal.db')}` });
    await migrate(database);
    const config = loadConfig({ LOG_LEVEL: 'silent', XIAOWEI_DATA_DIR: dir, XIAOWEI_PENDING_SWEEP_MS: '3600000' });
    const secrets = Secrets.ephemeral();
    const db = database.kysely as Kysely<IdentityTables>;
    const bootLedger = createLedger(database, config);
    const { bankId } = await bootstrap(db, bootLedger);
    await bootLedger.drain();
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    await db.updateTable('users').set({ password_hash: await hashPassword(ADMIN_PASSWORD) }).where('id', '=', admin.id).execute();
    const adminSecret = await setTotpSecret({ db, secrets }, admin.id);

    const built = await buildApp({ config, database, secrets, logger: false, webDist: null, terminalDist: TERMINAL_DIST });
    const seen: SeenRequest[] = [];
    built.app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/api/v1/terminal/')) return;
      const key = request.headers['idempotency-key'];
      seen.push({ method: request.method, url: request.url, idempotencyKey: typeof key === 'string' ? key : null });
    });
    const appsDb = database.kysely as Kysely<AppsDb>;
    const seeded = await publishAppBundles(appsDb, built.crypto, { dir: BUNDLES_DIR });
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    const address = built.app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    const baseUrl = `http://127.0.0.1:${address.port}`;

    const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD, totp: currentTotp(adminSecret) }),
    });
    const token = ((await login.json()) as { token?: string }).token;
    if (!token) throw new Error(`admin login failed: ${login.status}`);

    const opened = database;
    return {
      ...built,
      baseUrl,
      db: appsDb,
      bankId,
      seeded,
      seen,
      secrets,
      adminToken: token,
      async api<T>(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<T> {
        const payload = body === undefined ? undefined : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body);
        const res = await fetch(`${baseUrl}${url}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': contentType }) },
          ...(payload === undefined ? {} : { body: payload }),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${text}`);
        return (text ? JSON.parse(text) : null) as T;
      },
      async close() {
        await built.app.close();
        await opened.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await database?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A new version of a built bundle: the same files, another version, some text files edited. */
export function rebuildBundle(file: string, version: string, edits: Record<string, (text: string) => string> = {}): Uint8Array {
  const bundle = JSON.parse(fs.readFileSync(path.join(BUNDLES_DIR, file), 'utf8')) as { format: string; app: string; version: string; entry: string; files: Record<string, string> };
  const files = { ...bundle.files };
  for (const [name, edit] of Object.entries(edits)) {
    const content = files[name];
    if (content === undefined) throw new Error(`${file} has no ${name}`);
    files[name] = Buffer.from(edit(Buffer.from(content, 'base64').toString('utf8')), 'utf8').toString('base64');
  }
  return new TextEncoder().encode(JSON.stringify({ format: bundle.format, app: bundle.app, version, entry: bundle.entry, files }));
}
