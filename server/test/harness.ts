import type { Kysely } from 'kysely';
import { buildApp, type Xiaowei } from '../src/app.js';
import { currentTotp, setTotpSecret } from '../src/identity/sessions.js';
import type { IdentityTables } from '../src/identity/tables.js';
import { createUser } from '../src/identity/users.js';
import { createLedger } from '../src/ledger/index.js';
import { loadConfig } from '../src/platform/config.js';
import type { Dialect } from '../src/platform/db/database.js';
import { Secrets } from '../src/platform/secrets.js';
import { bootstrap } from '../src/seed/bootstrap.js';
import { createTestDatabase, type TestDatabase } from './dialects.js';

export const ADMIN_PASSWORD = 'Admin-pass-2026';

export interface Harness extends Xiaowei {
  tdb: TestDatabase;
  db: Kysely<IdentityTables>;
  secrets: Secrets;
  bankId: string;
  /** Bearer token of the bootstrap administrator (TOTP enrolled). */
  adminToken: string;
  /** Creates a user and returns a bearer token for it. */
  login(username: string, password: string, totpSecret?: string): Promise<string>;
  userToken(role: 'branch_staff' | 'auditor' | 'merchant_owner' | 'cashier', orgId: string, merchantId?: string): Promise<string>;
  close(): Promise<void>;
}

let userCounter = 0;

/** A whole server on a fresh database of the dialect, bootstrapped, with an admin signed in. */
export async function createHarness(dialect: Dialect, env: Record<string, string> = {}): Promise<Harness> {
  const tdb = await createTestDatabase(dialect);
  const config = loadConfig({ XIAOWEI_DATA_DIR: '/tmp/xiaowei-test-unused', LOG_LEVEL: 'silent', XIAOWEI_PENDING_SWEEP_MS: '3600000', ...env });
  const secrets = Secrets.ephemeral();
  const db = tdb.database.kysely as Kysely<IdentityTables>;
  const bootLedger = createLedger(tdb.database, config);
  const { bankId } = await bootstrap(db, bootLedger);
  await bootLedger.drain();
  // Give the bootstrap admin a known password and TOTP secret.
  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  const { hashPassword } = await import('../src/identity/passwords.js');
  await db.updateTable('users').set({ password_hash: await hashPassword(ADMIN_PASSWORD) }).where('id', '=', admin.id).execute();
  const adminSecret = await setTotpSecret({ db, secrets }, admin.id);
  const built = await buildApp({ config, database: tdb.database, secrets, logger: false, webDist: null });

  const login = async (username: string, password: string, totpSecret?: string): Promise<string> => {
    const res = await built.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password, ...(totpSecret ? { totp: currentTotp(totpSecret) } : {}) },
    });
    const body = res.json<{ token?: string }>();
    if (res.statusCode !== 200 || !body.token) throw new Error(`login ${username} failed: ${res.body}`);
    return body.token;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD, adminSecret);

  return {
    ...built,
    tdb,
    db,
    secrets,
    bankId,
    adminToken,
    login,
    async userToken(role, orgId, merchantId) {
      const username = `u${++userCounter}.${role}`.replace(/_/g, '-');
      const password = 'Passw0rd-for-tests';
      const user = await createUser(db, { username, display_name: username, role, org_id: orgId, merchant_id: merchantId ?? null, password });
      if (role === 'auditor') return login(username, password, await setTotpSecret({ db, secrets }, user.id));
      return login(username, password);
    },
    async close() {
      // A close that hangs fails its hook at 60 s with no clue why: say what is still open first.
      const slow = setTimeout(() => {
        const connections = new Promise<number>((resolve) => built.app.server.getConnections((_e, n) => resolve(n)));
        void connections.then((n) => {
          console.warn(`[harness] app.close() still waiting after 15 s on ${dialect}: ${n} open connection(s), handles: ${activeHandles()}; closing them`);
          // Seen rarely in the simulator suite on a loaded machine (one connection left open, cause not
          // found yet): end them so the suite's other results stand; the warning above keeps it visible.
          built.app.server.closeAllConnections();
        });
      }, 15_000);
      try {
        await built.app.close();
      } finally {
        clearTimeout(slow);
      }
      await tdb.drop();
    },
  };
}

function activeHandles(): string {
  const counts = new Map<string, number>();
  for (const h of (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles()) {
    const name = h.constructor.name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k}×${v}`).join(', ');
}

/** Headers for an authenticated JSON request. */
export const auth = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({ authorization: `Bearer ${token}`, ...extra });
