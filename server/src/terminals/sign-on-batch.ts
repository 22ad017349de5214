import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../platform/db/database.js';
import type { ErrorCode } from '../platform/errors.js';
import { PARAM_DEFAULTS, loadParamStates, type EffectiveParams } from './params.js';
import type { ProtocolTables } from './protocol-migration.js';
import { TickBatcher, type SqliteWriter } from './terminal-auth-batch.js';
import { PG_IN_FLIGHT } from './terminal-auth-store.js';

/** Batch numbers run 000001…999999 per terminal, then start again. */
export const MAX_BATCH_NO = 999_999;

/** What sign-on reads before it verifies: the device key, and the parameters the reply carries. */
export interface SignOnView {
  status: string;
  device_public_key: string | null;
  params: EffectiveParams;
}

/** A verified sign-on, its session keys issued, to be stored. */
export interface SessionItem {
  terminalId: string;
  sessionId: string;
  /** The device key the signature was verified with: the terminal must still have it. */
  devicePublicKey: string;
  /** The sign-on message's timestamp (ms). */
  signedAt: number;
  /** µs. */
  nowUs: number;
  expiresAt: number;
  keys: { pin_key: string; pin_kcv: string; mac_key: string; mac_kcv: string; data_key: string; data_kcv: string; lmk_version: number };
}

export type SessionOutcome = { batchNo: number; openedAt: number } | { error: ErrorCode };

type SessionRow = ProtocolTables['terminal_sessions'];

/**
 * Sign-ons group-committed: the reads before verification (terminal, device key, parameters) are
 * one query set per tick, and the verified sessions of a tick are stored together — on
 * PostgreSQL one transaction that locks the terminals in id order (so sign-ons of one terminal,
 * in any process, still take turns), reads each one's last session after the lock, and closes
 * and inserts with one statement each; on SQLite inside the protocol's shared commit. Each
 * sign-on is decided as if alone and in arrival order: a terminal that is no longer usable or
 * has another device key, and a sign-on not newer than the last accepted one, are refused; two
 * sign-ons of one terminal in one group behave as two in a row (the first one's session is
 * closed by the second).
 */
export interface SignOnBatch {
  read(terminalId: string): Promise<SignOnView | undefined>;
  write(item: SessionItem): Promise<SessionOutcome>;
  drain(): Promise<void>;
}

/** The refusal for a terminal in this state, most specific first (as sign-on.ts `assertUsable`). */
export function unusable(status: string, devicePublicKey: string | null): ErrorCode | null {
  if (status === 'locked') return 'terminal_locked';
  if (status === 'retired') return 'terminal_retired';
  if (status !== 'active' || !devicePublicKey) return 'terminal_not_activated';
  return null;
}

interface Last {
  batch_no: number;
  signed_at: number;
  opened_at: number;
}

/** Decides one sign-on against the terminal's state and last session; moves `last` on when accepted. */
function decide(item: SessionItem, terminal: { status: string; device_public_key: string | null } | undefined, last: Map<string, Last>): SessionOutcome {
  if (!terminal) return { error: 'terminal_unknown' };
  const refusal = unusable(terminal.status, terminal.device_public_key);
  if (refusal) return { error: refusal };
  // Re-activated with another key meanwhile: the signature no longer speaks for the terminal.
  if (terminal.device_public_key !== item.devicePublicKey) return { error: 'terminal_signature_invalid' };
  const previous = last.get(item.terminalId);
  if (previous && previous.signed_at >= item.signedAt) return { error: 'terminal_request_replayed' };
  const batchNo = previous ? (previous.batch_no % MAX_BATCH_NO) + 1 : 1;
  // The terminal's last session is the one opened last: opened_at must follow the order sign-ons
  // are accepted in, which a request's own clock reading does not (it was taken before its
  // signature check, and another process or an earlier item of this group may have gone first).
  const openedAt = previous ? Math.max(item.nowUs, previous.opened_at + 1) : item.nowUs;
  last.set(item.terminalId, { batch_no: batchNo, signed_at: item.signedAt, opened_at: openedAt });
  return { batchNo, openedAt };
}

