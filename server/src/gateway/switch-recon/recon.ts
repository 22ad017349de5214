/**
 * Import of the switch's settlement file and its reconciliation with the switch link's journal.
 *
 * Expected platform items for settlement date D (the switch's date each message was processed on,
 * as the link recorded it from field 15 / at acknowledgement):
 *   SALE     — approved journal sales of D, less those whose reversal the switch acknowledged on D
 *              (a sale reversed before its date closed is in no file);
 *   REVERSAL — reversals acknowledged on D of approved sales of an earlier date (rrn = the sale's),
 *              except for sales staff reversed here because the switch never had them;
 *   REFUND   — refund advices acknowledged on D (rrn = the refund's own), and refund advices the
 *              switch rejected that no file has reported yet (they will never be in a file).
 * Items and lines meet on (type, rrn). Each difference becomes an exception whose `difference`
 * (platform signed − switch signed; SALE +, REFUND/REVERSAL −) is what it leaves on
 * bank:switch-clearing — unless an earlier file's exception of the same rrn carries exactly the
 * opposite difference: then the switch put the item in another day's file (a cut-over race, a
 * reversal of a sale we never approved), the two cancel, and the earlier one is marked settled.
 *
 * So, after every import: balance(bank:switch-clearing) = Σ difference of the exceptions still
 * carried (open, or accepted, and not settled by a later file) + what the platform posted for items
 * of dates whose file is not imported yet.
 *
 * The file's net goes to the ledger as one transfer bank:settlement → bank:switch-clearing (net < 0:
 * the other way), id `swrecon:<acquirer>:<date>`: idempotent, and a re-import of the same file
 * completes a post that failed.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LEDGER_CNY, type TransferInput } from '../../ledger/index.js';
import { XiaoweiError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../../platform/int.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import type { GatewayDeps } from '../deps.js';
import { parseSettlementFile, type SettlementLine } from './file.js';
import type { ExceptionKind, LineOutcome, RecordType, SwitchJournalTables, SwitchReconTables } from './migration.js';

export type ReconDb = Kysely<SwitchReconTables & SwitchJournalTables>;
type FileRow = SwitchReconTables['gw_recon_files'];
type LineRow = SwitchReconTables['gw_recon_lines'];
type ExceptionRow = SwitchReconTables['gw_recon_exceptions'];

/** Transfer codes of the chart (ledger/chart.ts). */
export const SWITCH_SETTLEMENT_CODE = 13;
export const ADJUSTMENT_CODE = 7;

const CHUNK = 200;

export const reconDb = (deps: GatewayDeps): ReconDb => deps.db as ReconDb;

/** An item's effect on bank:switch-clearing: the switch owes us a sale, we owe it a refund or reversal. */
export const signed = (type: RecordType, amount: number): number => (type === 'SALE' ? amount : -amount);

/** The ledger transfer id of a file's net. */
export const settlementTransferId = (acquirerId: string, date: string): string => `swrecon:${acquirerId}:${date}`;

export interface ReconFileView {
  id: string;
  acquirer_id: string;
  settlement_date: string;
  file_created_at: string;
  sha256: string;
  line_count: number;
  sale_count: number;
  sale_amount: number;
  refund_count: number;
  refund_amount: number;
  reversal_count: number;
  reversal_amount: number;
  debit_total: number;
  credit_total: number;
  net: number;
  matched_count: number;
  exception_count: number;
  paired_count: number;
  transfer_id: string | null;
  imported_by: string;
  imported_at: number;
  posted_at: number | null;
}

export function fileView(r: FileRow): ReconFileView {
  const n = (v: unknown) => toSafeInt(v);
  return {
    id: r.id,
    acquirer_id: r.acquirer_id,
    settlement_date: r.settlement_date,
    file_created_at: r.file_created_at,
    sha256: r.sha256,
    line_count: n(r.line_count),
    sale_count: n(r.sale_count),
    sale_amount: n(r.sale_amount),
    refund_count: n(r.refund_count),
    refund_amount: n(r.refund_amount),
    reversal_count: n(r.reversal_count),
    reversal_amount: n(r.reversal_amount),
    debit_total: n(r.debit_total),
    credit_total: n(r.credit_total),
    net: n(r.net),
    matched_count: n(r.matched_count),
    exception_count: n(r.exception_count),
    paired_count: n(r.paired_count),
    transfer_id: r.transfer_id,
    imported_by: r.imported_by,
    imported_at: n(r.imported_at),
    posted_at: toSafeIntOrNull(r.posted_at),
  };
}

