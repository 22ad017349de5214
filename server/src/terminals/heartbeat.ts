import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../platform/db/database.js';
import { toSafeInt } from '../platform/int.js';
import type { CommandStore } from './commands.js';
import { PARAM_DEFAULTS, loadParamStates } from './params.js';
import type { ProtocolTables } from './protocol-migration.js';
import { TickBatcher, type SqliteWriter } from './terminal-auth-batch.js';
import { PG_IN_FLIGHT, type SeqTicket } from './terminal-auth-store.js';

export const NETWORKS = ['wifi', '4g', '5g', 'ethernet', 'other'] as const;
export type Network = (typeof NETWORKS)[number];

export interface HeartbeatInput {
  terminalId: string;
  /** App code → installed semver. */
  appVersions: Record<string, string>;
  network: Network;
  /** dBm. */
  signal?: number | undefined;
  /** 0–100 %. */
  battery?: number | undefined;
  charging?: boolean | undefined;
  /** Degrees; stored as integer millionths. */
  lat?: number | undefined;
  lng?: number | undefined;
}

export interface HeartbeatAnswer {
  /** ms since the epoch. */
  serverTime: number;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  /** Commands waiting for the terminal now (fetch them when > 0). */
  pendingCommands: number;
}

type HeartbeatRow = ProtocolTables['terminal_heartbeats'];

interface Item {
  row: HeartbeatRow;
  /** `network|appVersions`: a change is always kept in the history. */
  fingerprint: string;
  /** The request's sequence check (deferred-seq): decided earlier in the same SQLite commit, or made by the PostgreSQL statement (`check`). */
  ticket?: SeqTicket | undefined;
}

/** What the SQLite lane did with one beat. */
type Written = 'written' | 'refused' | 'undecided';

const INTERVAL_CACHE_US = 60_000_000;

const e6 = (degrees: number | undefined): number | null => (degrees === undefined ? null : Math.round(degrees * 1_000_000));

export interface HeartbeatOptions {
  database: Database;
  commands: Pick<CommandStore, 'countDeliverable'>;
  /** µs since the epoch. */
  now: () => number;
  /** Keep a history row at most once per this many seconds per terminal (0 = every beat). */
  historyS: number;
  /** On SQLite, the protocol's shared commit (required there). */
  writer?: SqliteWriter | undefined;
}

/**
 * Heartbeat ingest. Every beat moves `terminals.last_seen_at`; the history table gets a row when
 * the terminal's last kept row (in this process) is older than `historyS`, or its app versions or
 * network changed — 20,000 terminals beating every 30 s would otherwise write 57 million rows a
 * day. All beats that arrive while one group commits go into the next: on SQLite they join the
 * protocol's shared commit (one fsync per tick with the sequence checks), on PostgreSQL one
 * statement per tick; then one query for the pending-command counts and one for the effective
 * intervals of the whole group. Each caller is answered after the commit.
 */
export class HeartbeatIngest {
  private readonly submit: (item: Item) => Promise<HeartbeatAnswer>;
  private readonly batcher: TickBatcher<Item, HeartbeatAnswer> | undefined;
  private readonly lastKept = new Map<string, { at: number; fingerprint: string }>();
  private readonly db: Kysely<ProtocolTables>;

