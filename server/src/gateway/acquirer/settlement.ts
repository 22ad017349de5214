/**
 * Batch settlement (批结算, 0500) and batch upload (批上送, 0320) for POS terminals, on the
 * engine's batches (payments/batches.ts) — the same close and upload the JSON terminals use.
 *
 * The terminal names its batch in 60.2. That batch is closed only if it is the engine's open batch
 * of the terminal; the answer is kept per (terminal, batch number), so a repeated 0500 (same or new
 * STAN) is answered again and never closes the next batch. A 0500 for a batch the engine does not
 * have open answers '77' (start a new batch: sign on again, which tells the terminal the open one).
 */
import type { Kysely } from 'kysely';
import { closeBatch, openBatch, uploadBatch } from '../../payments/batches.js';
import type { BatchTotals } from '../../payments/contracts.js';
import { settleBatchInFlight } from '../../payments/engine-ledger.js';
import type { EngineDb } from '../../payments/engine-rows.js';
import { reconcileBatch } from '../../payments/reconciliation.js';
import { XiaoweiError } from '../../platform/errors.js';
import { toSafeInt, toSafeIntOrNull } from '../../platform/int.js';
import type { GatewayDeps } from '../deps.js';
import { clientIdOf, txnTypeOf60 } from './messages.js';
import type { AcquirerTables } from './migration.js';
import type { PosSession } from './sessions.js';

type SettlementRow = AcquirerTables['pos_settlements'];

export type SettleOutcome = { code: '00'; result: 'balanced' | 'mismatch' } | { code: '77' | '96' };

const db = (deps: GatewayDeps): Kysely<AcquirerTables> => deps.db as Kysely<AcquirerTables>;
const batchText = (n: number): string => String(n).padStart(6, '0');

async function storedSettlement(deps: GatewayDeps, terminalId: string, batchNo: number): Promise<SettlementRow | undefined> {
  const row = await db(deps).selectFrom('pos_settlements').selectAll().where('terminal_id', '=', terminalId).where('batch_no', '=', batchNo).executeTakeFirst();
  return row ? { ...row, batch_no: toSafeInt(row.batch_no), upload_exceptions: toSafeIntOrNull(row.upload_exceptions), uploaded_at: toSafeIntOrNull(row.uploaded_at), created_at: toSafeInt(row.created_at) } : undefined;
}

/** 0500: closes the terminal's batch `batchNo` and compares the totals. */
export async function settleBatch(deps: GatewayDeps, session: PosSession, batchNo: number, terminalTotals: BatchTotals): Promise<SettleOutcome> {
  const terminalId = session.terminalId;
  const known = await storedSettlement(deps, terminalId, batchNo);
  if (known) return { code: '00', result: known.result };
  const engineDb = deps.db as EngineDb;
  const open = await openBatch(engineDb, terminalId, deps.now());
  if (open.batch_no !== batchNo) return { code: '77' };
  let closed;
  try {
    closed = await closeBatch(engineDb, terminalId, terminalTotals, deps.now(), (batchId) => settleBatchInFlight(deps.payments, batchId));
  } catch (error) {
    // Another close of this terminal is running: the terminal's retry gets its stored answer.
    if (error instanceof XiaoweiError && error.code === 'payment_batch_busy') return { code: '96' };
    throw error;
  }
  const row: SettlementRow = {
    terminal_id: terminalId,
    batch_no: closed.batchNo,
    result: closed.result,
    terminal_totals: JSON.stringify(closed.terminalTotals),
    host_totals: JSON.stringify(closed.hostTotals),
    upload_exceptions: null,
    uploaded_at: null,
    created_at: deps.now(),
  };
  try {
    await db(deps).insertInto('pos_settlements').values(row).execute();
  } catch (error) {
    const again = await storedSettlement(deps, terminalId, closed.batchNo);
    if (!again) throw error;
    return { code: '00', result: again.result };
  }
  return { code: '00', result: closed.result };
}

/** 0320 with lines: kept until the closing 0320; a line sent again (same STAN) is kept once. '30' for a line of an unknown type. */
export async function receiveUploadLines(deps: GatewayDeps, session: PosSession, batchNo: number, lines: readonly { type60: string; stan: string; amount: number }[]): Promise<'00' | '30'> {
  const now = deps.now();
  const rows = [];
  for (const l of lines) {
    const type = txnTypeOf60(l.type60);
    if (!type) return '30';
    rows.push({ terminal_id: session.terminalId, batch_no: batchNo, stan: l.stan, type, amount: l.amount, received_at: now });
  }
  await db(deps).insertInto('pos_upload_lines').values(rows).onConflict((oc) => oc.columns(['terminal_id', 'batch_no', 'stan']).doNothing()).execute();
  return '00';
}

/**
 * The closing 0320: hands the batch's lines to the engine's upload (which records the exceptions
 * for reconciliation) once; a repeat answers '00' again. '30' when the count differs from the
 * lines received, '25' for a batch never settled here, '12' for one that balanced (nothing to upload).
 */
export async function finishUpload(deps: GatewayDeps, session: PosSession, batchNo: number, count: number): Promise<'00' | '12' | '25' | '30'> {
  const terminalId = session.terminalId;
  const settled = await storedSettlement(deps, terminalId, batchNo);
  if (!settled) return '25';
  if (settled.uploaded_at !== null) return '00';
  if (settled.result !== 'mismatch') return '12';
  const lines = await db(deps).selectFrom('pos_upload_lines').selectAll().where('terminal_id', '=', terminalId).where('batch_no', '=', batchNo).orderBy('stan').execute();
  if (lines.length !== count) return '30';
  const batch = batchText(batchNo);
  let exceptions: number;
  try {
    const uploaded = await uploadBatch(
      deps.db as EngineDb,
      terminalId,
      batchNo,
      lines.map((l) => ({ clientId: clientIdOf(batch, l.stan), type: l.type, amount: toSafeInt(l.amount) })),
      deps.now(),
    );
    exceptions = await reconcileBatch(deps.payments, uploaded.batchId).catch((error: unknown) => {
      // The upload stands; the settlement run reconciles batches not yet reconciled.
      deps.log?.error({ err: error, terminalId, batchNo }, 'pos: reconciliation after batch upload failed');
      return uploaded.exceptions;
    });
  } catch (error) {
    if (error instanceof XiaoweiError && error.code === 'payment_batch_not_uploadable') {
      // Uploaded already (a crash before our mark): record it and answer as before.
      exceptions = -1;
    } else if (error instanceof XiaoweiError && error.code === 'payment_batch_not_found') {
      return '25';
    } else throw error;
  }
  await db(deps)
    .updateTable('pos_settlements')
    .set({ uploaded_at: deps.now(), upload_exceptions: exceptions < 0 ? null : exceptions })
    .where('terminal_id', '=', terminalId)
    .where('batch_no', '=', batchNo)
    .execute();
  return '00';
}