/** What the platform expects in the file. */
interface Item {
  type: RecordType;
  rrn: string;
  amount: number;
  txnId: string;
  state: string;
}

/** `platform_state` of the exception that reports a reversal or refund advice staff closed on the link (missing on the switch). */
export const CLOSED_ADVICE = 'closed';

async function expectedItems(d: ReconDb, date: string): Promise<Item[]> {
  const sales = await d
    .selectFrom('gw_switch_txns as t')
    .select(['t.txn_id', 't.rrn', 't.amount'])
    .where('t.kind', '=', 'sale')
    .where('t.state', '=', 'approved')
    .where('t.settlement_date', '=', date)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('gw_saf as s')
            .select('s.id')
            .whereRef('s.original_txn_id', '=', 't.txn_id')
            .where('s.kind', '=', 'reversal')
            .where('s.state', '=', 'acknowledged')
            .where('s.settlement_date', '=', date),
        ),
      ),
    )
    .execute();
  const reversals = await d
    .selectFrom('gw_saf as s')
    .innerJoin('gw_switch_txns as t', 't.txn_id', 's.original_txn_id')
    .select(['s.txn_id', 's.rrn', 's.amount'])
    .where('s.kind', '=', 'reversal')
    .where('s.state', '=', 'acknowledged')
    .where('s.settlement_date', '=', date)
    .where('t.state', '=', 'approved')
    .where('t.settlement_date', '<', date)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('gw_recon_exceptions as e').select('e.id').whereRef('e.platform_txn_id', '=', 's.original_txn_id').where('e.action', '=', 'reverse'),
        ),
      ),
    )
    // Reported already as a reversal staff closed (below) and acknowledged after all: the switch's line pairs that exception.
    .where((eb) => eb.not(eb.exists(eb.selectFrom('gw_recon_exceptions as e').select('e.id').whereRef('e.rrn', '=', 's.rrn').where('e.type', '=', 'REVERSAL').where('e.kind', '=', 'missing_on_switch').where('e.platform_state', '=', CLOSED_ADVICE))))
    .orderBy('s.created_at')
    .execute();
  // Reversals staff closed (refused for good, POST /gateway/switch/saf/:id/close) of approved sales
  // of this date or earlier, with no reversal of the sale acknowledged: our books undid the sale,
  // the switch keeps it. Reported once, by the first file imported after the close, as a REVERSAL
  // missing on the switch: the sale's amount the switch paid us, which clearing carries.
  const closed = await d
    .selectFrom('gw_saf as s')
    .innerJoin('gw_switch_txns as t', 't.txn_id', 's.original_txn_id')
    .select(['s.txn_id', 's.rrn', 's.amount'])
    .where('s.kind', '=', 'reversal')
    .where('s.state', '=', 'closed')
    .where('t.state', '=', 'approved')
    .where('t.settlement_date', '<=', date)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('gw_saf as a').select('a.id').whereRef('a.original_txn_id', '=', 's.original_txn_id').where('a.kind', '=', 'reversal').where('a.state', '=', 'acknowledged'),
        ),
      ),
    )
    .where((eb) => eb.not(eb.exists(eb.selectFrom('gw_recon_exceptions as e').select('e.id').whereRef('e.rrn', '=', 's.rrn').where('e.type', '=', 'REVERSAL').where('e.kind', '=', 'missing_on_switch').where('e.platform_state', '=', CLOSED_ADVICE))))
    .orderBy('s.created_at')
    .execute();
  const refunds = await d
    .selectFrom('gw_saf as s')
    .select(['s.txn_id', 's.rrn', 's.amount', 's.state', 's.response_code'])
    .where('s.kind', '=', 'refund')
    .where((eb) =>
      eb.or([
        eb.and([
          eb('s.state', '=', 'acknowledged'),
          eb('s.settlement_date', '=', date),
          // Reported already as closed, acknowledged after all: the switch's line pairs that exception.
          eb.not(eb.exists(eb.selectFrom('gw_recon_exceptions as e').select('e.id').whereRef('e.platform_txn_id', '=', 's.txn_id').where('e.platform_state', '=', CLOSED_ADVICE))),
        ]),
        // Rejected, or closed by staff (refused for good): reported once, by the first file imported after.
        eb.and([
          eb('s.state', 'in', ['rejected', 'closed']),
          eb.not(eb.exists(eb.selectFrom('gw_recon_exceptions as e').select('e.id').whereRef('e.platform_txn_id', '=', 's.txn_id'))),
          eb.not(eb.exists(eb.selectFrom('gw_recon_lines as l').select('l.id').whereRef('l.platform_txn_id', '=', 's.txn_id'))),
        ]),
      ]),
    )
    .execute();

  const items: Item[] = sales.map((s) => ({ type: 'SALE', rrn: s.rrn, amount: toSafeInt(s.amount), txnId: s.txn_id, state: 'approved' }));
  // A sale voided and then reversed by the terminal may have two acknowledged advices; the switch,
  // idempotent on the rrn, reverses it once.
  const reversed = new Set<string>();
  for (const r of reversals) {
    if (reversed.has(r.rrn)) continue;
    reversed.add(r.rrn);
    items.push({ type: 'REVERSAL', rrn: r.rrn, amount: toSafeInt(r.amount), txnId: r.txn_id, state: 'acknowledged' });
  }
  for (const r of closed) {
    if (reversed.has(r.rrn)) continue;
    reversed.add(r.rrn);
    items.push({ type: 'REVERSAL', rrn: r.rrn, amount: toSafeInt(r.amount), txnId: r.txn_id, state: CLOSED_ADVICE });
  }
  for (const r of refunds) {
    const state = r.state === 'rejected' ? `rejected ${r.response_code ?? ''}`.trim() : r.state === 'closed' ? CLOSED_ADVICE : 'acknowledged';
    items.push({ type: 'REFUND', rrn: r.rrn, amount: toSafeInt(r.amount), txnId: r.txn_id, state });
  }
  return items;
}

