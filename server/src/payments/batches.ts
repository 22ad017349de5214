/**
 * Terminal batches (批次): each terminal has one open batch, created on first need with the next
 * batch number; every transaction of the terminal belongs to the batch open when it arrived.
 * Settlement of a batch (批结算) compares the terminal's totals with the host's; a mismatch asks
 * the terminal to upload its lines (批上送), which are stored for reconciliation.
 */
import { prepared } from '../platform/db/prepared.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { XiaoweiError } from '../platform/errors.js';
import type { BatchTotals, PaymentsSharedTables } from './contracts.js';
import type { EngineDb } from './engine-rows.js';

export type BatchRow = PaymentsSharedTables['pay_batches'];

/** Batch numbers run 1…999999 per terminal (six digits on the receipt), then start again. */
export const MAX_PAY_BATCH_NO = 999_999;

export function toBatchRow(r: BatchRow): BatchRow {
  return { ...r, batch_no: toSafeInt(r.batch_no), opened_at: toSafeInt(r.opened_at), closed_at: toSafeIntOrNull(r.closed_at) };
}

/** Built once (platform/db/prepared.ts): every terminal transaction reads it. */
const openBatchOf = prepared<{ terminalId: string }, BatchRow>((db, p) =>
  (db as EngineDb).selectFrom('pay_batches').selectAll().where('terminal_id', '=', p.terminalId).where('status', '=', 'open'),
);

/** The terminal's open batch, opened now if it has none (two openers at once: the unique index decides). */
export async function openBatch(db: EngineDb, terminalId: string, nowUs: number): Promise<BatchRow> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const open = await openBatchOf.first(db, { terminalId });
    if (open) return toBatchRow(open);
    const last = await db.selectFrom('pay_batches').select('batch_no').where('terminal_id', '=', terminalId).orderBy('opened_at', 'desc').orderBy('batch_no', 'desc').limit(1).executeTakeFirst();
    const batchNo = last ? (toSafeInt(last.batch_no) % MAX_PAY_BATCH_NO) + 1 : 1;
    const row: BatchRow = { id: newId(), terminal_id: terminalId, batch_no: batchNo, status: 'open', opened_at: nowUs, closed_at: null, terminal_totals: null, host_totals: null, result: null };
    try {
      // After a wrap-around the old batch with this number makes way (it was settled long ago).
      await db.transaction().execute(async (trx) => {
        const again = await trx.selectFrom('pay_batches').select('id').where('terminal_id', '=', terminalId).where('status', '=', 'open').executeTakeFirst();
        if (again) throw new Error('opened meanwhile');
        await trx.insertInto('pay_batches').values(row).execute();
      });
      return row;
    } catch {
      // Someone else opened it (or took the number): read again.
    }
  }
  throw new XiaoweiError('internal', 'could not open a batch');
}

/** The host's totals of a batch: sales, completions and QR sales that stand (not voided/reversed); approved refunds. */
export async function hostTotals(db: EngineDb, batchId: string): Promise<BatchTotals> {
  const rows = await db
    .selectFrom('pay_transactions')
    .select(['type', 'status', 'amount'])
    .where('batch_id', '=', batchId)
    .where('type', 'in', ['sale', 'completion', 'qr_sale', 'refund'])
    .where('status', 'in', ['approved', 'refunded'])
    .where('auth_code', 'is not', null)
    .execute();
  const totals: BatchTotals = { saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0 };
  for (const r of rows) {
    const amount = toSafeInt(r.amount);
    if (r.type === 'refund') {
      totals.refundCount++;
      totals.refundAmount += amount;
    } else {
      totals.saleCount++;
      totals.saleAmount += amount;
    }
  }
  return totals;
}

export const sameTotals = (a: BatchTotals, b: BatchTotals): boolean =>
  a.saleCount === b.saleCount && a.saleAmount === b.saleAmount && a.refundCount === b.refundCount && a.refundAmount === b.refundAmount;

export interface CloseResult {
  batchNo: number;
  result: 'balanced' | 'mismatch';
  terminalTotals: BatchTotals;
  hostTotals: BatchTotals;
  nextBatchNo: number;
}

/**
 * Closes the terminal's batch and compares totals. The batch is marked closed first, so no new
 * claim joins it (a claim checks, in its own transaction, that its batch is still open, and
 * retries in the next batch otherwise); then the claims already in it whose ledger outcome is
 * not recorded yet are finished (`finishInFlight`); only then are the host's totals counted — so
 * a sale racing the close is either wholly in this batch's totals or in the next batch. A close
 * that crashed after marking the batch is completed by the terminal's retry.
 */