function sessionRow(item: SessionItem, batchNo: number, openedAt: number, closedAt: number | null): SessionRow {
  return {
    id: item.sessionId,
    terminal_id: item.terminalId,
    ...item.keys,
    batch_no: batchNo,
    last_seq: 0,
    signed_at: item.signedAt,
    opened_at: openedAt,
    expires_at: item.expiresAt,
    closed_at: closedAt,
  };
}

export function createSignOnBatch(database: Database, writer: SqliteWriter | undefined): SignOnBatch {
  const db = database.kysely as Kysely<ProtocolTables>;
  const reads = new TickBatcher<string, SignOnView | undefined>({
    run: async (ids) => {
      const unique = [...new Set(ids)];
      const rows = await db.selectFrom('terminals').select(['id', 'status', 'device_public_key']).where('id', 'in', unique).execute();
      const params = await loadParamStates(db, { ids: unique });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const r = byId.get(id);
        return r ? { status: r.status, device_public_key: r.device_public_key, params: params.get(id)?.effective ?? PARAM_DEFAULTS } : undefined;
      });
    },
    maxBatch: 1000,
    maxQueue: 100_000,
    maxInFlight: database.sqlite ? 1 : PG_IN_FLIGHT,
  });
  if (database.sqlite) {
    if (!writer) throw new Error('the sign-on batch on SQLite needs the shared SqliteWriter');
    const write = writer.lane(sqliteSessions(database.sqlite), 1000);
    return { read: (id) => reads.submit(id), write, drain: () => reads.drain() };
  }
  const writes = new TickBatcher<SessionItem, SessionOutcome>({ run: pgSessions(database.pool!), maxBatch: 1000, maxQueue: 100_000, maxInFlight: PG_IN_FLIGHT });
  return { read: (id) => reads.submit(id), write: (item) => writes.submit(item), drain: async () => void (await Promise.all([reads.drain(), writes.drain()])) };
}

/** Inside the shared writer's transaction (one writer: sign-ons of a terminal cannot interleave). */
function sqliteSessions(db: BetterSqlite3.Database): (items: SessionItem[]) => SessionOutcome[] {
  const terminal = db.prepare('select status, device_public_key from terminals where id = ?');
  const previous = db.prepare('select batch_no, signed_at, opened_at from terminal_sessions where terminal_id = ? order by opened_at desc limit 1');
  const closeOperators = db.prepare('update terminal_operator_sessions set closed_at = ? where terminal_id = ? and closed_at is null');
  const closeSessions = db.prepare('update terminal_sessions set closed_at = ? where terminal_id = ? and closed_at is null');
  const insert = db.prepare(
    `insert into terminal_sessions (id, terminal_id, pin_key, pin_kcv, mac_key, mac_kcv, data_key, data_kcv, lmk_version, batch_no, last_seq, signed_at, opened_at, expires_at, closed_at)
     values (@id, @terminal_id, @pin_key, @pin_kcv, @mac_key, @mac_kcv, @data_key, @data_kcv, @lmk_version, @batch_no, @last_seq, @signed_at, @opened_at, @expires_at, @closed_at)`,
  );
  return (items) =>
    items.map((item) => {
      const last = new Map<string, Last>();
      const p = previous.get(item.terminalId) as { batch_no: number | bigint; signed_at: number | bigint; opened_at: number | bigint } | undefined;
      if (p) last.set(item.terminalId, { batch_no: Number(p.batch_no), signed_at: Number(p.signed_at), opened_at: Number(p.opened_at) });
      const outcome = decide(item, terminal.get(item.terminalId) as { status: string; device_public_key: string | null } | undefined, last);
      if ('error' in outcome) return outcome;
      // Closed when the next one opens (not at this request's clock reading, which may be earlier).
      closeOperators.run(outcome.openedAt, item.terminalId);
      closeSessions.run(outcome.openedAt, item.terminalId);
      insert.run(sessionRow(item, outcome.batchNo, outcome.openedAt, null));
      return outcome;
    });
}