  constructor(private readonly options: HeartbeatOptions) {
    const { database } = options;
    this.db = database.kysely as Kysely<ProtocolTables>;
    if (database.sqlite) {
      if (!options.writer) throw new Error('HeartbeatIngest on SQLite needs the shared SqliteWriter');
      // The write joins the shared commit; the answers (reads) follow per caller, batched by the reads' own tick.
      const write = options.writer.lane(sqliteWriter(database.sqlite, (item) => this.keep(item)), 5000);
      const answers = new TickBatcher<Item, HeartbeatAnswer>({ run: (items) => this.answers(items), maxBatch: 5000, maxQueue: 100_000 });
      this.submit = async (item) => {
        // 'undecided': the sequence check went into a later group (a full lane); write once it is accepted.
        if ((await write(item)) === 'undecided' && item.ticket && (await item.ticket.decided) === 'ok') await write({ ...item, ticket: undefined });
        return answers.submit(item);
      };
      this.batcher = answers;
    } else {
      const write = pgWriter(database.pool!, (item) => this.keep(item), (item) => this.forget(item), options.now);
      const batcher = new TickBatcher<Item, HeartbeatAnswer>({
        // One statement checks the sequence numbers, writes and counts the pending commands; the
        // intervals (mostly cached) are read meanwhile.
        run: async (items) => {
          const nowUs = this.options.now();
          const [counts, intervals] = await Promise.all([write(items), this.intervalsOf([...new Set(items.map((i) => i.row.terminal_id))], nowUs)]);
          return this.answer(items, nowUs, counts, intervals);
        },
        maxBatch: 5000,
        maxQueue: 100_000,
        maxInFlight: PG_IN_FLIGHT,
      });
      this.submit = (item) => batcher.submit(item);
      this.batcher = batcher;
    }
  }

  /**
   * Records one beat; answers once it is stored. With a `ticket` (deferred-seq) the beat is stored
   * only if the request's sequence check accepted it: on SQLite the check made earlier in the same
   * commit, on PostgreSQL the check (`ticket.check`) made by the same statement as the write.
   */
  record(input: HeartbeatInput, ticket?: SeqTicket): Promise<HeartbeatAnswer> {
    const ts = this.options.now();
    const appVersions = JSON.stringify(input.appVersions);
    return this.submit({
      fingerprint: `${input.network}|${appVersions}`,
      ticket,
      row: {
        terminal_id: input.terminalId,
        ts,
        app_versions: appVersions,
        network: input.network,
        signal_dbm: input.signal ?? null,
        battery: input.battery ?? null,
        charging: input.charging === undefined ? null : input.charging ? 1 : 0,
        lat_e6: e6(input.lat),
        lng_e6: e6(input.lng),
      },
    });
  }

  /** Whether a beat about to be written also goes into the history (decided at write time, so a refused beat never counts). */
  private keep(item: Item): boolean {
    const { terminal_id: id, ts } = item.row;
    const last = this.lastKept.get(id);
    if (last && last.fingerprint === item.fingerprint && ts - last.at < this.options.historyS * 1_000_000) return false;
    if (this.lastKept.size >= 200_000) this.lastKept.clear();
    this.lastKept.set(id, { at: ts, fingerprint: item.fingerprint });
    return true;
  }

  /** Undoes `keep` for a beat its sequence check refused: the terminal's next beat is kept instead. */
  private forget(item: Item): void {
    const last = this.lastKept.get(item.row.terminal_id);
    if (last && last.at === item.row.ts && last.fingerprint === item.fingerprint) this.lastKept.delete(item.row.terminal_id);
  }

  /**
   * Effective intervals per terminal, kept a minute: they change rarely, and a change reaches the
   * terminal at once anyway as a `parameters` command; this only saves two queries per tick.
   */
  private readonly intervals = new Map<string, { heartbeat: number; poll: number; until: number }>();

  private async intervalsOf(ids: readonly string[], nowUs: number): Promise<Map<string, { heartbeat: number; poll: number }>> {
    const out = new Map<string, { heartbeat: number; poll: number }>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = this.intervals.get(id);
      if (cached && cached.until > nowUs) out.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const states = await loadParamStates(this.db, { ids: missing });
    if (this.intervals.size > 200_000) this.intervals.clear();
    for (const id of missing) {
      const effective = states.get(id)?.effective ?? PARAM_DEFAULTS;
      const entry = { heartbeat: effective.heartbeat_interval_s, poll: effective.poll_interval_s, until: nowUs + INTERVAL_CACHE_US };
      this.intervals.set(id, entry);
      out.set(id, entry);
    }
    return out;
  }

