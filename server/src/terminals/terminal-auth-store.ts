import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../platform/db/database.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { TickBatcher, type Ordered, type SqliteWriter } from './terminal-auth-batch.js';

/** What request verification needs of a session, its terminal and (when a token was sent) its operator. */
export interface SessionView {
  id: string;
  terminal_id: string;
  mac_key: string;
  mac_kcv: string;
  lmk_version: number;
  last_seq: number;
  expires_at: number;
  closed_at: number | null;
  serial: string;
  status: string;
  owner_party_id: string;
  org_id: string;
  group_ids: string[];
  operator: { id: string; operator_no: string; role: string; disabled: boolean } | null;
}

export interface SessionKey {
  sessionId: string;
  /** SHA-256 (base64url) of the operator token sent with the request, or null. */
  operatorTokenHash: string | null;
}

/** How a sequence number fared: accepted, or refused (replayed, out of sequence, or the session closed meanwhile). */
export type SeqOutcome = 'ok' | 'refused';

type Row = Record<string, unknown>;

/**
 * Groups in flight per kind on PostgreSQL. The conditional UPDATE stays exact however many run
 * at once (the database decides); a terminal sends one request at a time, so its seqs never race.
 */
export const PG_IN_FLIGHT = 3;

const SESSION_COLUMNS = `s.id, s.terminal_id, s.mac_key, s.mac_kcv, s.lmk_version, s.last_seq, s.expires_at, s.closed_at,
  t.serial, t.status, t.owner_party_id, t.org_id,
  o.id as op_id, o.operator_no as op_no, o.role as op_role, o.disabled as op_disabled`;

function toView(r: Row): SessionView {
  const groups: unknown = typeof r.group_ids === 'string' ? JSON.parse(r.group_ids) : r.group_ids;
  return {
    id: r.id as string,
    terminal_id: r.terminal_id as string,
    mac_key: r.mac_key as string,
    mac_kcv: r.mac_kcv as string,
    lmk_version: toSafeInt(r.lmk_version),
    last_seq: toSafeInt(r.last_seq),
    expires_at: toSafeInt(r.expires_at),
    closed_at: toSafeIntOrNull(r.closed_at),
    serial: r.serial as string,
    status: r.status as string,
    owner_party_id: r.owner_party_id as string,
    org_id: r.org_id as string,
    group_ids: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    operator: r.op_id ? { id: r.op_id as string, operator_no: r.op_no as string, role: r.op_role as string, disabled: toSafeInt(r.op_disabled) === 1 } : null,
  };
}

/**
 * A request's sequence check as it is decided. On SQLite the decision is written here inside the
 * shared commit, synchronously, so a write of the same request later in that very transaction
 * (the heartbeat) can depend on it (see `SeqTicket` users in heartbeat.ts).
 */
export interface SeqTicket {
  outcome: SeqOutcome | undefined;
  /** Settles with the outcome once its commit is durable. */
  decided: Promise<SeqOutcome>;
  /**
   * On PostgreSQL (`TerminalAuthStore.routeChecksSeq`): the check is still to be made, by the
   * route's own statement together with its write (the heartbeat), which calls `settle` with the
   * outcome once that statement committed.
   */
  check?: { sessionId: string; seq: number; settle: (outcome: SeqOutcome) => void } | undefined;
}

interface SeqItem {
  sessionId: string;
  seq: number;
  ticket?: SeqTicket | undefined;
}

/**
 * Plans one group of sequence checks in memory. Within the group, requests of one session are
 * taken in arrival order, as if they had come one by one: a request whose seq is not above every
 * earlier one in the group is refused here; the rest form a rising chain whose first seq must be
 * above the stored last_seq and whose last seq becomes the new last_seq — one conditional update
 * per session however many requests it sent in the tick.
 */
function planSeq(items: readonly SeqItem[]): { outcomes: SeqOutcome[]; chains: Map<string, number[]> } {
  const outcomes: SeqOutcome[] = new Array<SeqOutcome>(items.length).fill('refused');
  const chains = new Map<string, number[]>();
  const top = new Map<string, number>();
  items.forEach((item, i) => {
    const best = top.get(item.sessionId);
    if (best !== undefined && item.seq <= best) return;
    top.set(item.sessionId, item.seq);
    const chain = chains.get(item.sessionId);
    if (chain) chain.push(i);
    else chains.set(item.sessionId, [i]);
  });
  return { outcomes, chains };
}