/** The journal rows behind unexpected lines, so staff see what the platform knows of them. */
async function journalByRrn(d: ReconDb, lines: readonly SettlementLine[]): Promise<Map<string, { txnId: string; state: string; amount: number }>> {
  const out = new Map<string, { txnId: string; state: string; amount: number }>();
  const sales = lines.filter((l) => l.type !== 'REFUND').map((l) => l.rrn);
  const refunds = lines.filter((l) => l.type === 'REFUND').map((l) => l.rrn);
  for (let i = 0; i < sales.length; i += 500) {
    const rows = await d.selectFrom('gw_switch_txns').select(['txn_id', 'rrn', 'state', 'settlement_date', 'amount']).where('rrn', 'in', sales.slice(i, i + 500)).execute();
    for (const r of rows) out.set(`S:${r.rrn}`, { txnId: r.txn_id, state: r.settlement_date ? `${r.state} ${r.settlement_date}` : r.state, amount: toSafeInt(r.amount) });
  }
  for (let i = 0; i < refunds.length; i += 500) {
    const rows = await d.selectFrom('gw_saf').select(['txn_id', 'rrn', 'state', 'settlement_date', 'amount']).where('kind', '=', 'refund').where('rrn', 'in', refunds.slice(i, i + 500)).execute();
    for (const r of rows) out.set(`R:${r.rrn}`, { txnId: r.txn_id, state: r.settlement_date ? `${r.state} ${r.settlement_date}` : r.state, amount: toSafeInt(r.amount) });
  }
  return out;
}

/** A difference found in this file, before pairing with earlier files. */
interface Finding {
  kind: ExceptionKind;
  type: RecordType;
  rrn: string;
  line: SettlementLine | null;
  platformTxnId: string | null;
  platformState: string | null;
  platformAmount: number | null;
  switchAmount: number | null;
  difference: number;
}

export interface ImportOutcome {
  file: ReconFileView;
  /** False when this exact file had been imported before (the first import's result). */
  created: boolean;
}

/**
 * Imports a settlement file: parses it strictly, reconciles it with the journal, records lines and
 * exceptions, and posts its net to the ledger. The same text again answers the first result (and
 * completes its ledger post if that had failed); another text for an imported date is refused.
 * `actor` is the importing user's id (or 'cli').
 */
