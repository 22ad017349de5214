/**
 * Reading imported files and resolving their exceptions.
 *
 * Staff actions (each at most once; a note is always required; the route audits them):
 *   write_off — the difference moves from bank:switch-clearing to bank:suspense (adjustment, code 7,
 *               transfer id `swrecon-wo:<exception id>`): clearing no longer carries it, suspense
 *               explains it;
 *   reverse   — for a SALE the switch never had (missing_on_switch): the payments engine reverses
 *               the sale (`reverseHostTransaction`, idempotent per sale), which returns the money
 *               to bank:switch-clearing; later files do not expect that sale's reversal;
 *   accept    — closed with the note only: the difference stays on clearing until a later file
 *               pairs it (e.g. "it will be in tomorrow's file").
 * The action is claimed first (status 'resolving' with the action), then its ledger or engine call
 * runs, then the row is resolved. A crash in between leaves it 'resolving': the same action again
 * completes it (both calls are idempotent), another action is refused.
 */
import { LEDGER_CNY } from '../../ledger/index.js';
import { reverseHostTransaction } from '../../payments/engine.js';
import { XiaoweiError } from '../../platform/errors.js';
import { toSafeInt, toSafeIntOrNull } from '../../platform/int.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import type { GatewayDeps } from '../deps.js';
import type { ExceptionAction, ExceptionKind, ExceptionStatus, LineOutcome, RecordType, StaffAction, SwitchReconTables } from './migration.js';
import { ADJUSTMENT_CODE, fileView, reconDb, type ReconDb, type ReconFileView } from './recon.js';

export const MAX_NOTE = 500;

export interface ReconExceptionView {
  id: string;
  file_id: string;
  settlement_date: string;
  kind: ExceptionKind;
  type: RecordType;
  rrn: string;
  platform_txn_id: string | null;
  platform_state: string | null;
  line_no: number | null;
  switch_amount: number | null;
  platform_amount: number | null;
  difference: number;
  status: ExceptionStatus;
  action: ExceptionAction | null;
  note: string | null;
  resolved_by: string | null;
  resolved_at: number | null;
  transfer_id: string | null;
  reversal_txn_id: string | null;
  settled_file_id: string | null;
  settled_date: string | null;
  /** Whether bank:switch-clearing still carries the difference. */
  carried: boolean;
  created_at: number;
}

type ExceptionRow = SwitchReconTables['gw_recon_exceptions'];

function exceptionView(r: ExceptionRow & { settlement_date: string; settled_date: string | null }): ReconExceptionView {
  return {
    ...r,
    line_no: toSafeIntOrNull(r.line_no),
    switch_amount: toSafeIntOrNull(r.switch_amount),
    platform_amount: toSafeIntOrNull(r.platform_amount),
    difference: toSafeInt(r.difference),
    resolved_at: toSafeIntOrNull(r.resolved_at),
    created_at: toSafeInt(r.created_at),
    carried: r.settled_file_id === null && (r.status !== 'resolved' || r.action === 'accept'),
  };
}

function exceptionQuery(d: ReconDb) {
  return d
    .selectFrom('gw_recon_exceptions as e')
    .innerJoin('gw_recon_files as f', 'f.id', 'e.file_id')
    .leftJoin('gw_recon_files as s', 's.id', 'e.settled_file_id')
    .selectAll('e')
    .select(['f.settlement_date', 's.settlement_date as settled_date']);
}

export async function getException(deps: GatewayDeps, id: string): Promise<ReconExceptionView> {
  const row = await exceptionQuery(reconDb(deps)).where('e.id', '=', id).executeTakeFirst();
  if (!row) throw new XiaoweiError('not_found');
  return exceptionView(row);
}

export async function listExceptions(
  deps: GatewayDeps,
  q: { status?: 'open' | 'resolved' | undefined; file_id?: string | undefined; limit?: number | undefined; offset?: number | undefined },
): Promise<{ items: ReconExceptionView[]; total: number }> {
  const d = reconDb(deps);
  let base = d.selectFrom('gw_recon_exceptions as e');
  // An action under way is not done yet: it stays with the open ones.
  if (q.status === 'open') base = base.where('e.status', 'in', ['open', 'resolving']);
  if (q.status === 'resolved') base = base.where('e.status', '=', 'resolved');
  if (q.file_id) base = base.where('e.file_id', '=', q.file_id);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  let rows = exceptionQuery(d);
  if (q.status === 'open') rows = rows.where('e.status', 'in', ['open', 'resolving']);
  if (q.status === 'resolved') rows = rows.where('e.status', '=', 'resolved');
  if (q.file_id) rows = rows.where('e.file_id', '=', q.file_id);
  const items = await rows
    .orderBy('e.created_at', 'desc')
    .orderBy('e.id')
    .limit(q.limit ?? 100)
    .offset(q.offset ?? 0)
    .execute();
  return { items: items.map(exceptionView), total: toSafeInt(total.n) };
}