/**
 * The database side of request verification: batched session look-ups and the replay guard.
 *
 * The replay guard is `UPDATE terminal_sessions SET last_seq = :seq WHERE id = :id AND last_seq <
 * :seq AND closed_at IS NULL`, checked by rows affected, so it holds across any number of server
 * processes on one PostgreSQL database. It runs on every terminal request, so it is group
 * committed: all checks that arrive while one group runs go into the next — on SQLite into the
 * protocol's shared commit (`SqliteWriter`: one fsync per tick with the heartbeats), on
 * PostgreSQL as one `UPDATE … FROM unnest(…)` statement (one round trip, one WAL flush) per tick.
 * Look-ups are batched the same way (one query per tick).
 */
export class TerminalAuthStore {
  private readonly loader: TickBatcher<SessionKey, SessionView | undefined>;
  private readonly sequencer: TickBatcher<SeqItem, SeqOutcome> | undefined;
  private readonly advanceSeq: (item: SeqItem) => Promise<SeqOutcome>;
  private readonly advanceSeqOrdered: (item: SeqItem) => Promise<Ordered<SeqOutcome>>;
  /**
   * True on SQLite: sequence checks go into the protocol's shared commit, so a route may let its
   * own write join the same commit instead of waiting for the check first (`terminalAuth:
   * 'deferred-seq'`). Must be created before the lanes that depend on it (lanes run in order).
   */
  readonly sharesCommit: boolean;
  /**
   * True on PostgreSQL: a `'deferred-seq'` route checks the sequence number itself, in the same
   * statement as its write (`SeqTicket.check`), so its request costs one round trip and one commit
   * fewer and does not wait behind the other requests' checks.
   */
  readonly routeChecksSeq: boolean;

  /** On SQLite, `writer` is the protocol's shared commit (required there). */
  constructor(database: Database, writer?: SqliteWriter) {
    const sqlite = database.sqlite;
    if (sqlite) {
      if (!writer) throw new Error('TerminalAuthStore on SQLite needs the shared SqliteWriter');
      this.loader = new TickBatcher({ run: sqliteLoader(sqlite), maxBatch: 1000, maxQueue: 100_000, busy: () => sqlite.inTransaction });
      this.advanceSeq = writer.lane(sqliteSequencer(sqlite), 5000);
      this.advanceSeqOrdered = writer.orderedLane(sqliteSequencer(sqlite), 5000);
      this.sharesCommit = true;
      this.routeChecksSeq = false;
    } else {
      const pool = database.pool!;
      this.loader = new TickBatcher({ run: pgLoader(pool), maxBatch: 1000, maxQueue: 100_000, maxInFlight: PG_IN_FLIGHT });
      const sequencer = new TickBatcher({ run: pgSequencer(pool), maxBatch: 2000, maxQueue: 100_000, maxInFlight: PG_IN_FLIGHT });
      this.sequencer = sequencer;
      this.advanceSeq = (item) => sequencer.submit(item);
      this.advanceSeqOrdered = async (item) => ({ value: await sequencer.submit(item), durable: () => Promise.resolve() });
      this.sharesCommit = false;
      this.routeChecksSeq = true;
    }
  }

  load(key: SessionKey): Promise<SessionView | undefined> {
    return this.loader.submit(key);
  }

  /** Accepts `seq` for the session if it is above the last accepted one (durably, before answering). */
  advance(sessionId: string, seq: number, ticket?: SeqTicket): Promise<SeqOutcome> {
    return this.advanceSeq({ sessionId, seq, ticket });
  }

  /**
   * Like `advance`, but answered once the check is committed, before it is durable (SQLite; on
   * PostgreSQL it is durable already): the caller must await `durable()` before answering anyone.
   * The check commits before anything the caller writes next, so the log sync that makes the
   * caller's own writes durable makes it durable too (`terminalAuth: 'ordered-seq'`).
   */
  advanceOrdered(sessionId: string, seq: number): Promise<Ordered<SeqOutcome>> {
    return this.advanceSeqOrdered({ sessionId, seq });
  }

  async drain(): Promise<void> {
    await Promise.all([this.loader.drain(), this.sequencer?.drain()]);
  }
}

