import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { TEST_DATABASE_URL } from './pg-url.js';

/** Decides once whether PostgreSQL is there; says so loudly when it is not. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide('pgAvailable', false);
  const wanted = (process.env.XIAOWEI_TEST_DIALECTS ?? 'sqlite,postgres').includes('postgres');
  if (!wanted) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    project.provide('pgAvailable', true);
  } catch (error) {
    const line = '!'.repeat(78);
    const message = `${line}\n!! PostgreSQL is NOT reachable at ${TEST_DATABASE_URL}\n!! (${(error as Error).message})\n!! The PostgreSQL half of the suite is SKIPPED.\n${line}`;
    if (process.env.XIAOWEI_REQUIRE_PG === '1') throw new Error(`${message}\nXIAOWEI_REQUIRE_PG=1: failing the run.`);
    console.warn(message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAvailable: boolean;
  }
}
