import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { buildApp, type Xiaowei } from '../../../server/src/app.js';
import { hashPassword } from '../../../server/src/identity/passwords.js';
import { currentTotp, setTotpSecret } from '../../../server/src/identity/sessions.js';
import type { IdentityTables } from '../../../server/src/identity/tables.js';
import { createUser } from '../../../server/src/identity/users.js';
import { createLedger } from '../../../server/src/ledger/index.js';
import { loadConfig } from '../../../server/src/platform/config.js';
import { openDatabase, type Database } from '../../../server/src/platform/db/database.js';
import { migrate } from '../../../server/src/platform/db/migrations.js';
import { Secrets } from '../../../server/src/platform/secrets.js';
import { bootstrap } from '../../../server/src/seed/bootstrap.js';

export const ADMIN_PASSWORD = 'Admin-pass-2026';
export const WEB_DIST = fileURLToPath(new URL('../../dist', import.meta.url));

export interface ConsoleServer extends Xiaowei {
  /** http://127.0.0.1:<port> — the API and the built console on one origin. */
  baseUrl: string;
  db: Kysely<IdentityTables>;
  bankId: string;
  /** The bootstrap admin's TOTP secret; `currentTotp(adminSecret)` is the code to type. */
  adminSecret: string;
  /** A user of the role, not yet enrolled in TOTP (an auditor must enrol at first sign-in). */
  addUser(username: string, role: 'auditor' | 'branch_staff', password: string): Promise<void>;
  close(): Promise<void>;
}

export { currentTotp };

/**
 * The whole server, in this process, on a fresh SQLite file, serving web/dist — what
 * server/test/harness.ts does, without the server suite's vitest globalSetup, plus a real socket
 * for the browser.
 */
export async function startConsoleServer(): Promise<ConsoleServer> {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) throw new Error(`no console build in ${WEB_DIST}: run vite build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-web-test-'));
  let database: Database | undefined;
  try {
    database = openDatabase({ url: `sqlite:${path.join(dir, 'console.db')}` });
    await migrate(database);
    const config = loadConfig({ LOG_LEVEL: 'silent', XIAOWEI_DATA_DIR: dir, XIAOWEI_PENDING_SWEEP_MS: '3600000' });
    const secrets = Secrets.ephemeral();
    const db = database.kysely as Kysely<IdentityTables>;

    const bootLedger = createLedger(database, config);
    const { bankId } = await bootstrap(db, bootLedger);
    await bootLedger.drain();
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    await db
      .updateTable('users')
      .set({ password_hash: await hashPassword(ADMIN_PASSWORD) })
      .where('id', '=', admin.id)
      .execute();
    const adminSecret = await setTotpSecret({ db, secrets }, admin.id);

    const built = await buildApp({ config, database, secrets, logger: false, webDist: WEB_DIST });
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    const address = built.app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    const opened = database;
    return {
      ...built,
      baseUrl: `http://127.0.0.1:${address.port}`,
      db,
      bankId,
      adminSecret,
      async addUser(username, role, password) {
        await createUser(db, { username, display_name: username, role, org_id: bankId, password });
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