export async function closeBatch(
  db: EngineDb,
  terminalId: string,
  terminalTotals: BatchTotals,
  nowUs: number,
  finishInFlight: (batchId: string) => Promise<void>,
): Promise<CloseResult> {
  const unfinished = await db
    .selectFrom('pay_batches')
    .selectAll()
    .where('terminal_id', '=', terminalId)
    .where('status', '=', 'closed')
    .where('result', 'is', null)
    .orderBy('closed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  let batch: BatchRow;
  if (unfinished) {
    batch = toBatchRow(unfinished);
  } else {
    batch = await openBatch(db, terminalId, nowUs);
    const closed = await db
      .updateTable('pay_batches')
      .set({ status: 'closed', closed_at: nowUs })
      .where('id', '=', batch.id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(closed.numUpdatedRows) !== 1) throw new XiaoweiError('payment_batch_busy');
  }
  await finishInFlight(batch.id);
  const host = await hostTotals(db, batch.id);
  const result = sameTotals(host, terminalTotals) ? 'balanced' : 'mismatch';
  await db
    .updateTable('pay_batches')
    .set({ terminal_totals: JSON.stringify(terminalTotals), host_totals: JSON.stringify(host), result })
    .where('id', '=', batch.id)
    .execute();
  return { batchNo: batch.batch_no, result, terminalTotals, hostTotals: host, nextBatchNo: (batch.batch_no % MAX_PAY_BATCH_NO) + 1 };
}

export interface UploadLine {
  clientId: string;
  type: string;
  amount: number;
}

/**
 * Stores the terminal's lines of a closed batch whose totals did not balance, and counts the
 * exceptions: lines the host does not know or knows with another amount, and host transactions
 * that count in the totals but are missing from the upload.
 */
export async function uploadBatch(db: EngineDb, terminalId: string, batchNo: number, lines: readonly UploadLine[], nowUs: number): Promise<{ batchId: string; exceptions: number }> {
  const found = await db.selectFrom('pay_batches').selectAll().where('terminal_id', '=', terminalId).where('batch_no', '=', batchNo).orderBy('opened_at', 'desc').limit(1).executeTakeFirst();
  if (!found) throw new XiaoweiError('payment_batch_not_found', String(batchNo));
  const batch = toBatchRow(found);
  if (batch.status !== 'closed' || batch.result !== 'mismatch') throw new XiaoweiError('payment_batch_not_uploadable', batch.status === 'open' ? 'open' : (batch.result ?? 'closed'));
  const host = await db
    .selectFrom('pay_transactions')
    .select(['id', 'client_id', 'type', 'status', 'amount', 'auth_code'])
    .where('batch_id', '=', batch.id)
    .execute();
  const byClient = new Map(host.map((h) => [h.client_id, h]));
  let exceptions = 0;
  const seen = new Set<string>();
  const rows = lines.map((l, i) => {
    const h = byClient.get(l.clientId);
    seen.add(l.clientId);
    if (!h || toSafeInt(h.amount) !== l.amount || h.type !== l.type || h.auth_code === null) exceptions++;
    return { id: newId(), batch_id: batch.id, terminal_id: terminalId, batch_no: batch.batch_no, line_no: i, client_id: l.clientId, type: l.type, amount: l.amount, txn_id: h?.id ?? null, uploaded_at: nowUs };
  });
  for (const h of host) {
    const counts = ['sale', 'completion', 'qr_sale', 'refund'].includes(h.type) && ['approved', 'refunded'].includes(h.status) && h.auth_code !== null;
    if (counts && !seen.has(h.client_id)) exceptions++;
  }
  await db.transaction().execute(async (trx) => {
    const marked = await trx.updateTable('pay_batches').set({ result: 'uploaded' }).where('id', '=', batch.id).where('result', '=', 'mismatch').executeTakeFirst();
    if (Number(marked.numUpdatedRows) !== 1) throw new XiaoweiError('payment_batch_not_uploadable', 'uploaded');
    for (let i = 0; i < rows.length; i += 200) await trx.insertInto('pay_batch_lines').values(rows.slice(i, i + 200)).execute();
  });
  return { batchId: batch.id, exceptions };
}
