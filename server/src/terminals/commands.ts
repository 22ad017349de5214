import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type Selectable } from 'kysely';
import type pg from 'pg';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { COMMAND_KINDS, type CommandInput, type CommandKind, type CommandQueue, type TerminalSharedTables } from './contracts.js';
import type { ProtocolTables } from './protocol-migration.js';
import { TickBatcher } from './terminal-auth-batch.js';

export const COMMAND_STATUSES = ['pending', 'acked', 'expired', 'cancelled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** Largest payload (and acknowledgement result) as JSON text. */
export const MAX_COMMAND_JSON = 16 * 1024;
/** Rows per insert statement (12 columns each, under both databases' bound-parameter limits). */
const INSERT_CHUNK = 500;
/** Least time between the starts of two groups of command fetches (per process). */
export const FETCH_GROUP_INTERVAL_MS = 20;
/** Least time between the starts of two groups of acknowledgements on PostgreSQL (per process). */
export const ACK_GROUP_INTERVAL_MS = 50;
/** Most commands one fetch hands a terminal; the rest follow on the next fetch. */
export const MAX_FETCH = 100;

type Row = Selectable<ProtocolTables['terminal_commands']>;

/** A command as staff see it (times in µs). */
export interface Command {
  id: string;
  seq: number;
  terminal_id: string;
  kind: CommandKind;
  payload: Record<string, unknown>;
  created_at: number;
  not_before: number | null;
  expires_at: number;
  status: CommandStatus;
  acked_at: number | null;
  result: Record<string, unknown> | null;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function toCommand(r: Row): Command {
  return {
    id: r.id,
    seq: toSafeInt(r.seq),
    terminal_id: r.terminal_id,
    kind: r.kind as CommandKind,
    payload: parseObject(r.payload) ?? {},
    created_at: toSafeInt(r.created_at),
    not_before: toSafeIntOrNull(r.not_before),
    expires_at: toSafeInt(r.expires_at),
    status: r.status as CommandStatus,
    acked_at: toSafeIntOrNull(r.acked_at),
    result: parseObject(r.result),
  };
}

/** What enqueue wakes: terminals with a command deliverable now, and the seqs that did it. */
export type WakeHook = (terminalIds: readonly string[], seqs: readonly number[]) => void;

/** One acknowledgement, as the batched writer takes it. */
export interface AckItem {
  terminalId: string;
  id: string;
  result: string | null;
  nowUs: number;
}

/** Applies an acknowledgement durably (batched per tick) and answers the command row as it then stands. */
export type AckWriter = (item: AckItem) => Promise<Row | undefined>;

/**
 * Acknowledgements on SQLite, inside the protocol's shared commit: a rollout makes thousands of
 * terminals acknowledge within seconds, which must not cost one fsync each. The one UPDATE acks a
 * pending, unexpired command of this terminal, or marks an overdue one expired; anything else is
 * left as it is (a repeat changes nothing).
 */
export function sqliteAcks(db: BetterSqlite3.Database): (items: AckItem[]) => (Row | undefined)[] {
  const update = db.prepare(
    `update terminal_commands set
       status = case when expires_at > @now then 'acked' else 'expired' end,
       acked_at = case when expires_at > @now then @now else null end,
       result = case when expires_at > @now then @result else null end
     where id = @id and terminal_id = @terminal and status = 'pending'`,
  );
  const read = db.prepare('select * from terminal_commands where id = ?');
  return (items) =>
    items.map((a) => {
      update.run({ now: a.nowUs, result: a.result, id: a.id, terminal: a.terminalId });
      return read.get(a.id) as Row | undefined;
    });
}

/** The same on PostgreSQL: one UPDATE … FROM unnest(…) and one read per tick (the first ack of an id in a tick wins). */
export function pgAcks(pool: pg.Pool): (items: AckItem[]) => Promise<(Row | undefined)[]> {
  const text = `update terminal_commands c set
      status = case when c.expires_at > v.now then 'acked' else 'expired' end,
      acked_at = case when c.expires_at > v.now then v.now else null end,
      result = case when c.expires_at > v.now then v.result else null end
    from unnest($1::text[], $2::text[], $3::text[], $4::int8[]) as v(id, terminal_id, result, now)
    where c.id = v.id and c.terminal_id = v.terminal_id and c.status = 'pending'`;
  return async (items) => {
    const first = new Map<string, AckItem>();
    for (const a of items) if (!first.has(a.id)) first.set(a.id, a);
    const list = [...first.values()];
    await pool.query(text, [list.map((a) => a.id), list.map((a) => a.terminalId), list.map((a) => a.result), list.map((a) => a.nowUs)]);
    const { rows } = await pool.query('select * from terminal_commands where id = any($1::text[])', [list.map((a) => a.id)]);
    const byId = new Map((rows as Row[]).map((r) => [r.id, r]));
    return items.map((a) => byId.get(a.id));
  };
}

/** A new command's row, after checking the input (no secret, no clock trouble, bounded size). */
function newRow(item: CommandInput, nowUs: number): Omit<Row, 'seq'> {
  if (!COMMAND_KINDS.includes(item.kind)) throw new XiaoweiError('validation_failed', `unknown command kind ${String(item.kind)}`);
  if (!Number.isSafeInteger(item.expires_at) || item.expires_at <= nowUs) throw new XiaoweiError('validation_failed', 'a command must expire in the future');
  const notBefore = item.not_before ?? null;
  if (notBefore !== null && (!Number.isSafeInteger(notBefore) || notBefore >= item.expires_at)) {
    throw new XiaoweiError('validation_failed', 'not_before must come before expires_at');
  }
  const payload = JSON.stringify(item.payload ?? {});
  if (payload.length > MAX_COMMAND_JSON) throw new XiaoweiError('validation_failed', `a command payload must be at most ${MAX_COMMAND_JSON} characters of JSON`);
  return {
    id: newId(),
    terminal_id: item.terminal_id,
    kind: item.kind,
    payload,
    created_at: nowUs,
    not_before: notBefore,
    expires_at: item.expires_at,
    status: 'pending',
    acked_at: null,
    result: null,
  };
}

/**
 * The durable command queue (contracts.ts `CommandQueue`) and what terminals and staff do with it.
 * The table is the source of truth: push only wakes a terminal to come and fetch. A command is
 * delivered while pending, unexpired and past its `not_before`, in `seq` order, until the
 * terminal acknowledges it (once; a repeat acknowledgement changes nothing). Expiry is applied
 * lazily when a terminal's commands are read, and by a periodic sweep.
 */
export class CommandStore implements CommandQueue {
  /** Terminals' fetches of a tick, read with one query (a rollout's notice makes thousands fetch at once). */
  private readonly fetches: TickBatcher<{ terminalId: string; limit: number }, Command[]>;

  constructor(
    private readonly db: Kysely<ProtocolTables>,
    private readonly now: () => number,
    private readonly wake: WakeHook,
    private readonly ackWriter: AckWriter,
  ) {
    // A group at most every FETCH_GROUP_INTERVAL_MS: a rollout's notices make hundreds of terminals
    // fetch a second, and one query per tick each would cost more round trips than the fetches need.
    this.fetches = new TickBatcher({ run: (items) => this.deliverableMany(items), maxBatch: 1000, maxQueue: 100_000, maxInFlight: 3, minIntervalMs: FETCH_GROUP_INTERVAL_MS });
  }

  async enqueue(items: readonly CommandInput[], trx?: Kysely<TerminalSharedTables>): Promise<string[]> {
    if (items.length === 0) return [];
    const nowUs = this.now();
    // Rows are made a chunk at a time, each while the previous chunk's insert is under way: a
    // rollout stage of 20,000 notices made at once (ids, payload JSON) held the event loop ~80 ms.
    // Several chunks run in one transaction, so a bad item found late stores none of them.
    const ids: string[] = [];
    const insert = async (db: Kysely<ProtocolTables>): Promise<{ seq: number; terminal_id: string; not_before: number | null }[]> => {
      const out: { seq: number; terminal_id: string; not_before: number | null }[] = [];
      for (let i = 0; i < items.length; i += INSERT_CHUNK) {
        const rows = items.slice(i, i + INSERT_CHUNK).map((item) => newRow(item, nowUs));
        for (const r of rows) ids.push(r.id);
        const inserted = await db.insertInto('terminal_commands').values(rows).returning(['seq', 'terminal_id', 'not_before']).execute();
        for (const r of inserted) out.push({ seq: toSafeInt(r.seq), terminal_id: r.terminal_id, not_before: toSafeIntOrNull(r.not_before) });
      }
      return out;
    };
    if (trx) {
      // Inside the caller's transaction we cannot see the commit: every process's wake poller
      // finds these rows by their seq once they are committed (push.ts).
      await insert(trx as unknown as Kysely<ProtocolTables>);
    } else {
      const inserted = items.length > INSERT_CHUNK ? await this.db.transaction().execute(insert) : await insert(this.db);
      const due = inserted.filter((r) => r.not_before === null || r.not_before <= nowUs);
      if (due.length > 0) this.wake([...new Set(due.map((r) => r.terminal_id))], due.map((r) => r.seq));
    }
    return ids;
  }

  /** Marks the terminal's overdue pending commands expired (the lazy half of expiry). */
  private async expireFor(terminalId: string, nowUs: number): Promise<void> {
    await this.db.updateTable('terminal_commands').set({ status: 'expired' }).where('terminal_id', '=', terminalId).where('status', '=', 'pending').where('expires_at', '<=', nowUs).execute();
  }

  /** What a terminal gets when it fetches: pending, unexpired, past not_before, oldest first. */
  deliverable(terminalId: string, limit = MAX_FETCH): Promise<Command[]> {
    return this.fetches.submit({ terminalId, limit: Math.min(Math.max(limit, 1), MAX_FETCH) });
  }

  /** `deliverable` for many terminals in one query: at most MAX_FETCH rows per terminal (row_number over each one's queue). */
  private async deliverableMany(items: { terminalId: string; limit: number }[]): Promise<Command[][]> {
    const nowUs = this.now();
    const ids = [...new Set(items.map((i) => i.terminalId))];
    const { rows } = await sql<Row>`select * from (
        select c.*, row_number() over (partition by c.terminal_id order by c.seq) as rn from terminal_commands c
        where c.terminal_id in (${sql.join(ids)}) and c.status = 'pending' and c.expires_at > ${nowUs} and (c.not_before is null or c.not_before <= ${nowUs})
      ) x where x.rn <= ${MAX_FETCH} order by x.terminal_id, x.seq`.execute(this.db);
    const byTerminal = new Map<string, Command[]>();
    for (const r of rows) {
      const list = byTerminal.get(r.terminal_id) ?? [];
      list.push(toCommand(r));
      byTerminal.set(r.terminal_id, list);
    }
    return items.map((i) => (byTerminal.get(i.terminalId) ?? []).slice(0, i.limit));
  }

  /** Pending deliverable commands per terminal (for heartbeat answers), in one query. */
  async countDeliverable(terminalIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (terminalIds.length === 0) return out;
    const nowUs = this.now();
    const rows = await this.db
      .selectFrom('terminal_commands')
      .select((eb) => ['terminal_id', eb.fn.countAll<number>().as('n')])
      .where('terminal_id', 'in', [...new Set(terminalIds)])
      .where('status', '=', 'pending')
      .where('expires_at', '>', nowUs)
      .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', nowUs)]))
      .groupBy('terminal_id')
      .execute();
    for (const r of rows) out.set(r.terminal_id, toSafeInt(r.n));
    return out;
  }

  /**
   * The terminal acknowledges one of its commands. Acknowledged once: a repeat, or an
   * acknowledgement of a command that expired or was cancelled, changes nothing and answers the
   * command as it stands. Another terminal's command is not found.
   */
  async ack(terminalId: string, id: string, result: Record<string, unknown> | null): Promise<Command> {
    const nowUs = this.now();
    const text = result === null ? null : JSON.stringify(result);
    if (text !== null && text.length > MAX_COMMAND_JSON) throw new XiaoweiError('validation_failed', `result must be at most ${MAX_COMMAND_JSON} characters of JSON`);
    const row = await this.ackWriter({ terminalId, id, result: text, nowUs });
    if (!row || row.terminal_id !== terminalId) throw new XiaoweiError('not_found');
    return toCommand(row);
  }

  async get(terminalId: string, id: string): Promise<Command | undefined> {
    const row = await this.db.selectFrom('terminal_commands').selectAll().where('id', '=', id).where('terminal_id', '=', terminalId).executeTakeFirst();
    return row ? toCommand(row) : undefined;
  }

  /** A terminal's commands for staff, newest first. */
  async list(terminalId: string, q: { status?: CommandStatus | undefined; limit?: number | undefined; before_seq?: number | undefined }): Promise<Command[]> {
    await this.expireFor(terminalId, this.now());
    let query = this.db
      .selectFrom('terminal_commands')
      .selectAll()
      .where('terminal_id', '=', terminalId)
      .orderBy('seq', 'desc')
      .limit(Math.min(q.limit ?? 50, 200));
    if (q.status) query = query.where('status', '=', q.status);
    if (q.before_seq !== undefined) query = query.where('seq', '<', q.before_seq);
    return (await query.execute()).map(toCommand);
  }

  /** Staff cancel a pending command; anything else is refused with its current status. */
  async cancel(terminalId: string, id: string): Promise<Command> {
    const nowUs = this.now();
    await this.expireFor(terminalId, nowUs);
    const done = await this.db
      .updateTable('terminal_commands')
      .set({ status: 'cancelled' })
      .where('id', '=', id)
      .where('terminal_id', '=', terminalId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    const row = await this.db.selectFrom('terminal_commands').selectAll().where('id', '=', id).where('terminal_id', '=', terminalId).executeTakeFirst();
    if (!row) throw new XiaoweiError('not_found');
    if (Number(done.numUpdatedRows) !== 1) throw new XiaoweiError('terminal_command_not_pending', row.status);
    return toCommand(row);
  }

  /** The sweep: marks overdue pending commands expired, at most `limit` per call; answers how many. */
  async expireDue(limit = 10_000): Promise<number> {
    const nowUs = this.now();
    const due = this.db.selectFrom('terminal_commands').select('id').where('status', '=', 'pending').where('expires_at', '<=', nowUs).limit(limit);
    const done = await this.db.updateTable('terminal_commands').set({ status: 'expired' }).where('id', 'in', due).where('status', '=', 'pending').executeTakeFirst();
    return Number(done.numUpdatedRows);
  }

  // The wake poller's view of the queue (push.ts).

  async maxSeq(): Promise<number> {
    const row = await this.db.selectFrom('terminal_commands').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    return toSafeIntOrNull(row?.seq) ?? 0;
  }

  /** Commands after the cursor, and any of the listed seqs (gaps the poller is still watching). */
  async after(cursor: number, watched: readonly number[], limit: number): Promise<{ seq: number; terminal_id: string; not_before: number | null; status: string }[]> {
    const rows = await this.db
      .selectFrom('terminal_commands')
      .select(['seq', 'terminal_id', 'not_before', 'status'])
      .where((eb) => (watched.length > 0 ? eb.or([eb('seq', '>', cursor), eb('seq', 'in', [...watched])]) : eb('seq', '>', cursor)))
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: toSafeInt(r.seq), terminal_id: r.terminal_id, not_before: toSafeIntOrNull(r.not_before), status: r.status }));
  }

  /** Terminals with a pending command whose `not_before` fell in (from, to]. */
  async becameDue(fromUs: number, toUs: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('terminal_commands')
      .select('terminal_id')
      .distinct()
      .where('status', '=', 'pending')
      .where('not_before', 'is not', null)
      .where('not_before', '>', fromUs)
      .where('not_before', '<=', toUs)
      .where('expires_at', '>', toUs)
      .execute();
    return rows.map((r) => r.terminal_id);
  }
}