export async function listFiles(deps: GatewayDeps, q: { limit?: number | undefined; offset?: number | undefined }): Promise<{ items: (ReconFileView & { open_exceptions: number })[]; total: number }> {
  const d = reconDb(deps);
  const total = await d.selectFrom('gw_recon_files').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await d
    .selectFrom('gw_recon_files as f')
    .selectAll('f')
    .select((eb) =>
      eb
        .selectFrom('gw_recon_exceptions as e')
        .select((x) => x.fn.countAll().as('n'))
        .whereRef('e.file_id', '=', 'f.id')
        .where('e.status', 'in', ['open', 'resolving'])
        .as('open_exceptions'),
    )
    .orderBy('f.settlement_date', 'desc')
    .orderBy('f.id')
    .limit(q.limit ?? 50)
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map((r) => ({ ...fileView(r), open_exceptions: toSafeInt(r.open_exceptions ?? 0) })), total: toSafeInt(total.n) };
}

export interface FileDetail {
  file: ReconFileView & { open_exceptions: number };
  /** Lines by type and outcome. */
  summary: { type: RecordType; outcome: LineOutcome; count: number; amount: number }[];
  exceptions: ReconExceptionView[];
}

export async function getFile(deps: GatewayDeps, id: string): Promise<FileDetail> {
  const d = reconDb(deps);
  const row = await d.selectFrom('gw_recon_files').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new XiaoweiError('not_found');
  const summary = await d
    .selectFrom('gw_recon_lines')
    .select(['type', 'outcome', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.sum('amount').as('amount')])
    .where('file_id', '=', id)
    .groupBy(['type', 'outcome'])
    .orderBy('type')
    .orderBy('outcome')
    .execute();
  const exceptions = await exceptionQuery(d).where('e.file_id', '=', id).orderBy('e.line_no').orderBy('e.id').limit(1000).execute();
  const views = exceptions.map(exceptionView);
  return {
    file: { ...fileView(row), open_exceptions: views.filter((e) => e.status !== 'resolved').length },
    summary: summary.map((s) => ({ type: s.type, outcome: s.outcome, count: toSafeInt(s.n), amount: toSafeInt(s.amount ?? 0) })),
    exceptions: views,
  };
}

/** Resolves an exception with a staff action; see the file comment. */
export async function resolveException(deps: GatewayDeps, id: string, input: { action: StaffAction; note: string }, actorId: string): Promise<ReconExceptionView> {
  const note = input.note.trim();
  if (note === '') throw new XiaoweiError('switch_recon_note_required');
  const d = reconDb(deps);
  const current = await getException(deps, id);
  const resuming = current.status === 'resolving' && current.action === input.action;
  if (current.status !== 'open' && !resuming) throw new XiaoweiError('switch_recon_exception_resolved', current.action ?? current.status);
  if (input.action === 'reverse' && (current.kind !== 'missing_on_switch' || current.type !== 'SALE' || current.platform_txn_id === null)) {
    throw new XiaoweiError('switch_recon_action_unavailable', 'reverse: only a SALE missing on the switch 仅限转接方缺失的消费');
  }
  if (!resuming) {
    const claimed = await d
      .updateTable('gw_recon_exceptions')
      .set({ status: 'resolving', action: input.action, note: note.slice(0, MAX_NOTE), resolved_by: actorId })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) {
      const now = await getException(deps, id);
      throw new XiaoweiError('switch_recon_exception_resolved', now.action ?? now.status);
    }
  }

  const effect: { transfer_id?: string; reversal_txn_id?: string } = {};
  try {
    if (input.action === 'write_off') effect.transfer_id = await writeOff(deps, current);
    if (input.action === 'reverse') {
      const reply = await reverseHostTransaction(deps.payments, current.platform_txn_id!, actorId);
      if (!reply.approved) throw new XiaoweiError('switch_recon_action_unavailable', `${reply.responseCode} ${reply.message.en} ${reply.message.zh}`);
      effect.reversal_txn_id = reply.id;
    }
  } catch (error) {
    // A typed refusal means nothing moved: give the exception back to the open ones. Anything else
    // (a lost connection) may have moved money: it stays claimed for the same action to complete.
    if (error instanceof XiaoweiError) await d.updateTable('gw_recon_exceptions').set({ status: 'open', action: null, note: null, resolved_by: null }).where('id', '=', id).where('status', '=', 'resolving').execute();
    throw error;
  }
  await d
    .updateTable('gw_recon_exceptions')
    .set({ status: 'resolved', resolved_at: deps.now(), ...effect })
    .where('id', '=', id)
    .where('status', '=', 'resolving')
    .execute();
  return getException(deps, id);
}

/** Moves the difference off bank:switch-clearing onto bank:suspense; returns the transfer id. */
async function writeOff(deps: GatewayDeps, e: ReconExceptionView): Promise<string> {
  const id = `swrecon-wo:${e.id}`;
  // difference > 0: clearing carries a debit the switch will not pay (suspense takes it).
  const fromClearing = e.difference > 0;
  const refused = (
    await deps.ledger.createTransfers([
      {
        id,
        debit_account_id: fromClearing ? BANK_ACCOUNTS.suspense : BANK_ACCOUNTS.switch_clearing,
        credit_account_id: fromClearing ? BANK_ACCOUNTS.switch_clearing : BANK_ACCOUNTS.suspense,
        amount: Math.abs(e.difference),
        ledger: LEDGER_CNY,
        code: ADJUSTMENT_CODE,
        reference: e.id,
      },
    ])
  ).find((r) => r.result !== 'exists');
  if (refused) throw new XiaoweiError('transfer_rejected', refused.result);
  return id;
}
