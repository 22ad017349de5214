/**
 * The journal of online requests (gw_switch_txns) and the store-and-forward rows (gw_saf): the
 * database half of the link. Every change of a journal row out of 'open' is conditional on it
 * still being 'open', so the answer handler and the give-up paths (a timeout here, `recover` in
 * another process) race safely: exactly one wins and the loser reads the winner's outcome.
 */
import { sql, type Kysely } from 'kysely';
import { toSafeInt, toSafeIntOrNull } from '../../platform/int.js';
import { newId } from '../../platform/ids.js';
import type { SafException, SafKind, SafRow, SafState, SwitchTables, SwitchTxnRow, SwitchTxnState } from './tables.js';

type Db = Kysely<SwitchTables>;

export function txnRow(r: SwitchTxnRow): SwitchTxnRow {
  return {
    ...r,
    amount: toSafeInt(r.amount, 'gw_switch_txns.amount'),
    balance: toSafeIntOrNull(r.balance, 'gw_switch_txns.balance'),
    created_at: toSafeInt(r.created_at, 'gw_switch_txns.created_at'),
    updated_at: toSafeInt(r.updated_at, 'gw_switch_txns.updated_at'),
  };
}

export function safRow(r: SafRow): SafRow {
  return {
    ...r,
    amount: toSafeInt(r.amount, 'gw_saf.amount'),
    attempts: toSafeInt(r.attempts, 'gw_saf.attempts'),
    next_attempt_at: toSafeInt(r.next_attempt_at, 'gw_saf.next_attempt_at'),
    created_at: toSafeInt(r.created_at, 'gw_saf.created_at'),
    updated_at: toSafeInt(r.updated_at, 'gw_saf.updated_at'),
    acknowledged_at: toSafeIntOrNull(r.acknowledged_at, 'gw_saf.acknowledged_at'),
    exception_at: toSafeIntOrNull(r.exception_at, 'gw_saf.exception_at'),
    closed_at: toSafeIntOrNull(r.closed_at, 'gw_saf.closed_at'),
  };
}

export async function findTxn(db: Db, txnId: string): Promise<SwitchTxnRow | undefined> {
  const row = await db.selectFrom('gw_switch_txns').selectAll().where('txn_id', '=', txnId).executeTakeFirst();
  return row ? txnRow(row) : undefined;
}

