/**
 * Reconciliation of terminal batches: when a batch closed out of balance and the terminal uploaded
 * its lines (批上送, `pay_batch_lines`, engine part), each line is compared with the host's
 * transaction of the same (terminal, client id), and the host's transactions of the batch with the
 * lines. Differences become exception rows for staff:
 *   missing_on_host     — the terminal has a line the host never recorded;
 *   missing_on_terminal — the host approved a transaction of the batch the terminal does not list;
 *   amount_differs      — both have it, with different amounts;
 *   status_differs      — the terminal lists it as done, the host declined, held, reversed or expired it.
 * The engine adds two kinds of its own when a terminal reversed a void that could not be undone
 * (engine-void-reversal.ts): void_reversal_unposted (the customer could not be charged again) and
 * void_reversal_offus (the switch may have the void already). The void stands; reverse_host is
 * refused for them (it would fail again) — staff accept_host, write_off or note. Likewise for a
 * refund a terminal reversed (engine-refund-reversal.ts): refund_reversal_unposted (the customer
 * could not be charged again, or the sale was reversed since) and refund_reversal_offus.
 * A batch is reconciled once (`pay_recon_batches`); exception rows are unique per (batch, client
 * id, kind), so a repeated run adds nothing.
 *
 * Staff resolve an exception with an action (audited by the route):
 *   accept_host  — the host is right, the terminal's record is wrong: closed, nothing moves;
 *   reverse_host — the terminal never completed it: the host transaction is reversed through the
 *                  engine's reversal (engine.ts `reversal`, client id `recon-<exception id>` on the
 *                  terminal, so a retried resolution reverses once); it lands in the terminal's
 *                  open batch like any reversal, and the exception's note names it;
 *   write_off    — closed with a note (the bank absorbs or settles it outside the system);
 *   note         — closed with a note only.
 */
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import type { PaymentsSharedTables } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { reversal } from './engine.js';
import type { EngineTables } from './engine-migration.js';
import type { ReconAction, ReconKind, SettlementTables } from './settlement-migration.js';
import type { SettlementDeps, SettlementScope } from './settlement-types.js';

type ReconDb = Kysely<SettlementTables & PaymentsSharedTables & EngineTables & { terminals: { id: string; owner_party_id: string; org_id: string; serial: string } }>;

/** Host statuses that mean the transaction stood when it was made (later voids/refunds are their own lines). */
const HOST_DONE = ['approved', 'refunded', 'voided', 'completed'];
/** Host transaction types a terminal's batch lists (a balance inquiry is no line). */
const LINE_TYPES = ['sale', 'void', 'refund', 'preauth', 'preauth_void', 'completion', 'completion_void', 'qr_sale'];

export interface ReconException {
  id: string;
  batch_id: string;
  batch_no: number;
  terminal_id: string;
  terminal_serial: string | null;
  merchant_party_id: string | null;
  org_id: string;
  kind: ReconKind;
  client_id: string;
  host_txn_id: string | null;
  terminal_type: string | null;
  terminal_amount: number | null;
  host_type: string | null;
  host_amount: number | null;
  host_status: string | null;
  status: 'open' | 'resolved';
  resolution: ReconAction | null;
  note: string | null;
  resolved_by: string | null;
  resolved_at: number | null;
  created_at: number;
}

/**
 * Compares one closed batch's uploaded lines with the host's transactions and records the
 * differences. Idempotent: a batch already reconciled returns its exception count again. The
 * engine calls it after an upload; the settlement run calls it for every uploaded batch not yet
 * reconciled. Returns how many exceptions the batch has.
 */