export async function importSettlementFile(deps: GatewayDeps, text: string, actor: string): Promise<ImportOutcome> {
  const file = parseSettlementFile(text);
  if (file.acquirerId !== deps.config.XIAOWEI_ACQUIRER_ID) throw new XiaoweiError('switch_recon_file_acquirer', '1', { line: 1, field: 'acquirer_id' });
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const d = reconDb(deps);

  const existing = await findFile(d, file.acquirerId, file.settlementDate);
  if (existing) return { file: await repeat(deps, existing, sha256), created: false };

  const items = await expectedItems(d, file.settlementDate);
  const byKey = new Map(file.lines.map((l) => [`${l.type}:${l.rrn}`, l]));
  const outcome = new Map<SettlementLine, { outcome: LineOutcome; txnId: string | null; amount: number | null }>();
  const findings: Finding[] = [];
  for (const item of items) {
    const line = byKey.get(`${item.type}:${item.rrn}`);
    if (line && !outcome.has(line)) {
      const same = line.amount === item.amount;
      outcome.set(line, { outcome: same ? 'matched' : 'amount_mismatch', txnId: item.txnId, amount: item.amount });
      if (same) continue;
    }
    findings.push({
      kind: line ? 'amount_mismatch' : 'missing_on_switch',
      type: item.type,
      rrn: item.rrn,
      line: line ?? null,
      platformTxnId: item.txnId,
      platformState: item.state,
      platformAmount: item.amount,
      switchAmount: line ? line.amount : null,
      difference: signed(item.type, item.amount) - (line ? signed(line.type, line.amount) : 0),
    });
  }
  const unexpected = file.lines.filter((l) => !outcome.has(l));
  const known = await journalByRrn(d, unexpected);
  for (const line of unexpected) {
    const j = known.get(`${line.type === 'REFUND' ? 'R' : 'S'}:${line.rrn}`);
    outcome.set(line, { outcome: 'missing_on_platform', txnId: j?.txnId ?? null, amount: null });
    findings.push({
      kind: 'missing_on_platform',
      type: line.type,
      rrn: line.rrn,
      line,
      platformTxnId: j?.txnId ?? null,
      platformState: j?.state ?? null,
      platformAmount: null,
      switchAmount: line.amount,
      difference: -signed(line.type, line.amount),
    });
  }

  const fileId = newId();
  const now = deps.now();
  try {
    await d.transaction().execute(async (trx) => {
      const exceptions: ExceptionRow[] = [];
      const lineException = new Map<SettlementLine, string>();
      let paired = 0;
      const candidates = await carriedByRrn(trx, findings.map((f) => f.rrn));
      for (const f of findings) {
        const earlier = await pair(trx, candidates, f, fileId, now);
        if (earlier) {
          paired++;
          if (f.line) {
            outcome.set(f.line, { ...outcome.get(f.line)!, outcome: 'paired' });
            lineException.set(f.line, earlier);
          }
          continue;
        }
        const id = newId();
        if (f.line) lineException.set(f.line, id);
        exceptions.push({
          id,
          file_id: fileId,
          kind: f.kind,
          type: f.type,
          rrn: f.rrn,
          platform_txn_id: f.platformTxnId,
          platform_state: f.platformState,
          line_no: f.line?.lineNo ?? null,
          switch_amount: f.switchAmount,
          platform_amount: f.platformAmount,
          difference: f.difference,
          status: 'open',
          action: null,
          note: null,
          resolved_by: null,
          resolved_at: null,
          transfer_id: null,
          reversal_txn_id: null,
          settled_file_id: null,
          created_at: now,
        });
      }
      const of = (t: RecordType) => file.lines.filter((l) => l.type === t);
      const sum = (ls: SettlementLine[]) => ls.reduce((s, l) => s + l.amount, 0);
      await trx
        .insertInto('gw_recon_files')
        .values({
          id: fileId,
          acquirer_id: file.acquirerId,
          settlement_date: file.settlementDate,
          file_created_at: file.createdAt,
          sha256,
          line_count: file.lines.length,
          sale_count: of('SALE').length,
          sale_amount: sum(of('SALE')),
          refund_count: of('REFUND').length,
          refund_amount: sum(of('REFUND')),
          reversal_count: of('REVERSAL').length,
          reversal_amount: sum(of('REVERSAL')),
          debit_total: file.debitTotal,
          credit_total: file.creditTotal,
          net: file.net,
          matched_count: [...outcome.values()].filter((o) => o.outcome === 'matched').length,
          exception_count: exceptions.length,
          paired_count: paired,
          transfer_id: file.net === 0 ? null : settlementTransferId(file.acquirerId, file.settlementDate),
          imported_by: actor,
          imported_at: now,
          posted_at: null,
        })
        .execute();
      const rows: LineRow[] = file.lines.map((l) => {
        const o = outcome.get(l)!;
        return {
          id: newId(),
          file_id: fileId,
          line_no: l.lineNo,
          rrn: l.rrn,
          type: l.type,
          amount: l.amount,
          sign: l.sign,
          stan: l.stan,
          transmitted_at: l.transmittedAt,
          terminal_ref: l.terminalRef,
          merchant_ref: l.merchantRef,
          pan_masked: l.panMasked,
          auth_code: l.authCode,
          original_rrn: l.originalRrn,
          outcome: o.outcome,
          platform_txn_id: o.txnId,
          platform_amount: o.amount,
          exception_id: lineException.get(l) ?? null,
        };
      });
      for (let i = 0; i < rows.length; i += CHUNK) await trx.insertInto('gw_recon_lines').values(rows.slice(i, i + CHUNK)).execute();
      for (let i = 0; i < exceptions.length; i += CHUNK) await trx.insertInto('gw_recon_exceptions').values(exceptions.slice(i, i + CHUNK)).execute();
    });
  } catch (error) {
    // Another import of this date won the race: answer as a repeat.
    const winner = await findFile(d, file.acquirerId, file.settlementDate);
    if (!winner) throw error;
    return { file: await repeat(deps, winner, sha256), created: false };
  }
  const stored = await d.selectFrom('gw_recon_files').selectAll().where('id', '=', fileId).executeTakeFirstOrThrow();
  return { file: await postNet(deps, stored), created: true };
}