/** Inserts the row before the request is sent; false when a row for this transaction exists already. */
export async function insertOpen(db: Db, row: SwitchTxnRow): Promise<boolean> {
  const result = await db
    .insertInto('gw_switch_txns')
    .values(row)
    .onConflict((oc) => oc.column('txn_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** open → approved / declined with what the answer said; false when the row had already left 'open'. */
export async function markAnswered(
  db: Db,
  txnId: string,
  answer: { state: 'approved' | 'declined'; code: string; authCode: string | null; balance: number | null; settlementDate: string | null },
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('gw_switch_txns')
    .set({
      state: answer.state,
      response_code: answer.code,
      auth_code: answer.authCode,
      balance: answer.balance,
      settlement_date: answer.settlementDate,
      updated_at: now,
    })
    .where('txn_id', '=', txnId)
    .where('state', '=', 'open')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** open → unavailable (nothing was sent); false when the row had already left 'open'. */
export async function markUnavailable(db: Db, txnId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_switch_txns')
    .set({ state: 'unavailable', updated_at: now })
    .where('txn_id', '=', txnId)
    .where('state', '=', 'open')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The txn id of the link's own reversal of a sale it gave up on. */
export const ownReversalId = (saleTxnId: string): string => `${saleTxnId}:rev`;

/**
 * open → unknown and, for a sale, its reversal queued (reason '98') — run it in ONE transaction
 * (`trx`). False when the row had already left 'open' (the answer won the race). `allowFrom` also
 * accepts rows already 'unknown' (recover making sure the reversal is there).
 */
export async function giveUp(trx: Db, txnId: string, now: number, allowFrom: SwitchTxnState[] = ['open']): Promise<boolean> {
  const row = await trx.selectFrom('gw_switch_txns').selectAll().where('txn_id', '=', txnId).executeTakeFirst();
  if (!row || !allowFrom.includes(row.state)) return false;
  if (row.state === 'open') {
    const moved = await trx
      .updateTable('gw_switch_txns')
      .set({ state: 'unknown', updated_at: now })
      .where('txn_id', '=', txnId)
      .where('state', '=', 'open')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return false;
  }
  if (row.kind === 'sale') {
    await insertSaf(trx, {
      txnId: ownReversalId(txnId),
      kind: 'reversal',
      originalTxnId: txnId,
      rrn: row.rrn,
      reason: '98',
      amount: toSafeInt(row.amount),
      state: 'queued',
      now,
    });
  }
  return true;
}

/** Records an answer that came after we gave up (the row stays as it is). */
export async function noteLateAnswer(db: Db, stan: string, rrn: string, code: string, now: number): Promise<string | undefined> {
  const row = await db.selectFrom('gw_switch_txns').select(['txn_id', 'stan']).where('rrn', '=', rrn).executeTakeFirst();
  if (!row || row.stan !== stan) return undefined;
  await db.updateTable('gw_switch_txns').set({ late_response_code: code, updated_at: now }).where('rrn', '=', rrn).execute();
  return row.txn_id;
}

export interface NewSaf {
  txnId: string;
  kind: SafKind;
  originalTxnId: string;
  rrn: string;
  reason: '98' | '17' | null;
  amount: number;
  state: 'held' | 'queued';
  now: number;
}

/** Inserts a store-and-forward row; a second insert for the same txn id does nothing. */
export async function insertSaf(db: Db, s: NewSaf): Promise<boolean> {
  const result = await db
    .insertInto('gw_saf')
    .values({
      id: newId(),
      txn_id: s.txnId,
      kind: s.kind,
      original_txn_id: s.originalTxnId,
      rrn: s.rrn,
      reason: s.reason,
      amount: s.amount,
      state: s.state,
      attempts: 0,
      next_attempt_at: s.now,
      response_code: null,
      settlement_date: null,
      last_error: null,
      created_at: s.now,
      updated_at: s.now,
      acknowledged_at: null,
      exception: null,
      exception_at: null,
      note: null,
      closed_by: null,
      closed_at: null,
    })
    .onConflict((oc) => oc.column('txn_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** held → queued (send) or dropped; false when no held row had that txn id. */
export async function releaseSaf(db: Db, txnId: string, send: boolean, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_saf')
    .set({ state: send ? 'queued' : 'dropped', next_attempt_at: now, updated_at: now })
    .where('txn_id', '=', txnId)
    .where('state', '=', 'held')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * queued and never attempted → held (the engine takes the advice back: a void it is reversing);
 * false when it was attempted (the switch may have it), sent, or is not queued. Conditional on
 * `attempts = 0`, so of a recall and the forwarder's claim (which counts the attempt) one wins.
 */
export async function recallSaf(db: Db, txnId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_saf')
    .set({ state: 'held', updated_at: now })
    .where('txn_id', '=', txnId)
    .where('state', '=', 'queued')
    .where('attempts', '=', 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Is the advice still queued and never attempted? */
export async function recallableSaf(db: Db, txnId: string): Promise<boolean> {
  const row = await db.selectFrom('gw_saf').select(['state', 'attempts']).where('txn_id', '=', txnId).executeTakeFirst();
  return row !== undefined && row.state === 'queued' && toSafeInt(row.attempts, 'attempts') === 0;
}

/** Queued rows due at `now`, oldest first. */
export async function dueSaf(db: Db, now: number, limit: number): Promise<SafRow[]> {
  const rows = await db
    .selectFrom('gw_saf')
    .selectAll()
    .where('state', '=', 'queued')
    .where('next_attempt_at', '<=', now)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(safRow);
}

/**
 * Claims a due row for one attempt: moves `next_attempt_at` to `leaseUntil` and counts the attempt,
 * if nobody else did first (the row still has the `next_attempt_at` we read). Across processes
 * exactly one claim of a due row succeeds; a process that dies mid-attempt leaves the row to be
 * claimed again when the lease runs out.
 */
export async function claimSaf(db: Db, row: SafRow, leaseUntil: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_saf')
    .set((eb) => ({ next_attempt_at: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
    .where('id', '=', row.id)
    .where('state', '=', 'queued')
    .where('next_attempt_at', '=', row.next_attempt_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * The outcome of one attempt, on a row still 'queued' (staff may have closed it meanwhile: then
 * nothing changes — except an acknowledgement, which is the switch's word and wins over a close).
 *   acknowledged  '00' (or '25' for a reversal: the switch never booked the sale) — done;
 *   rejected      a refund advice refused '13' / '25' — done, reconciliation reports it;
 *   failed        a permanent refusal: no longer sent, raised as exception 'refused';
 *   queued        a transient failure: sent again at `nextAttemptAt`; `raise` raises exception
 *                 'retries' (once: an exception already raised keeps its time).
 */
export async function settleSaf(
  db: Db,
  id: string,
  outcome:
    | { state: 'acknowledged'; code: string; settlementDate: string | null }
    | { state: 'rejected'; code: string }
    | { state: 'failed'; code: string; error: string }
    | { state: 'queued'; nextAttemptAt: number; error: string; code?: string; raise?: boolean },
  now: number,
): Promise<void> {
  if (outcome.state === 'acknowledged') {
    await db
      .updateTable('gw_saf')
      .set({
        state: 'acknowledged',
        response_code: outcome.code,
        settlement_date: outcome.settlementDate,
        acknowledged_at: now,
        last_error: null,
        exception: null,
        exception_at: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('state', 'in', ['queued', 'closed'])
      .execute();
    return;
  }
  const set =
    outcome.state === 'rejected'
      ? { state: outcome.state, response_code: outcome.code, last_error: null }
      : outcome.state === 'failed'
        ? { state: outcome.state, response_code: outcome.code, last_error: outcome.error, exception: 'refused' as const, exception_at: now }
        : {
            next_attempt_at: outcome.nextAttemptAt,
            last_error: outcome.error,
            ...(outcome.code ? { response_code: outcome.code } : {}),
            // Raised once: an exception already raised keeps its kind and time.
            ...(outcome.raise ? { exception: sql<SafException>`coalesce(exception, 'retries')`, exception_at: sql<number>`coalesce(exception_at, ${now})` } : {}),
          };
  await db
    .updateTable('gw_saf')
    .set({ ...set, updated_at: now })
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .execute();
}

/**
 * Staff: send a 'queued' or 'failed' row again now. A failed row is queued again and its exception
 * cleared (it is raised again if the switch still refuses). False when the row is in another state.
 */
export async function retrySaf(db: Db, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_saf')
    .set({ state: 'queued', next_attempt_at: now, exception: null, exception_at: null, updated_at: now })
    .where('id', '=', id)
    .where('state', 'in', ['queued', 'failed'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Staff: close an exception with a note — a 'failed' row, or a 'queued' one raised for too many
 * attempts (it is no longer sent). False when the row is neither.
 */
export async function closeSaf(db: Db, id: string, close: { note: string; by: string }, now: number): Promise<boolean> {
  const result = await db
    .updateTable('gw_saf')
    .set({ state: 'closed', note: close.note, closed_by: close.by, closed_at: now, updated_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('state', '=', 'failed'), eb.and([eb('state', '=', 'queued'), eb('exception', 'is not', null)])]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findSaf(db: Db, id: string): Promise<SafRow | undefined> {
  const row = await db.selectFrom('gw_saf').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? safRow(row) : undefined;
}

export async function safState(db: Db, txnId: string): Promise<SafState | undefined> {
  const row = await db.selectFrom('gw_saf').select('state').where('txn_id', '=', txnId).executeTakeFirst();
  return row?.state;
}

export async function safCounts(db: Db): Promise<Record<SafState, number>> {
  const rows = await db.selectFrom('gw_saf').select((eb) => ['state', eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
  const counts: Record<SafState, number> = { held: 0, queued: 0, acknowledged: 0, rejected: 0, dropped: 0, failed: 0, closed: 0 };
  for (const r of rows) counts[r.state] = toSafeInt(r.n, 'count');
  return counts;
}

/** Open exceptions: entries refused for good ('failed') or queued with too many failed attempts. */
export async function safExceptionCounts(db: Db): Promise<{ refused: number; retries: number }> {
  const rows = await db
    .selectFrom('gw_saf')
    .select((eb) => ['exception', eb.fn.countAll<number>().as('n')])
    .where('exception', 'is not', null)
    .where('state', 'in', ['queued', 'failed'])
    .groupBy('exception')
    .execute();
  const out = { refused: 0, retries: 0 };
  for (const r of rows) if (r.exception) out[r.exception] = toSafeInt(r.n, 'count');
  return out;
}