export async function reconcileBatch(deps: SettlementDeps, batchId: string): Promise<number> {
  const db = deps.db as ReconDb;
  const done = await db.selectFrom('pay_recon_batches').select('exceptions').where('batch_id', '=', batchId).executeTakeFirst();
  if (done) return toSafeInt(done.exceptions);
  const batch = await db
    .selectFrom('pay_batches as b')
    .innerJoin('terminals as t', 't.id', 'b.terminal_id')
    .select(['b.id', 'b.terminal_id', 'b.batch_no', 'b.status', 'b.result', 't.owner_party_id', 't.org_id'])
    .where('b.id', '=', batchId)
    .executeTakeFirst();
  if (!batch) throw new XiaoweiError('not_found');
  if (batch.status !== 'closed' || batch.result !== 'uploaded') return 0;

  const lines = await db.selectFrom('pay_batch_lines').selectAll().where('batch_id', '=', batchId).orderBy('line_no').execute();
  const clientIds = [...new Set(lines.map((l) => l.client_id))];
  const hostByClient = new Map<string, PaymentsSharedTables['pay_transactions']>();
  for (let i = 0; i < clientIds.length; i += 500) {
    const rows = await db
      .selectFrom('pay_transactions')
      .selectAll()
      .where('client_scope', '=', batch.terminal_id)
      .where('client_id', 'in', clientIds.slice(i, i + 500))
      .execute();
    for (const r of rows) hostByClient.set(r.client_id, r);
  }
  const hostOfBatch = await db
    .selectFrom('pay_transactions')
    .selectAll()
    .where('batch_id', '=', batchId)
    .where('type', 'in', LINE_TYPES as PaymentsSharedTables['pay_transactions']['type'][])
    .where('status', 'in', HOST_DONE as PaymentsSharedTables['pay_transactions']['status'][])
    .execute();

  const now = deps.now();
  const found: SettlementTables['pay_recon_exceptions'][] = [];
  const base = { batch_id: batchId, terminal_id: batch.terminal_id, merchant_party_id: batch.owner_party_id, org_id: batch.org_id, batch_no: toSafeInt(batch.batch_no) };
  const open = { status: 'open' as const, resolution: null, note: null, resolved_by: null, resolved_at: null, created_at: now };
  const listed = new Set<string>();
  for (const line of lines) {
    listed.add(line.client_id);
    const host = hostByClient.get(line.client_id);
    const terminalSide = { terminal_type: line.type, terminal_amount: toSafeInt(line.amount) };
    if (!host) {
      found.push({ id: newId(), ...base, kind: 'missing_on_host', client_id: line.client_id, host_txn_id: null, ...terminalSide, host_type: null, host_amount: null, host_status: null, ...open });
      continue;
    }
    const hostSide = { host_txn_id: host.id, host_type: host.type, host_amount: toSafeInt(host.amount), host_status: host.status };
    if (!HOST_DONE.includes(host.status)) found.push({ id: newId(), ...base, kind: 'status_differs', client_id: line.client_id, ...terminalSide, ...hostSide, ...open });
    else if (toSafeInt(host.amount) !== toSafeInt(line.amount)) found.push({ id: newId(), ...base, kind: 'amount_differs', client_id: line.client_id, ...terminalSide, ...hostSide, ...open });
  }
  for (const host of hostOfBatch) {
    if (listed.has(host.client_id)) continue;
    found.push({
      id: newId(),
      ...base,
      kind: 'missing_on_terminal',
      client_id: host.client_id,
      host_txn_id: host.id,
      terminal_type: null,
      terminal_amount: null,
      host_type: host.type,
      host_amount: toSafeInt(host.amount),
      host_status: host.status,
      ...open,
    });
  }
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < found.length; i += 200) {
      await trx
        .insertInto('pay_recon_exceptions')
        .values(found.slice(i, i + 200))
        .onConflict((oc) => oc.columns(['batch_id', 'client_id', 'kind']).doNothing())
        .execute();
    }
    await trx
      .insertInto('pay_recon_batches')
      .values({ batch_id: batchId, exceptions: found.length, reconciled_at: now })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .execute();
  });
  return found.length;
}

/** Reconciles every uploaded batch not yet reconciled; returns how many it reconciled. */
export async function reconcilePending(deps: SettlementDeps, progress: (done: number, total: number) => void = () => undefined): Promise<number> {
  const db = deps.db as ReconDb;
  const batches = await db
    .selectFrom('pay_batches as b')
    .select('b.id')
    .where('b.status', '=', 'closed')
    .where('b.result', '=', 'uploaded')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('pay_recon_batches as r').select('r.batch_id').whereRef('r.batch_id', '=', 'b.id'))))
    .orderBy('b.closed_at')
    .execute();
  let n = 0;
  for (const b of batches) {
    await reconcileBatch(deps, b.id);
    progress(++n, batches.length);
  }
  return n;
}

function toView(r: SettlementTables['pay_recon_exceptions'] & { terminal_serial: string | null }): ReconException {
  return {
    ...r,
    batch_no: toSafeInt(r.batch_no),
    terminal_amount: toSafeIntOrNull(r.terminal_amount),
    host_amount: toSafeIntOrNull(r.host_amount),
    resolved_at: toSafeIntOrNull(r.resolved_at),
    created_at: toSafeInt(r.created_at),
  };
}