function findFile(d: ReconDb, acquirerId: string, date: string): Promise<FileRow | undefined> {
  return d.selectFrom('gw_recon_files').selectAll().where('acquirer_id', '=', acquirerId).where('settlement_date', '=', date).executeTakeFirst();
}

async function repeat(deps: GatewayDeps, existing: FileRow, sha256: string): Promise<ReconFileView> {
  if (existing.sha256 !== sha256) throw new XiaoweiError('switch_recon_date_imported', existing.settlement_date, { file_id: existing.id });
  return postNet(deps, existing);
}

/** Posts the file's net once (idempotent transfer id) and records it. */
async function postNet(deps: GatewayDeps, row: FileRow): Promise<ReconFileView> {
  if (row.posted_at !== null) return fileView(row);
  const net = toSafeInt(row.net);
  if (row.transfer_id !== null && net !== 0) {
    const toUs = net > 0;
    const transfer: TransferInput = {
      id: row.transfer_id,
      debit_account_id: toUs ? BANK_ACCOUNTS.settlement : BANK_ACCOUNTS.switch_clearing,
      credit_account_id: toUs ? BANK_ACCOUNTS.switch_clearing : BANK_ACCOUNTS.settlement,
      amount: Math.abs(net),
      ledger: LEDGER_CNY,
      code: SWITCH_SETTLEMENT_CODE,
      reference: row.id,
    };
    const refused = (await deps.ledger.createTransfers([transfer])).find((r) => r.result !== 'exists');
    if (refused) throw new XiaoweiError('transfer_rejected', refused.result);
  }
  const at = deps.now();
  await reconDb(deps).updateTable('gw_recon_files').set({ posted_at: at }).where('id', '=', row.id).where('posted_at', 'is', null).execute();
  return fileView({ ...row, posted_at: row.posted_at ?? at });
}

type Candidate = Pick<ExceptionRow, 'id' | 'rrn' | 'difference' | 'status'>;

/** Exceptions still carried on clearing (open, or accepted and not settled), by rrn. */
async function carriedByRrn(trx: ReconDb, rrns: readonly string[]): Promise<Map<string, Candidate[]>> {
  const out = new Map<string, Candidate[]>();
  const unique = [...new Set(rrns)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await trx
      .selectFrom('gw_recon_exceptions')
      .select(['id', 'rrn', 'difference', 'status'])
      .where('rrn', 'in', unique.slice(i, i + 500))
      .where('settled_file_id', 'is', null)
      .where((eb) => eb.or([eb('status', '=', 'open'), eb('action', '=', 'accept')]))
      .orderBy('created_at')
      .execute();
    for (const r of rows) out.set(r.rrn, [...(out.get(r.rrn) ?? []), r]);
  }
  return out;
}

/**
 * Settles an earlier carried exception of the same rrn with exactly the opposite difference, if
 * there is one; returns its id. An open one is resolved as `paired`; an accepted one keeps its action.
 */
async function pair(trx: ReconDb, candidates: Map<string, Candidate[]>, f: Finding, fileId: string, now: number): Promise<string | null> {
  const list = candidates.get(f.rrn) ?? [];
  const at = list.findIndex((c) => toSafeInt(c.difference) === -f.difference);
  if (at < 0) return null;
  const c = list.splice(at, 1)[0]!;
  const base = trx.updateTable('gw_recon_exceptions').where('id', '=', c.id).where('settled_file_id', 'is', null);
  const done =
    c.status === 'open'
      ? await base.set({ settled_file_id: fileId, status: 'resolved', action: 'paired', resolved_by: 'system', resolved_at: now }).where('status', '=', 'open').executeTakeFirst()
      : await base.set({ settled_file_id: fileId }).where('action', '=', 'accept').executeTakeFirst();
  // A staff action took it meanwhile: this file gets its own exception instead.
  return Number(done.numUpdatedRows) === 1 ? c.id : null;
}
