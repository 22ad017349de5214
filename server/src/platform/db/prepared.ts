/**
 * Hot queries built once: `prepared(build)` runs the Kysely builder a single time per dialect (per
 * Kysely adapter) with named placeholders (`p.name`), keeps the compiled SQL, and on each call
 * only fills the parameters in and executes it through the same Kysely instance or transaction —
 * so it takes the connection the way any query does (the SQLite connection lock, a transaction's
 * connection, the PostgreSQL pool) and SQLite's statement cache prepares it once. What a query
 * costs to build (the immutable builders, the compiler) is paid once instead of on every request.
 *
 * A placeholder stands for one scalar value (a string, a number or null; not a list for `in`; no
 * arithmetic on it in JavaScript: it is a marker string while the query is built); an undefined
 * value is an error, not a default. Values written in the builder itself are constants of the
 * query. A builder that depends on the dialect is two prepared queries.
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult, RawBuilder } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const MARK = '\u0000xiaowei-param:';

/** Diagnostic: XIAOWEI_BUILD_QUERIES=1 builds and compiles every prepared query at each call, as before (for `BENCH_PAY_VARIANT` comparisons). */
const BUILD_EVERY_TIME = process.env.XIAOWEI_BUILD_QUERIES === '1';

type Slot = { name: string } | { value: unknown };

interface Compiled {
  sql: string;
  query: CompiledQuery['query'];
  slots: readonly Slot[];
}

export interface Prepared<P extends Record<string, unknown>, R> {
  /** Runs the query on `db` (a Kysely instance or a transaction) with these values. */
  execute(db: AnyDb, values: P): Promise<QueryResult<R>>;
  /** The first row, or undefined. */
  first(db: AnyDb, values: P): Promise<R | undefined>;
  /** The rows. */
  all(db: AnyDb, values: P): Promise<R[]>;
  /** Rows inserted, updated or deleted (a statement without `returning`). */
  affected(db: AnyDb, values: P): Promise<number>;
}

/**
 * A query built once per dialect. `build` gets the database and an object whose properties are
 * placeholders: `p.id` in the builder stands for `values.id` at each call.
 */
export function prepared<P extends Record<string, unknown>, R>(build: (db: AnyDb, p: P) => Compilable<R> | RawBuilder<R>): Prepared<P, R> {
  const byAdapter = new WeakMap<object, Compiled>();
  const placeholders = new Proxy({} as P, { get: (_t, name) => (typeof name === 'string' ? `${MARK}${name}` : undefined) });

  function compiledFor(db: AnyDb): Compiled {
    const adapter = db.getExecutor().adapter;
    let c = byAdapter.get(adapter);
    if (!c) {
      // A query builder compiles on its own; a raw `sql` template needs the database (its dialect).
      const q = (build(db, placeholders) as RawBuilder<R>).compile(db);
      const slots: Slot[] = q.parameters.map((v) =>
        typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { value: v },
      );
      c = { sql: q.sql, query: q.query, slots };
      byAdapter.set(adapter, c);
    }
    return c;
  }

  async function execute(db: AnyDb, values: P): Promise<QueryResult<R>> {
    // The diagnostic: the builder with the values themselves, compiled and run — what a query built per call costs.
    if (BUILD_EVERY_TIME) return db.getExecutor().executeQuery<R>((build(db, values) as RawBuilder<R>).compile(db));
    const c = compiledFor(db);
    const parameters = new Array<unknown>(c.slots.length);
    for (let i = 0; i < c.slots.length; i++) {
      const s = c.slots[i]!;
      if ('name' in s) {
        const v = values[s.name];
        if (v === undefined) throw new Error(`prepared query: no value for ${s.name}`);
        parameters[i] = v;
      } else parameters[i] = s.value;
    }
    return db.getExecutor().executeQuery<R>({ sql: c.sql, query: c.query, parameters, queryId: QUERY_ID });
  }

  return {
    execute,
    first: async (db, values) => (await execute(db, values)).rows[0],
    all: async (db, values) => (await execute(db, values)).rows,
    affected: async (db, values) => Number((await execute(db, values)).numAffectedRows ?? 0n),
  };
}

/** Kysely passes the id to plugins only (this project uses none); one for every prepared query. */
const QUERY_ID = { queryId: 'prepared' } as unknown as CompiledQuery['queryId'];
