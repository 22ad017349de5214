/**
 * A small JSON client for a real server over a socket (fetch keeps connections alive), and the
 * sign-in of the bootstrap administrator of a spawned server.
 */
import type { Kysely } from 'kysely';
import { currentTotp, setTotpSecret } from '../../src/identity/sessions.js';
import type { IdentityTables } from '../../src/identity/tables.js';
import { openDatabase, type Database } from '../../src/platform/db/database.js';
import { Secrets } from '../../src/platform/secrets.js';
import path from 'node:path';

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export async function call(
  base: string,
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${url}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

/** Opens the database a spawned server uses: PostgreSQL by URL, else `<dataDir>/xiaowei.db`. */
export function openServerDatabase(databaseUrl: string | undefined, dataDir: string): Database {
  return databaseUrl ? openDatabase({ url: databaseUrl, poolSize: 4 }) : openDatabase({ url: `sqlite:${path.join(dataDir, 'xiaowei.db')}` });
}

/**
 * Gives the bootstrap admin a TOTP secret (directly in the database, sealed with the servers'
 * master key) and signs in over HTTP; returns the bearer token.
 */
export async function adminToken(base: string, database: Database, masterKey: string, password: string): Promise<string> {
  const db = database.kysely as Kysely<IdentityTables>;
  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  const secrets = Secrets.load({ hexKey: masterKey, dataDir: '/nonexistent' });
  const secret = await setTotpSecret({ db, secrets }, admin.id);
  const res = await call(base, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password, totp: currentTotp(secret) } });
  if (res.status !== 200 || !res.body?.token) throw new Error(`admin login failed: ${res.status} ${res.text}`);
  return res.body.token as string;
}

/** Runs `task` over `items` with at most `concurrency` at a time. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