  private async answers(items: Item[]): Promise<HeartbeatAnswer[]> {
    const nowUs = this.options.now();
    const ids = [...new Set(items.map((i) => i.row.terminal_id))];
    const [counts, intervals] = await Promise.all([this.options.commands.countDeliverable(ids), this.intervalsOf(ids, nowUs)]);
    return this.answer(items, nowUs, counts, intervals);
  }

  private answer(items: Item[], nowUs: number, counts: ReadonlyMap<string, number>, intervals: ReadonlyMap<string, { heartbeat: number; poll: number }>): HeartbeatAnswer[] {
    const serverTime = Math.floor(nowUs / 1000);
    return items.map((i) => {
      const own = intervals.get(i.row.terminal_id);
      return {
        serverTime,
        heartbeatIntervalS: own?.heartbeat ?? PARAM_DEFAULTS.heartbeat_interval_s,
        pollIntervalS: own?.poll ?? PARAM_DEFAULTS.poll_interval_s,
        pendingCommands: counts.get(i.row.terminal_id) ?? 0,
      };
    });
  }

  /**
   * Deletes history older than `keepDays`, in chunks so no statement holds the table for long.
   * Answers how many rows went. Called hourly by the terminals service.
   */
  async prune(keepDays: number): Promise<number> {
    const cutoff = this.options.now() - keepDays * 86_400_000_000;
    const chunk = 10_000;
    const statement =
      this.options.database.dialect === 'sqlite'
        ? sql`delete from terminal_heartbeats where rowid in (select rowid from terminal_heartbeats where ts < ${cutoff} limit ${chunk})`
        : sql`delete from terminal_heartbeats where ctid = any(array(select ctid from terminal_heartbeats where ts < ${cutoff} limit ${chunk}))`;
    let total = 0;
    for (;;) {
      const result = await statement.execute(this.db);
      const n = Number(result.numAffectedRows ?? 0);
      total += n;
      if (n < chunk) return total;
    }
  }

  async drain(): Promise<void> {
    await this.batcher?.drain();
  }
}

/** Runs inside the shared writer's transaction, after the sequence checks' lane. */
function sqliteWriter(db: BetterSqlite3.Database, keep: (item: Item) => boolean): (items: Item[]) => Written[] {
  const seen = db.prepare('update terminals set last_seen_at = ? where id = ? and (last_seen_at is null or last_seen_at < ?)');
  const insert = db.prepare(
    `insert into terminal_heartbeats (terminal_id, ts, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6)
     values (@terminal_id, @ts, @app_versions, @network, @signal_dbm, @battery, @charging, @lat_e6, @lng_e6)`,
  );
  return (items: Item[]) =>
    items.map((item): Written => {
      const { row, ticket } = item;
      if (ticket && ticket.outcome !== 'ok') return ticket.outcome === 'refused' ? 'refused' : 'undecided';
      seen.run(row.ts, row.terminal_id, row.ts);
      if (keep(item)) insert.run(row);
      return 'written';
    });
}

/**
 * PostgreSQL: one statement per group checks the beats' sequence numbers (`SeqTicket.check`, the
 * same conditional update as `TerminalAuthStore`'s), stores the accepted beats (history rows and
 * last_seen_at) and counts their terminals' deliverable commands — one round trip and one commit
 * where the check, the write and the count took three in turn. A session appears once per
 * statement (a second beat of it in the same group, which a client sending one request at a time
 * never makes, goes into the next statement), so each beat's seq is checked in arrival order.
 * Beats without a check (verified already) are stored as they are. Answers the deliverable
 * commands per accepted terminal; settles each check after the commit.
 *
 * The statement commits with `synchronous_commit = off`: it does not wait for the WAL flush (a
 * rollout's approval or a burst of reports writing megabytes of WAL would otherwise hold every
 * heartbeat behind its fsync). A database crash can lose the last fraction of a second of beats —
 * last_seen_at and a history row, and the acceptance of those beats' sequence numbers, so such a
 * beat could be replayed once more, which stores a heartbeat again and nothing else. Any later
 * durable commit (the terminal's next request of another kind) makes them durable too: the WAL is
 * flushed in order.
 */
