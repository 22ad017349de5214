import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../platform/db/database.js';
import { TickBatcher, type SqliteWriter } from './terminal-auth-batch.js';
import { PG_IN_FLIGHT } from './terminal-auth-store.js';

/** One activation as the group commit takes it: the code already reduced to its blind index. */
export interface ActivationItem {
  codeIndex: string;
  /** Normalised serial: the code must belong to the terminal with this serial. */
  serial: string;
  /** Ed25519 raw public key, base64url. */
  publicKey: string;
  /** µs since the epoch. */
  nowUs: number;
}

/** The terminal a code was bound to, with what the activation reply shows of its owner. */
export interface BoundTerminal {
  id: string;
  serial: string;
  owner_party_id: string;
  party_name: string;
  org_id: string;
  org_name: string;
  org_name_en: string | null;
}

/**
 * Binds device keys for many activations at once: uses each code (unused, unrevoked, unexpired,
 * its terminal's serial matching and the terminal still activatable), closes the terminal's
 * sessions and its operators' sign-ons, and stores the key — for the whole group in one
 * statement on PostgreSQL, inside the protocol's shared commit on SQLite. Answers the bound
 * terminal, or null when the code did not bind (unknown, used, expired, revoked, another
 * terminal's serial, a locked terminal): the caller then runs the one-at-a-time path, which
 * finds out which and refuses with that reason. A code is used once across processes: the
 * UPDATE's conditions are re-checked under the row's lock (PostgreSQL) or the one writer (SQLite).
 */
export type ActivationWriter = (item: ActivationItem) => Promise<BoundTerminal | null>;

const ACTIVATABLE_SQL = `('registered', 'active')`;

export function createActivationWriter(database: Database, writer: SqliteWriter | undefined): { write: ActivationWriter; drain: () => Promise<void> } {
  if (database.sqlite) {
    if (!writer) throw new Error('the activation writer on SQLite needs the shared SqliteWriter');
    const write = writer.lane(sqliteActivations(database.sqlite), 1000);
    return { write, drain: () => Promise.resolve() };
  }
  const batcher = new TickBatcher<ActivationItem, BoundTerminal | null>({ run: pgActivations(database.pool!), maxBatch: 1000, maxQueue: 100_000, maxInFlight: PG_IN_FLIGHT });
  return { write: (item) => batcher.submit(item), drain: () => batcher.drain() };
}

/** Runs inside the shared writer's transaction: a handful of prepared statements per activation, no commit of its own. */
function sqliteActivations(db: BetterSqlite3.Database): (items: ActivationItem[]) => (BoundTerminal | null)[] {
  const use = db.prepare(
    `update terminal_activation_codes set used_at = @now
     where code_index = @code and used_at is null and revoked_at is null and expires_at > @now
       and terminal_id in (select id from terminals where serial = @serial and status in ${ACTIVATABLE_SQL})
     returning terminal_id`,
  );
  const closeOperators = db.prepare('update terminal_operator_sessions set closed_at = ? where terminal_id = ? and closed_at is null');
  const closeSessions = db.prepare('update terminal_sessions set closed_at = ? where terminal_id = ? and closed_at is null');
  const bind = db.prepare(`update terminals set device_public_key = ?, status = 'active', activated_at = ? where id = ? and status in ${ACTIVATABLE_SQL}`);
  const read = db.prepare(
    `select t.id, t.serial, t.owner_party_id, p.name as party_name, t.org_id, o.name as org_name, o.name_en as org_name_en
     from terminals t join parties p on p.id = t.owner_party_id join organisations o on o.id = t.org_id where t.id = ?`,
  );
  return (items) =>
    items.map((item) => {
      const used = use.get({ now: item.nowUs, code: item.codeIndex, serial: item.serial }) as { terminal_id: string } | undefined;
      if (!used) return null;
      closeOperators.run(item.nowUs, used.terminal_id);
      closeSessions.run(item.nowUs, used.terminal_id);
      bind.run(item.publicKey, item.nowUs, used.terminal_id);
      return (read.get(used.terminal_id) as BoundTerminal | undefined) ?? null;
    });
}

/**
 * One statement per group. Each code row is updated at most once however many items name it
 * (the first wins; the others find it used on the one-at-a-time path). Nothing is written for a
 * code that does not bind, so a wrong serial leaves the code unused, as one at a time.
 */
function pgActivations(pool: pg.Pool): (items: ActivationItem[]) => Promise<(BoundTerminal | null)[]> {
  const text = `with v as (
      select * from unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::int8[]) as v(i, code_index, serial, public_key, now)),
    used as (
      update terminal_activation_codes c set used_at = v.now
      from v, terminals t
      where c.code_index = v.code_index and c.used_at is null and c.revoked_at is null and c.expires_at > v.now
        and t.id = c.terminal_id and t.serial = v.serial and t.status in ${ACTIVATABLE_SQL}
      returning v.i, c.terminal_id, v.public_key, v.now),
    closed_operators as (
      update terminal_operator_sessions o set closed_at = u.now from used u where o.terminal_id = u.terminal_id and o.closed_at is null),
    closed_sessions as (
      update terminal_sessions s set closed_at = u.now from used u where s.terminal_id = u.terminal_id and s.closed_at is null),
    bound as (
      update terminals t set device_public_key = u.public_key, status = 'active', activated_at = u.now
      from used u where t.id = u.terminal_id and t.status in ${ACTIVATABLE_SQL}
      returning t.id, t.serial, t.owner_party_id, t.org_id)
    select u.i, b.id, b.serial, b.owner_party_id, p.name as party_name, b.org_id, o.name as org_name, o.name_en as org_name_en
    from used u join bound b on b.id = u.terminal_id
      join parties p on p.id = b.owner_party_id join organisations o on o.id = b.org_id`;
  return async (items) => {
    const params = [items.map((_, i) => i), items.map((x) => x.codeIndex), items.map((x) => x.serial), items.map((x) => x.publicKey), items.map((x) => x.nowUs)];
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await pool.query<BoundTerminal & { i: number }>(text, params);
        const out: (BoundTerminal | null)[] = items.map(() => null);
        const seen = new Set<string>();
        for (const { i, ...bound } of rows) {
          // Never two answers for one terminal (one live code per terminal makes this impossible anyway).
          if (seen.has(bound.id)) continue;
          seen.add(bound.id);
          out[i] = bound;
        }
        return out;
      } catch (error) {
        // Overlapping rows locked in another order by another process: the statement is atomic, so run it again.
        if (attempt >= 3 || (error as { code?: string }).code !== '40P01') throw error;
      }
    }
  };
}