export async function listExceptions(
  deps: SettlementDeps,
  scope: SettlementScope,
  q: { status?: 'open' | 'resolved' | undefined; batch_id?: string | undefined; limit?: number | undefined; offset?: number | undefined },
): Promise<{ items: ReconException[]; total: number }> {
  const db = deps.db as ReconDb;
  let base = db.selectFrom('pay_recon_exceptions as e');
  if (scope.kind === 'owner') base = base.where('e.merchant_party_id', '=', scope.partyId ?? '\u0000none');
  else base = base.where('e.org_id', 'in', scope.orgIds.length > 0 ? [...scope.orgIds] : ['\u0000none']);
  if (q.status) base = base.where('e.status', '=', q.status);
  if (q.batch_id) base = base.where('e.batch_id', '=', q.batch_id);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .leftJoin('terminals as t', 't.id', 'e.terminal_id')
    .selectAll('e')
    .select('t.serial as terminal_serial')
    .orderBy('e.created_at', 'desc')
    .orderBy('e.id')
    .limit(q.limit ?? 100)
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map(toView), total: toSafeInt(total.n) };
}

async function visibleException(deps: SettlementDeps, scope: SettlementScope, id: string): Promise<ReconException> {
  const db = deps.db as ReconDb;
  const row = await db
    .selectFrom('pay_recon_exceptions as e')
    .leftJoin('terminals as t', 't.id', 'e.terminal_id')
    .selectAll('e')
    .select('t.serial as terminal_serial')
    .where('e.id', '=', id)
    .executeTakeFirst();
  if (!row) throw new XiaoweiError('not_found');
  const ok = scope.kind === 'owner' ? row.merchant_party_id === scope.partyId : scope.orgIds.includes(row.org_id);
  if (!ok) throw new XiaoweiError('not_found');
  return toView(row);
}

/**
 * Resolves an open exception. A resolved exception refuses a second resolution; write_off and note
 * need a note; reverse_host needs a host transaction and goes through the engine's reversal.
 */
export async function resolveException(
  deps: PaymentsDeps,
  scope: SettlementScope,
  id: string,
  input: { action: ReconAction; note?: string | undefined },
  actorId: string,
): Promise<ReconException> {
  const current = await visibleException(deps, scope, id);
  if (current.status === 'resolved') throw new XiaoweiError('recon_exception_resolved', current.resolution ?? '');
  let note = input.note?.trim() ?? '';
  if ((input.action === 'write_off' || input.action === 'note') && note === '') throw new XiaoweiError('recon_note_required');
  const db = deps.db as ReconDb;
  if (input.action === 'reverse_host') {
    if (!current.host_txn_id) throw new XiaoweiError('recon_action_unavailable', 'no host transaction 主机无此交易');
    // The void stands because it could not be undone; reversing it again would only fail again.
    if (current.kind === 'void_reversal_unposted' || current.kind === 'void_reversal_offus') {
      throw new XiaoweiError('recon_action_unavailable', 'the void stands; charge the customer with a new sale 撤销已生效，请重新发起消费');
    }
    if (current.kind === 'refund_reversal_unposted' || current.kind === 'refund_reversal_offus') {
      throw new XiaoweiError('recon_action_unavailable', 'the refund stands; settle it with the customer 退货已生效，请与持卡人协商处理');
    }
    const terminal = await db
      .selectFrom('terminals')
      .select(['id', 'serial', 'owner_party_id', 'org_id'])
      .where('id', '=', current.terminal_id)
      .executeTakeFirstOrThrow();
    const reply = await reversal(
      deps,
      {
        terminal: { terminal_id: terminal.id, serial: terminal.serial, owner_party_id: terminal.owner_party_id, org_id: terminal.org_id, group_ids: [], session_id: '', operator: null },
        operatorId: actorId,
        seq: 0,
      },
      { clientId: `recon-${current.id}`, originalClientId: current.client_id },
    );
    if (!reply.approved) throw new XiaoweiError('recon_action_unavailable', `${reply.responseCode} ${reply.message.en} ${reply.message.zh}`);
    note = `${note === '' ? '' : `${note} `}[reversal ${reply.id}]`;
  }
  const updated = await db
    .updateTable('pay_recon_exceptions')
    .set({ status: 'resolved', resolution: input.action, note: note === '' ? null : note, resolved_by: actorId, resolved_at: deps.now() })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  // Another resolver won the race: say so rather than overwrite.
  if (Number(updated.numUpdatedRows) === 0) throw new XiaoweiError('recon_exception_resolved');
  return visibleException(deps, scope, id);
}
