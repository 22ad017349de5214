/**
 * For reconciliation's tests (not a test itself): a stand-in for the switch link that keeps the
 * link's journal exactly as the link does (gw_switch_txns, gw_saf; switch/tables.ts) without a
 * network, so the payments engine's real off-us path (sale, void, reversal, refund) drives it, and
 * the test plays the switch: it approves, acknowledges advices on its current settlement date, and
 * writes the settlement file it would write.
 */
import { randomBytes } from 'node:crypto';
import type { OffUsAdvice, OffUsAnswer, OffUsAuthorizer, OffUsRequest } from '../../payments/contracts.js';
import { newId } from '../../platform/ids.js';
import type { SettlementLine } from './file.js';
import type { RecordType } from './migration.js';
import type { ReconDb } from './recon.js';

// Unique across the test databases of one run (the RRN is unique forever).
const RUN = randomBytes(3).toString('hex').toUpperCase();
let counter = 0;
const nextRrn = (): string => `${RUN}${String(++counter).padStart(6, '0')}`;

export class RecordingSwitch implements OffUsAuthorizer {
  /** The switch's current settlement date. */
  date: string;
  /** The next authorisations' fate. */
  next: 'approve' | 'unknown' = 'approve';

  constructor(private readonly db: ReconDb, private readonly acquirerId: string, date: string) {
    this.date = date;
  }

  async authorize(r: OffUsRequest): Promise<OffUsAnswer> {
    const now = r.at;
    const rrn = nextRrn();
    const approved = this.next === 'approve';
    await this.db
      .insertInto('gw_switch_txns')
      .values({
        id: newId(),
        txn_id: r.txnId,
        kind: r.kind,
        mti: '0200',
        processing_code: r.kind === 'sale' ? '000000' : '310000',
        acquirer_id: this.acquirerId,
        stan: String(counter % 999_999 || 1).padStart(6, '0'),
        rrn,
        transmitted_at: '1127093000',
        terminal_ref: 'TERM0001',
        merchant_ref: 'MERCHANT0000001',
        terminal_id: r.terminalId,
        merchant_party_id: r.merchantPartyId,
        pan_sealed: null,
        pan_masked: `${r.pan.slice(0, 6)}****${r.pan.slice(-4)}`,
        amount: r.amount,
        state: approved ? 'approved' : 'unknown',
        response_code: approved ? '00' : null,
        auth_code: approved ? 'A12345' : null,
        balance: null,
        settlement_date: approved ? this.date : null,
        late_response_code: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    if (approved) return { outcome: 'answered', code: '00', authCode: 'A12345' };
    // As the link: no answer in time → its own reversal is queued.
    await this.db
      .insertInto('gw_saf')
      .values(this.safRow({ txnId: `${r.txnId}:rev`, kind: 'reversal', originalTxnId: r.txnId, amount: r.amount }, rrn, '98', 'queued', now))
      .execute();
    return { outcome: 'unknown' };
  }

  async recover(txnId: string): Promise<OffUsAnswer> {
    const row = await this.db.selectFrom('gw_switch_txns').selectAll().where('txn_id', '=', txnId).executeTakeFirst();
    if (!row) return { outcome: 'unavailable' };
    return row.state === 'approved' ? { outcome: 'answered', code: '00', authCode: row.auth_code } : { outcome: 'unknown' };
  }

  async queue(trx: ReconDb, advice: OffUsAdvice): Promise<void> {
    const sale = await trx.selectFrom('gw_switch_txns').select('rrn').where('txn_id', '=', advice.originalTxnId).executeTakeFirstOrThrow();
    const rrn = advice.kind === 'reversal' ? sale.rrn : nextRrn();
    await trx
      .insertInto('gw_saf')
      .values(this.safRow(advice, rrn, advice.kind === 'reversal' ? '17' : null, 'held', Date.now() * 1000))
      .onConflict((oc) => oc.column('txn_id').doNothing())
      .execute();
  }

  async release(trx: ReconDb, txnId: string, send: boolean): Promise<void> {
    await trx
      .updateTable('gw_saf')
      .set({ state: send ? 'queued' : 'dropped' })
      .where('txn_id', '=', txnId)
      .where('state', '=', 'held')
      .execute();
  }

  async recallable(txnId: string): Promise<boolean> {
    const row = await this.db.selectFrom('gw_saf').select(['state', 'attempts']).where('txn_id', '=', txnId).executeTakeFirst();
    return row?.state === 'queued' && Number(row.attempts) === 0;
  }

  async recall(trx: ReconDb, txnId: string): Promise<boolean> {
    const r = await trx.updateTable('gw_saf').set({ state: 'held' }).where('txn_id', '=', txnId).where('state', '=', 'queued').where('attempts', '=', 0).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The switch answers the queued advices: '00' on its current date, or a refund's rejection. */
  async acknowledge(code: '00' | '13' = '00'): Promise<void> {
    const now = Date.now() * 1000;
    await this.db
      .updateTable('gw_saf')
      .set(code === '00' ? { state: 'acknowledged', response_code: '00', settlement_date: this.date, acknowledged_at: now, updated_at: now } : { state: 'rejected', response_code: code, updated_at: now })
      .where('state', '=', 'queued')
      .execute();
  }

  /** The journal's rrn of a sale (pay_transactions.id) or an advice (its txn id). */
  async rrnOf(txnId: string): Promise<string> {
    const sale = await this.db.selectFrom('gw_switch_txns').select('rrn').where('txn_id', '=', txnId).executeTakeFirst();
    if (sale) return sale.rrn;
    const saf = await this.db.selectFrom('gw_saf').select('rrn').where('txn_id', '=', txnId).executeTakeFirstOrThrow();
    return saf.rrn;
  }

  private safRow(advice: OffUsAdvice, rrn: string, reason: '98' | '17' | null, state: 'held' | 'queued', now: number) {
    return {
      id: newId(),
      txn_id: advice.txnId,
      kind: advice.kind,
      original_txn_id: advice.originalTxnId,
      rrn,
      reason,
      amount: advice.amount,
      state,
      attempts: 0,
      next_attempt_at: now,
      response_code: null,
      settlement_date: null,
      last_error: null,
      created_at: now,
      updated_at: now,
      acknowledged_at: null,
    };
  }
}

/** A D line as the switch writes it. */
export function line(type: RecordType, rrn: string, amount: number, originalRrn: string | null = type === 'REVERSAL' ? rrn : null): Omit<SettlementLine, 'lineNo'> {
  return {
    rrn,
    type,
    amount,
    sign: type === 'SALE' ? 'D' : 'C',
    stan: '000123',
    transmittedAt: '1127093000',
    terminalRef: 'TERM0001',
    merchantRef: 'MERCHANT0000001',
    panMasked: '621999****1234',
    authCode: type === 'SALE' ? 'A12345' : null,
    originalRrn,
  };
}
