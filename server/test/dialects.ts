import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database, type Dialect } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrations.js';

/**
 * One suite, every dialect (as Kysely's tests do). `XIAOWEI_TEST_DIALECTS=sqlite` narrows the run.
 * PostgreSQL comes from TEST_DATABASE_URL; each test database is created fresh and dropped after.
 */
import { TEST_DATABASE_URL } from './pg-url.js';

export { TEST_DATABASE_URL };

const wanted = (process.env.XIAOWEI_TEST_DIALECTS ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const pgAvailable = inject('pgAvailable');

export const DIALECTS: Dialect[] = (['sqlite', 'postgres'] as const).filter(
  (d) => wanted.includes(d) && (d === 'sqlite' || pgAvailable),
);

export interface TestDatabase {
  database: Database;
  /** A URL another process can open (postgres://… or sqlite:<file>). */
  url: string;
  drop(): Promise<void>;
}

let counter = 0;

function adminUrl(dbName: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
}

/** A fresh, migrated database of the given dialect. */
export async function createTestDatabase(dialect: Dialect, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  counter++;
  let database: Database;
  let url: string;
  let cleanup: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-test-'));
    const file = path.join(dir, 'test.db');
    url = `sqlite:${file}`;
    database = openDatabase({ url });
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `xw_t_${process.pid}_${counter}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    url = adminUrl(name);
    database = openDatabase({ url, poolSize: 10 });
    cleanup = async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  if (options.migrate !== false) await migrate(database);
  return {
    database,
    url,
    async drop() {
      await database.close().catch(() => undefined);
      await cleanup();
    },
  };
}