function pgWriter(pool: pg.Pool, keep: (item: Item) => boolean, forget: (item: Item) => void, now: () => number): (items: Item[]) => Promise<Map<string, number>> {
  const text = `with v as (
      select u.*, set_config('synchronous_commit', 'off', true) as sync
      from unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::bool[], $6::text[], $7::text[], $8::int4[], $9::int4[], $10::int4[], $11::int4[], $12::int4[])
        as u(session_id, seq, terminal_id, ts, keep, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6)),
    s as (
      update terminal_sessions s set last_seq = v.seq from v
      where s.id = v.session_id and s.last_seq < v.seq and s.closed_at is null
      returning s.id),
    a as (select * from v where v.session_id is null or v.session_id in (select id from s)),
    ins as (
      insert into terminal_heartbeats (terminal_id, ts, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6)
      select terminal_id, ts, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6 from a where keep),
    seen as (
      update terminals t set last_seen_at = l.ts
      from (select terminal_id, max(ts) as ts from a group by terminal_id order by terminal_id) l
      where t.id = l.terminal_id and (t.last_seen_at is null or t.last_seen_at < l.ts))
    select s.id as session_id, null::text as terminal_id, null::int8 as n from s
    union all
    select null, c.terminal_id, count(*) from terminal_commands c
    where c.terminal_id in (select terminal_id from a) and c.status = 'pending' and c.expires_at > $13 and (c.not_before is null or c.not_before <= $13)
    group by c.terminal_id`;
  const once = async (items: Item[], counts: Map<string, number>): Promise<void> => {
    const kept = items.map(keep);
    const col = <K extends keyof HeartbeatRow>(k: K): HeartbeatRow[K][] => items.map((i) => i.row[k]);
    const params = [
      items.map((i) => i.ticket?.check?.sessionId ?? null),
      items.map((i) => i.ticket?.check?.seq ?? null),
      col('terminal_id'),
      col('ts'),
      kept,
      col('app_versions'),
      col('network'),
      col('signal_dbm'),
      col('battery'),
      col('charging'),
      col('lat_e6'),
      col('lng_e6'),
      now(),
    ];
    let rows: { session_id: string | null; terminal_id: string | null; n: unknown }[];
    for (let attempt = 1; ; attempt++) {
      try {
        rows = (await pool.query(text, params)).rows as typeof rows;
        break;
      } catch (error) {
        // Two processes updating overlapping terminals in another order can deadlock; the loser retries.
        if (attempt >= 3 || (error as { code?: string }).code !== '40P01') throw error;
      }
    }
    const accepted = new Set<string>();
    for (const r of rows) {
      if (r.session_id !== null) accepted.add(r.session_id);
      else if (r.terminal_id !== null) counts.set(r.terminal_id, toSafeInt(r.n));
    }
    items.forEach((item, i) => {
      const check = item.ticket?.check;
      if (!check) return;
      const ok = accepted.has(check.sessionId);
      if (!ok && kept[i]) forget(item);
      check.settle(ok ? 'ok' : 'refused');
    });
  };
  return async (items) => {
    const counts = new Map<string, number>();
    for (let rest = items; rest.length > 0; ) {
      const round: Item[] = [];
      const later: Item[] = [];
      const sessions = new Set<string>();
      for (const item of rest) {
        const session = item.ticket?.check?.sessionId;
        if (session !== undefined && sessions.has(session)) {
          later.push(item);
          continue;
        }
        if (session !== undefined) sessions.add(session);
        round.push(item);
      }
      await once(round, counts);
      rest = later;
    }
    return counts;
  };
}
