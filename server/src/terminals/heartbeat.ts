import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../platform/db/database.js';
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
  /** The request's sequence check, decided earlier in the same SQLite commit (deferred-seq). */
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
      const write = pgWriter(database.pool!, (item) => this.keep(item));
      const batcher = new TickBatcher<Item, HeartbeatAnswer>({
        run: async (items) => {
          await write(items);
          return this.answers(items);
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
   * Records one beat; answers once it is stored. With a `ticket` (deferred-seq on SQLite) the
   * beat is stored only if the request's sequence check, earlier in the same commit, accepted it.
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

function pgWriter(pool: pg.Pool, keep: (item: Item) => boolean): (items: Item[]) => Promise<void> {
  // One statement: the history rows and last_seen_at commit together, in one round trip.
  const text = `with v as (
      select * from unnest($1::text[], $2::int8[], $3::bool[], $4::text[], $5::text[], $6::int4[], $7::int4[], $8::int4[], $9::int4[], $10::int4[])
        as v(terminal_id, ts, keep, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6)),
    ins as (
      insert into terminal_heartbeats (terminal_id, ts, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6)
      select terminal_id, ts, app_versions, network, signal_dbm, battery, charging, lat_e6, lng_e6 from v where keep)
    update terminals t set last_seen_at = l.ts
    from (select terminal_id, max(ts) as ts from v group by terminal_id order by terminal_id) l
    where t.id = l.terminal_id and (t.last_seen_at is null or t.last_seen_at < l.ts)`;
  return async (items) => {
    const col = <K extends keyof HeartbeatRow>(k: K): HeartbeatRow[K][] => items.map((i) => i.row[k]);
    const params = [
      col('terminal_id'),
      col('ts'),
      items.map(keep),
      col('app_versions'),
      col('network'),
      col('signal_dbm'),
      col('battery'),
      col('charging'),
      col('lat_e6'),
      col('lng_e6'),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await pool.query(text, params);
        return;
      } catch (error) {
        // Two processes updating overlapping terminals in another order can deadlock; the loser retries.
        if (attempt >= 3 || (error as { code?: string }).code !== '40P01') throw error;
      }
    }
  }
}
