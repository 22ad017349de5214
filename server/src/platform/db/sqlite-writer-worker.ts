import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { configureSqlite } from './sqlite-pragmas.js';

/** Operations a domain offers to the writer: synchronous functions on the writer's connection. */
export type SqliteOperations = Record<string, (payload: never) => unknown>;

interface Call {
  op: string;
  payload: unknown;
}

const { file, modules } = workerData as { file: string; modules: string[] };
const db = new BetterSqlite3(file);
configureSqlite(db);

const operations = new Map<string, (payload: unknown) => unknown>();
try {
  for (const url of modules) {
    const mod = (await import(url)) as { sqliteOperations: (db: BetterSqlite3.Database) => SqliteOperations };
    for (const [name, fn] of Object.entries(mod.sqliteOperations(db))) operations.set(name, fn as (p: unknown) => unknown);
  }
  parentPort!.postMessage({ ready: true });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message });
}

// One transaction per group of calls; each call in its own savepoint (better-sqlite3 nests
// transactions as savepoints), so a failing call is rolled back alone.
const runOne = db.transaction((call: Call) => {
  const fn = operations.get(call.op);
  if (!fn) throw new Error(`unknown sqlite operation ${call.op}`);
  return fn(call.payload);
});
const runGroup = db.transaction((calls: Call[]) =>
  calls.map((call) => {
    try {
      return { ok: runOne(call) };
    } catch (error) {
      const e = error as { message?: string; code?: string };
      return { error: { message: e.message ?? String(error), code: e.code } };
    }
  }),
);

parentPort!.on('message', (message: { calls: Call[] }) => {
  try {
    parentPort!.postMessage({ results: runGroup(message.calls) });
  } catch (error) {
    const e = error as { message?: string; code?: string };
    parentPort!.postMessage({ results: message.calls.map(() => ({ error: { message: e.message ?? 'commit failed', code: e.code } })) });
  }
});