function pgSessions(pool: pg.Pool): (items: SessionItem[]) => Promise<SessionOutcome[]> {
  const close = `with v as (select * from unnest($1::text[], $2::int8[]) as v(terminal_id, now)),
    operators as (update terminal_operator_sessions o set closed_at = v.now from v where o.terminal_id = v.terminal_id and o.closed_at is null)
    update terminal_sessions s set closed_at = v.now from v where s.terminal_id = v.terminal_id and s.closed_at is null`;
  const insert = `insert into terminal_sessions (id, terminal_id, pin_key, pin_kcv, mac_key, mac_kcv, data_key, data_kcv, lmk_version, batch_no, last_seq, signed_at, opened_at, expires_at, closed_at)
    select id, terminal_id, pin_key, pin_kcv, mac_key, mac_kcv, data_key, data_kcv, lmk_version, batch_no, 0, signed_at, opened_at, expires_at, closed_at
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int4[], $10::int4[], $11::int8[], $12::int8[], $13::int8[], $14::int8[])
      as v(id, terminal_id, pin_key, pin_kcv, mac_key, mac_kcv, data_key, data_kcv, lmk_version, batch_no, signed_at, opened_at, expires_at, closed_at)`;
  const once = async (items: SessionItem[]): Promise<SessionOutcome[]> => {
    const ids = [...new Set(items.map((i) => i.terminalId))].sort();
    const client = await pool.connect();
    try {
      await client.query('begin');
      // Terminals locked in id order: no deadlock between two processes' groups.
      const locked = await client.query<{ id: string; status: string; device_public_key: string | null }>(
        'select id, status, device_public_key from terminals where id = any($1::text[]) order by id for update',
        [ids],
      );
      // Read after the lock, in a statement of its own, so it sees every sign-on committed before.
      const previous = await client.query<Last & { terminal_id: string }>(
        'select distinct on (terminal_id) terminal_id, batch_no, signed_at, opened_at from terminal_sessions where terminal_id = any($1::text[]) order by terminal_id, opened_at desc',
        [ids],
      );
      const terminals = new Map(locked.rows.map((r) => [r.id, r]));
      const last = new Map(previous.rows.map((r) => [r.terminal_id, { batch_no: r.batch_no, signed_at: Number(r.signed_at), opened_at: Number(r.opened_at) }]));
      const outcomes = items.map((item) => decide(item, terminals.get(item.terminalId), last));
      const accepted = items.flatMap((item, i) => {
        const o = outcomes[i]!;
        return 'error' in o ? [] : [{ item, batchNo: o.batchNo, openedAt: o.openedAt }];
      });
      if (accepted.length > 0) {
        // Two sign-ons of one terminal in this group: the later one closes the earlier's session.
        const rows = accepted.map(({ item, batchNo, openedAt }, k) => {
          const later = accepted.slice(k + 1).find((a) => a.item.terminalId === item.terminalId);
          return sessionRow(item, batchNo, openedAt, later ? later.openedAt : null);
        });
        // The sessions before this group are closed when the first of the group opens.
        const firstNow = new Map<string, number>();
        for (const { item, openedAt } of accepted) if (!firstNow.has(item.terminalId)) firstNow.set(item.terminalId, openedAt);
        await client.query(close, [[...firstNow.keys()], [...firstNow.values()]]);
        const col = <K extends keyof SessionRow>(k: K): SessionRow[K][] => rows.map((r) => r[k]);
        await client.query(insert, [
          col('id'),
          col('terminal_id'),
          col('pin_key'),
          col('pin_kcv'),
          col('mac_key'),
          col('mac_kcv'),
          col('data_key'),
          col('data_kcv'),
          col('lmk_version'),
          col('batch_no'),
          col('signed_at'),
          col('opened_at'),
          col('expires_at'),
          col('closed_at'),
        ]);
      }
      await client.query('commit');
      return outcomes;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  return async (items) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(items);
      } catch (error) {
        // A deadlock with another kind of writer (activation, heartbeats) rolled everything back: run the group again.
        if (attempt >= 3 || (error as { code?: string }).code !== '40P01') throw error;
      }
    }
  };
}