function sqliteLoader(db: BetterSqlite3.Database): (keys: SessionKey[]) => (SessionView | undefined)[] {
  const one = db.prepare(
    `select ${SESSION_COLUMNS},
       (select json_group_array(m.group_id) from terminal_group_members m where m.terminal_id = t.id) as group_ids
     from terminal_sessions s
     join terminals t on t.id = s.terminal_id
     left join terminal_operator_sessions os on os.token_hash = ? and os.session_id = s.id and os.closed_at is null
     left join terminal_operators o on o.id = os.operator_id
     where s.id = ?`,
  );
  return (keys) =>
    keys.map((k) => {
      const row = one.get(k.operatorTokenHash, k.sessionId) as Row | undefined;
      return row ? toView(row) : undefined;
    });
}

function pgLoader(pool: pg.Pool): (keys: SessionKey[]) => Promise<(SessionView | undefined)[]> {
  const text = `select v.ord, ${SESSION_COLUMNS},
      coalesce((select json_agg(m.group_id) from terminal_group_members m where m.terminal_id = t.id), '[]'::json) as group_ids
    from unnest($1::text[], $2::text[]) with ordinality as v(session_id, token_hash, ord)
    join terminal_sessions s on s.id = v.session_id
    join terminals t on t.id = s.terminal_id
    left join terminal_operator_sessions os on os.token_hash = v.token_hash and os.session_id = s.id and os.closed_at is null
    left join terminal_operators o on o.id = os.operator_id`;
  return async (keys) => {
    const { rows } = await pool.query(text, [keys.map((k) => k.sessionId), keys.map((k) => k.operatorTokenHash)]);
    const out = new Array<SessionView | undefined>(keys.length);
    for (const r of rows as Row[]) out[toSafeInt(r.ord) - 1] = toView(r);
    return out;
  };
}

/** Runs inside the shared writer's transaction. */
function sqliteSequencer(db: BetterSqlite3.Database): (items: SeqItem[]) => SeqOutcome[] {
  const update = db.prepare('update terminal_sessions set last_seq = ? where id = ? and last_seq < ? and closed_at is null');
  return (items: SeqItem[]): SeqOutcome[] => {
    const { outcomes, chains } = planSeq(items);
    for (const [sessionId, chain] of chains) {
      const first = items[chain[0]!]!.seq;
      const last = items[chain[chain.length - 1]!]!.seq;
      if (update.run(last, sessionId, first).changes === 1) {
        for (const i of chain) outcomes[i] = 'ok';
        continue;
      }
      // The stored last_seq sits inside the chain (rare): decide request by request.
      if (chain.length > 1) for (const i of chain) outcomes[i] = update.run(items[i]!.seq, sessionId, items[i]!.seq).changes === 1 ? 'ok' : 'refused';
    }
    items.forEach((item, i) => {
      if (item.ticket) item.ticket.outcome = outcomes[i];
    });
    return outcomes;
  };
}

function pgSequencer(pool: pg.Pool): (items: SeqItem[]) => Promise<SeqOutcome[]> {
  const bulk = `update terminal_sessions s set last_seq = v.last
    from unnest($1::text[], $2::int8[], $3::int8[]) as v(id, first, last)
    where s.id = v.id and s.last_seq < v.first and s.closed_at is null
    returning s.id`;
  const single = 'update terminal_sessions set last_seq = $2 where id = $1 and last_seq < $2 and closed_at is null';
  return async (items) => {
    const { outcomes, chains } = planSeq(items);
    const ids: string[] = [];
    const firsts: number[] = [];
    const lasts: number[] = [];
    for (const [sessionId, chain] of chains) {
      ids.push(sessionId);
      firsts.push(items[chain[0]!]!.seq);
      lasts.push(items[chain[chain.length - 1]!]!.seq);
    }
    const { rows } = await pool.query(bulk, [ids, firsts, lasts]);
    const accepted = new Set((rows as Row[]).map((r) => r.id as string));
    for (const [sessionId, chain] of chains) {
      if (accepted.has(sessionId)) {
        for (const i of chain) outcomes[i] = 'ok';
      } else if (chain.length > 1) {
        // The stored last_seq sits inside the chain (rare): decide request by request, in order.
        for (const i of chain) {
          const r = await pool.query(single, [sessionId, items[i]!.seq]);
          outcomes[i] = r.rowCount === 1 ? 'ok' : 'refused';
        }
      }
    }
    return outcomes;
  };
}
