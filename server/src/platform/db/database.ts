import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { toSafeInt } from '../int.js';
import { Checkpointer, checkpointThreadWanted, CHECKPOINT_SAFETY_PAGES } from './checkpointer.js';
import { configureSqlite } from './sqlite-pragmas.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The open database: Kysely for ordinary queries, plus the raw driver handle that the ledger's
 * group-commit engine uses on its hot path (prepared statements on SQLite, bulk SQL on PostgreSQL).
 */
export interface Database {
  readonly dialect: Dialect;
  // Each domain narrows this to its own tables; the platform does not know them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly kysely: Kysely<any>;
  readonly sqlite: BetterSqlite3.Database | undefined;
  readonly pool: pg.Pool | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

let pgTypesSet = false;
/** int8 and numeric (SUM of int8) become numbers, refusing anything that is not exact. */
function setPgTypeParsers(): void {
  if (pgTypesSet) return;
  pg.types.setTypeParser(20, (v) => toSafeInt(v, 'int8'));
  pg.types.setTypeParser(1700, (v) => toSafeInt(v, 'numeric'));
  pgTypesSet = true;
}

export interface OpenOptions {
  /** `postgres://…` or undefined for SQLite. */
  url?: string | undefined;
  /** SQLite file (default `<dataDir>/xiaowei.db`); ':memory:' for throwaway databases. */
  sqliteFile?: string;
  poolSize?: number;
}

export function openDatabase(options: OpenOptions): Database {
  if (options.url?.startsWith('postgres')) return openPostgres(options.url, options.poolSize ?? 10);
  const file = options.url?.startsWith('sqlite:') ? options.url.slice('sqlite:'.length) : options.sqliteFile;
  if (!file) throw new Error('openDatabase: no SQLite file given');
  return openSqlite(file);
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const handle = new BetterSqlite3(file);
  configureSqlite(handle);
  // A file in WAL mode: checkpoints in a worker thread, the main connection's only as a safety net.
  let checkpointer: Checkpointer | undefined;
  if (!handle.memory && checkpointThreadWanted()) {
    checkpointer = new Checkpointer(file);
    handle.pragma(`wal_autocheckpoint = ${CHECKPOINT_SAFETY_PAGES}`);
  }
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: withStatementCache(handle) }) });
  return {
    dialect: 'sqlite',
    kysely,
    sqlite: handle,
    pool: undefined,
    async ping() {
      handle.prepare('select 1').get();
    },
    async close() {
      await checkpointer?.close();
      await kysely.destroy();
      if (handle.open) handle.close();
    },
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a short
 * query. This view of the connection keeps the most recent prepared statements by SQL text.
 */
function withStatementCache(handle: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => handle.close(),
    prepare(sqlText: string) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText);
      } else {
        statement = handle.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

function openPostgres(url: string, poolSize: number): Database {
  setPgTypeParsers();
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A broken idle connection must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    kysely,
    sqlite: undefined,
    pool,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    async close() {
      await kysely.destroy();
    },
  };
}
