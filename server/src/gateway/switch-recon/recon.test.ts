import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import type { TxnReply } from '../../payments/contracts.js';
import * as E from '../../payments/engine.js';
import { engineRequest, setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import { closeSaf } from '../switch/journal.js';
import { listExceptions, resolveException, type ReconExceptionView } from './exceptions.js';
import { formatSettlementFile, type SettlementLine } from './file.js';
import { importSettlementFile, reconDb, settlementTransferId } from './recon.js';
import { RecordingSwitch, line } from './test-fixtures.js';

const ACQUIRER = '04581000';
let seq = 0;
const cid = (p = 'c'): string => `${p}-${process.pid}-${++seq}`;
/** An off-us PAN (BIN 621999, not issued by us), Luhn-valid. */
function offUsPan(): string {
  const body = `621999${String(Date.now() % 1e9).padStart(9, '0')}${String(seq % 1000).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d *= 2;
    sum += d > 9 ? d - 9 : d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

const file = (date: string, lines: Omit<SettlementLine, 'lineNo'>[]): string =>
  formatSettlementFile({ acquirerId: ACQUIRER, settlementDate: date, createdAt: `${date}T15:00:05.000Z`, lines });

describe.each(DIALECTS)('switch settlement file reconciliation (%s)', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  let sw: RecordingSwitch;

  beforeAll(async () => {
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off', XIAOWEI_ACQUIRER_ID: ACQUIRER });
    w = await setupPaymentsWorld(h);
    sw = new RecordingSwitch(reconDb(h.gateway.deps), ACQUIRER, '2026-01-01');
    h.payments.deps.offUs = sw;
  });
  afterAll(async () => {
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const deps = () => h.gateway.deps;
  const req = () => engineRequest(w);
  const sale = async (amount: number): Promise<TxnReply & { rrn: string }> => {
    const r = await E.sale(h.payments.deps, req(), { clientId: cid('sale'), amount, card: { pan: offUsPan(), expiry: '3012' } });
    expect(r.approved).toBe(sw.next === 'approve');
    return { ...r, rrn: await sw.rrnOf(r.id) };
  };
  const clearing = async (): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([BANK_ACCOUNTS.switch_clearing]);
    return a!.debits_posted - a!.credits_posted;
  };
  const suspense = async (): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([BANK_ACCOUNTS.suspense]);
    return a!.debits_posted - a!.credits_posted;
  };
  const carried = async (): Promise<number> => {
    const all = await listExceptions(deps(), { limit: 1000 });
    return all.items.filter((e) => e.carried).reduce((s, e) => s + e.difference, 0);
  };
  /** The property: what clearing carries is exactly what the carried exceptions explain. */
  const explained = async () => expect(await clearing()).toBe(await carried());
  const exceptionsOf = async (fileId: string): Promise<ReconExceptionView[]> => (await listExceptions(deps(), { file_id: fileId, limit: 1000 })).items;

  it('all matched: the net settles bank:switch-clearing to 0; re-import answers the first result; another file for the date is refused', async () => {
    sw.date = '2026-01-10';
    const s1 = await sale(10_000);
    const s2 = await sale(2_500);
    const s3 = await sale(4_000);
    expect((await E.voidSale(h.payments.deps, req(), { clientId: cid('void'), originalId: s3.id })).responseCode).toBe('00');
    const r1 = await E.refund(h.payments.deps, req(), { clientId: cid('refund'), originalId: s1.id, amount: 1_000 });
    expect(r1.responseCode).toBe('00');
    await sw.acknowledge();
    expect(await clearing()).toBe(10_000 + 2_500 - 1_000);

    // s3 was voided before the date closed: in no file.
    const text = file('2026-01-10', [line('SALE', s1.rrn, 10_000), line('SALE', s2.rrn, 2_500), line('REFUND', await sw.rrnOf(r1.id), 1_000)]);
    const first = await importSettlementFile(deps(), text, 'staff-1');
    expect(first.created).toBe(true);
    expect(first.file).toMatchObject({ settlement_date: '2026-01-10', line_count: 3, sale_count: 2, sale_amount: 12_500, refund_count: 1, refund_amount: 1_000, net: 11_500, matched_count: 3, exception_count: 0 });
    expect(first.file.posted_at).not.toBeNull();
    expect(await clearing()).toBe(0);
    const t = await h.ledger.lookupTransfer(settlementTransferId(ACQUIRER, '2026-01-10'));
    expect(t).toMatchObject({ debit_account_id: BANK_ACCOUNTS.settlement, credit_account_id: BANK_ACCOUNTS.switch_clearing, amount: 11_500, code: 13 });

    const again = await importSettlementFile(deps(), text, 'staff-2');
    expect(again).toEqual({ created: false, file: first.file });
    expect(await clearing()).toBe(0);

    const other = file('2026-01-10', [line('SALE', s1.rrn, 10_000), line('SALE', s2.rrn, 2_500)]);
    await expect(importSettlementFile(deps(), other, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_date_imported', status: 409 });
    await explained();
  });

  it('concurrent imports of one file make one file and one transfer', async () => {
    sw.date = '2026-01-11';
    const s = await sale(3_300);
    const text = file('2026-01-11', [line('SALE', s.rrn, 3_300)]);
    const results = await Promise.all([1, 2, 3].map(() => importSettlementFile(deps(), text, 'staff-1')));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.file.id)).size).toBe(1);
    expect(await clearing()).toBe(0);
  });

  it('a reversal acknowledged after cut-over is a REVERSAL line of the next date', async () => {
    sw.date = '2026-01-12';
    const s = await sale(5_000);
    expect((await importSettlementFile(deps(), file('2026-01-12', [line('SALE', s.rrn, 5_000)]), 'staff-1')).file.matched_count).toBe(1);
    sw.date = '2026-01-13';
    const rev = await E.reversal(h.payments.deps, req(), { clientId: cid('rev'), originalClientId: s.clientId });
    expect(rev.responseCode).toBe('00');
    await sw.acknowledge();
    expect(await clearing()).toBe(-5_000);
    const next = await importSettlementFile(deps(), file('2026-01-13', [line('REVERSAL', s.rrn, 5_000)]), 'staff-1');
    expect(next.file).toMatchObject({ reversal_count: 1, net: -5_000, matched_count: 1, exception_count: 0 });
    const t = await h.ledger.lookupTransfer(settlementTransferId(ACQUIRER, '2026-01-13'));
    expect(t).toMatchObject({ debit_account_id: BANK_ACCOUNTS.switch_clearing, credit_account_id: BANK_ACCOUNTS.settlement, amount: 5_000 });
    expect(await clearing()).toBe(0);
  });

  it('finds each exception kind; write_off, reverse and accept each leave clearing explained, once', async () => {
    sw.date = '2026-01-20';
    const a = await sale(3_000);
    const b = await sale(4_000);
    const c = await sale(6_000);
    const text = file('2026-01-20', [line('SALE', a.rrn, 3_000), line('SALE', b.rrn, 4_100), line('SALE', 'ZZ0000000001', 700)]);
    const { file: f } = await importSettlementFile(deps(), text, 'staff-1');
    expect(f).toMatchObject({ matched_count: 1, exception_count: 3, net: 7_800 });
    const exc = await exceptionsOf(f.id);
    const kind = (k: string) => exc.find((e) => e.kind === k)!;
    expect(kind('amount_mismatch')).toMatchObject({ rrn: b.rrn, platform_txn_id: b.id, switch_amount: 4_100, platform_amount: 4_000, difference: -100, line_no: 3, status: 'open', carried: true });
    expect(kind('missing_on_switch')).toMatchObject({ rrn: c.rrn, platform_txn_id: c.id, switch_amount: null, platform_amount: 6_000, difference: 6_000, line_no: null });
    expect(kind('missing_on_platform')).toMatchObject({ rrn: 'ZZ0000000001', platform_txn_id: null, switch_amount: 700, difference: -700, line_no: 4 });
    expect(await clearing()).toBe(6_000 - 100 - 700);
    await explained();

    // A note is required; reverse only for a sale missing on the switch.
    await expect(resolveException(deps(), kind('amount_mismatch').id, { action: 'write_off', note: '  ' }, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_note_required' });
    await expect(resolveException(deps(), kind('missing_on_platform').id, { action: 'reverse', note: 'x' }, 'staff-1')).rejects.toMatchObject({
      code: 'switch_recon_action_unavailable',
    });

    // write_off: the −100 moves to suspense; a second action of any kind is refused.
    const suspenseBefore = await suspense();
    const wo = await resolveException(deps(), kind('amount_mismatch').id, { action: 'write_off', note: '转接方多付 100 分' }, 'staff-1');
    expect(wo).toMatchObject({ status: 'resolved', action: 'write_off', carried: false, resolved_by: 'staff-1' });
    expect(await h.ledger.lookupTransfer(wo.transfer_id!)).toMatchObject({ debit_account_id: BANK_ACCOUNTS.switch_clearing, credit_account_id: BANK_ACCOUNTS.suspense, amount: 100, code: 7 });
    expect(await suspense()).toBe(suspenseBefore - 100);
    await expect(resolveException(deps(), wo.id, { action: 'write_off', note: 'again' }, 'staff-2')).rejects.toMatchObject({ code: 'switch_recon_exception_resolved', status: 409 });
    await expect(resolveException(deps(), wo.id, { action: 'accept', note: 'again' }, 'staff-2')).rejects.toMatchObject({ code: 'switch_recon_exception_resolved' });
    expect(await suspense()).toBe(suspenseBefore - 100);
    await explained();

    // reverse: the engine reverses our sale (the money goes back to clearing from the merchant).
    const receivableBefore = await w.balanceOf(w.merchant.receivable);
    const rv = await resolveException(deps(), kind('missing_on_switch').id, { action: 'reverse', note: '转接方无此交易，冲正' }, 'staff-1');
    expect(rv).toMatchObject({ status: 'resolved', action: 'reverse', carried: false });
    expect(rv.reversal_txn_id).not.toBeNull();
    expect(await w.balanceOf(w.merchant.receivable)).toBeLessThan(receivableBefore);
    await expect(resolveException(deps(), rv.id, { action: 'reverse', note: 'again' }, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_exception_resolved' });
    await explained();

    // accept: closed with the note; clearing still carries it.
    const ac = await resolveException(deps(), kind('missing_on_platform').id, { action: 'accept', note: '明日文件核对' }, 'staff-1');
    expect(ac).toMatchObject({ status: 'resolved', action: 'accept', carried: true, note: '明日文件核对' });
    await explained();

    // The switch acknowledges our reversal of c the next day: that file does not expect it (the switch never had c).
    sw.date = '2026-01-21';
    await sw.acknowledge();
    const nextDay = await importSettlementFile(deps(), file('2026-01-21', []), 'staff-1');
    expect(nextDay.file).toMatchObject({ line_count: 0, exception_count: 0, net: 0, transfer_id: null });
    await explained();
  });

  it('two staff resolving one exception at once: exactly one action happens', async () => {
    sw.date = '2026-01-25';
    const s = await sale(900);
    const { file: f } = await importSettlementFile(deps(), file('2026-01-25', []), 'staff-1');
    const [e] = await exceptionsOf(f.id);
    expect(e).toMatchObject({ kind: 'missing_on_switch', rrn: s.rrn, difference: 900 });
    const suspenseBefore = await suspense();
    const results = await Promise.allSettled([
      resolveException(deps(), e!.id, { action: 'write_off', note: 'a' }, 'staff-1'),
      resolveException(deps(), e!.id, { action: 'write_off', note: 'b' }, 'staff-2'),
      resolveException(deps(), e!.id, { action: 'accept', note: 'c' }, 'staff-3'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = await suspense();
    expect([suspenseBefore, suspenseBefore + 900]).toContain(after);
    await explained();
  });

  it('a refused reverse leaves the exception open and nothing moved', async () => {
    sw.date = '2026-01-27';
    const s = await sale(1_100);
    const { file: f } = await importSettlementFile(deps(), file('2026-01-27', []), 'staff-1');
    const [e] = await exceptionsOf(f.id);
    const before = await clearing();
    // No switch to tell: the engine refuses to reverse an off-us sale ('91').
    h.payments.deps.offUs = undefined;
    try {
      await expect(resolveException(deps(), e!.id, { action: 'reverse', note: 'x' }, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_action_unavailable' });
    } finally {
      h.payments.deps.offUs = sw;
    }
    expect((await listExceptions(deps(), { file_id: f.id })).items[0]).toMatchObject({ status: 'open', action: null, note: null, carried: true });
    expect(await clearing()).toBe(before);
    await explained();
    // Another action is still possible.
    const done = await resolveException(deps(), e!.id, { action: 'write_off', note: '核销' }, 'staff-1');
    expect(done).toMatchObject({ status: 'resolved', action: 'write_off', platform_txn_id: s.id });
    expect(await clearing()).toBe(before - 1_100);
    await explained();
  });

  it('pairs a late item with the earlier file’s exception: a sale in the next day’s file, a reversal of a sale we declined', async () => {
    sw.date = '2026-02-01';
    const p = await sale(1_500);
    // The switch put p in the next day's file: missing today, accepted.
    const d1 = await importSettlementFile(deps(), file('2026-02-01', []), 'staff-1');
    const [missing] = await exceptionsOf(d1.file.id);
    expect(missing).toMatchObject({ kind: 'missing_on_switch', difference: 1_500 });
    await resolveException(deps(), missing!.id, { action: 'accept', note: 'in tomorrow’s file' }, 'staff-1');

    // A sale that timed out here (declined '91', the link queued its reversal) but that the switch approved.
    sw.next = 'unknown';
    const q = await sale(800);
    sw.next = 'approve';
    expect(q.status).toBe('declined');

    sw.date = '2026-02-02';
    const d2 = await importSettlementFile(deps(), file('2026-02-02', [line('SALE', p.rrn, 1_500), line('SALE', q.rrn, 800)]), 'staff-1');
    expect(d2.file).toMatchObject({ paired_count: 1, exception_count: 1, matched_count: 0 });
    const settled = (await listExceptions(deps(), { limit: 1000 })).items.find((e) => e.id === missing!.id)!;
    expect(settled).toMatchObject({ action: 'accept', settled_file_id: d2.file.id, settled_date: '2026-02-02', carried: false });
    const [unknown] = await exceptionsOf(d2.file.id);
    expect(unknown).toMatchObject({ kind: 'missing_on_platform', rrn: q.rrn, platform_txn_id: q.id, difference: -800 });
    expect(unknown!.platform_state).toMatch(/^unknown/);
    await explained();

    // The reversal reaches the switch after the cut-over: the REVERSAL line cancels the open exception.
    sw.date = '2026-02-03';
    await sw.acknowledge();
    const d3 = await importSettlementFile(deps(), file('2026-02-03', [line('REVERSAL', q.rrn, 800)]), 'staff-1');
    expect(d3.file).toMatchObject({ paired_count: 1, exception_count: 0 });
    const closed = (await listExceptions(deps(), { limit: 1000 })).items.find((e) => e.id === unknown!.id)!;
    expect(closed).toMatchObject({ status: 'resolved', action: 'paired', resolved_by: 'system', settled_file_id: d3.file.id, carried: false });
    await explained();
  });

  it('a refund the switch rejected is reported once, by the next file, and can be written off', async () => {
    sw.date = '2026-02-10';
    const s = await sale(2_000);
    const r = await E.refund(h.payments.deps, req(), { clientId: cid('refund'), originalId: s.id, amount: 500 });
    expect(r.responseCode).toBe('00');
    await sw.acknowledge('13');
    const f1 = await importSettlementFile(deps(), file('2026-02-10', [line('SALE', s.rrn, 2_000)]), 'staff-1');
    const [rejected] = await exceptionsOf(f1.file.id);
    expect(rejected).toMatchObject({ kind: 'missing_on_switch', type: 'REFUND', platform_txn_id: r.id, platform_state: 'rejected 13', difference: -500 });
    await explained();
    const f2 = await importSettlementFile(deps(), file('2026-02-11', []), 'staff-1');
    expect(f2.file.exception_count).toBe(0);
    const suspenseBefore = await suspense();
    await resolveException(deps(), rejected!.id, { action: 'write_off', note: '退货被拒，线下处理' }, 'staff-1');
    // Clearing owed the switch 500 it will never claim: suspense now holds it (a credit).
    expect(await suspense()).toBe(suspenseBefore - 500);
    await explained();
  });

  it('a reversal the switch refused for good and staff closed is reported once as a REVERSAL missing on the switch, whichever comes first, and written off to suspense', async () => {
    const refuseAndClose = async (saleId: string): Promise<string> => {
      const d = reconDb(deps());
      const advice = await d.selectFrom('gw_saf').select(['id', 'txn_id']).where('original_txn_id', '=', saleId).where('kind', '=', 'reversal').executeTakeFirstOrThrow();
      // The switch answers '12' (a permanent refusal): failed, raised as exception 'refused'; staff close it.
      await d
        .updateTable('gw_saf')
        .set({ state: 'failed', response_code: '12', exception: 'refused', exception_at: Date.now() * 1000 } as never)
        .where('id', '=', advice.id)
        .execute();
      expect(await closeSaf(d as never, advice.id, { note: '转接方拒绝冲正，线下退持卡人', by: 'staff-1' }, Date.now() * 1000)).toBe(true);
      return advice.txn_id;
    };
    sw.date = '2026-04-02';
    const a = await sale(1_500);
    const b = await sale(2_500);
    for (const s of [a, b]) expect((await E.reversal(h.payments.deps, req(), { clientId: cid('rev'), originalClientId: s.clientId })).responseCode).toBe('00');
    // a: closed before its file is imported.
    const aAdvice = await refuseAndClose(a.id);
    const f1 = await importSettlementFile(deps(), file('2026-04-02', [line('SALE', a.rrn, 1_500), line('SALE', b.rrn, 2_500)]), 'staff-1');
    expect(f1.file).toMatchObject({ matched_count: 2, exception_count: 1 });
    const [ea] = await exceptionsOf(f1.file.id);
    expect(ea).toMatchObject({ kind: 'missing_on_switch', type: 'REVERSAL', rrn: a.rrn, platform_txn_id: aAdvice, platform_state: 'closed', platform_amount: 1_500, difference: -1_500, carried: true });
    // b's reversal is not acknowledged yet: like any such, clearing is short by it until it is, or reported.
    expect(await clearing()).toBe((await carried()) - 2_500);
    // b: closed after its file was imported (clearing is short by b meanwhile, as any reversal not yet
    // acknowledged); the next file reports it.
    const bAdvice = await refuseAndClose(b.id);
    const f2 = await importSettlementFile(deps(), file('2026-04-03', []), 'staff-1');
    const [eb] = await exceptionsOf(f2.file.id);
    expect(eb).toMatchObject({ kind: 'missing_on_switch', type: 'REVERSAL', rrn: b.rrn, platform_txn_id: bAdvice, platform_state: 'closed', difference: -2_500 });
    await explained();
    // Reported once.
    expect((await importSettlementFile(deps(), file('2026-04-04', []), 'staff-1')).file.exception_count).toBe(0);
    await expect(resolveException(deps(), ea!.id, { action: 'reverse', note: 'x' }, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_action_unavailable' });
    // The bank holds what the switch paid for sales it undid, in suspense, until the cardholder is refunded outside the link.
    const suspenseBefore = await suspense();
    for (const e of [ea!, eb!]) expect(await resolveException(deps(), e.id, { action: 'write_off', note: '冲正被拒，款项转挂账' }, 'staff-1')).toMatchObject({ status: 'resolved', carried: false });
    expect(await suspense()).toBe(suspenseBefore - 4_000);
    await explained();
  });

  it('a closed reversal the switch acknowledges after all: its REVERSAL line pairs the exception, and clearing is explained', async () => {
    sw.date = '2026-04-10';
    const s = await sale(3_300);
    expect((await E.reversal(h.payments.deps, req(), { clientId: cid('rev'), originalClientId: s.clientId })).responseCode).toBe('00');
    const d = reconDb(deps());
    const advice = await d.selectFrom('gw_saf').select(['id']).where('original_txn_id', '=', s.id).where('kind', '=', 'reversal').executeTakeFirstOrThrow();
    await d.updateTable('gw_saf').set({ state: 'failed', response_code: '12', exception: 'refused' } as never).where('id', '=', advice.id).execute();
    expect(await closeSaf(d as never, advice.id, { note: '关闭', by: 'staff-1' }, Date.now() * 1000)).toBe(true);
    const f1 = await importSettlementFile(deps(), file('2026-04-10', [line('SALE', s.rrn, 3_300)]), 'staff-1');
    const [e] = await exceptionsOf(f1.file.id);
    expect(e).toMatchObject({ type: 'REVERSAL', platform_state: 'closed', difference: -3_300 });
    // An attempt under way when staff closed it is acknowledged on the switch's next date.
    sw.date = '2026-04-11';
    await d.updateTable('gw_saf').set({ state: 'acknowledged', response_code: '00', settlement_date: '2026-04-11' }).where('id', '=', advice.id).execute();
    const f2 = await importSettlementFile(deps(), file('2026-04-11', [line('REVERSAL', s.rrn, 3_300)]), 'staff-1');
    expect(f2.file).toMatchObject({ paired_count: 1, exception_count: 0 });
    expect((await listExceptions(deps(), { file_id: f1.file.id })).items[0]).toMatchObject({ status: 'resolved', action: 'paired', carried: false });
    await explained();
  });

  it('a refund advice refused for good and closed is reported once as a REFUND missing on the switch; acknowledged after all, its line pairs it', async () => {
    sw.date = '2026-04-20';
    const s = await sale(4_000);
    const r1 = await E.refund(h.payments.deps, req(), { clientId: cid('refund'), originalId: s.id, amount: 600 });
    const r2 = await E.refund(h.payments.deps, req(), { clientId: cid('refund'), originalId: s.id, amount: 900 });
    for (const r of [r1, r2]) expect(r.responseCode).toBe('00');
    const d = reconDb(deps());
    for (const r of [r1, r2]) {
      await d.updateTable('gw_saf').set({ state: 'failed', response_code: '12', exception: 'refused' } as never).where('txn_id', '=', r.id).execute();
      const { id } = await d.selectFrom('gw_saf').select('id').where('txn_id', '=', r.id).executeTakeFirstOrThrow();
      expect(await closeSaf(d as never, id, { note: '退货通知被拒', by: 'staff-1' }, Date.now() * 1000)).toBe(true);
    }
    const f1 = await importSettlementFile(deps(), file('2026-04-20', [line('SALE', s.rrn, 4_000)]), 'staff-1');
    const exc = await exceptionsOf(f1.file.id);
    expect(exc.map((e) => [e.type, e.kind, e.platform_state, e.difference]).sort()).toEqual([
      ['REFUND', 'missing_on_switch', 'closed', -600],
      ['REFUND', 'missing_on_switch', 'closed', -900],
    ]);
    await explained();
    expect((await importSettlementFile(deps(), file('2026-04-21', []), 'staff-1')).file.exception_count).toBe(0);
    // r1 written off; r2's attempt under way is acknowledged after all on the next date: its line pairs the exception.
    const e1 = exc.find((e) => e.platform_txn_id === r1.id)!;
    await resolveException(deps(), e1.id, { action: 'write_off', note: '线下退款' }, 'staff-1');
    const r2Rrn = await sw.rrnOf(r2.id);
    await d.updateTable('gw_saf').set({ state: 'acknowledged', response_code: '00', settlement_date: '2026-04-22' }).where('txn_id', '=', r2.id).execute();
    const f3 = await importSettlementFile(deps(), file('2026-04-22', [line('REFUND', r2Rrn, 900, s.rrn)]), 'staff-1');
    expect(f3.file).toMatchObject({ paired_count: 1, exception_count: 0 });
    await explained();
  });

  it('refuses a file of another acquirer and malformed files, naming the line', async () => {
    const foreign = formatSettlementFile({ acquirerId: '04589999', settlementDate: '2026-03-01', createdAt: '2026-03-01T15:00:00Z', lines: [] });
    await expect(importSettlementFile(deps(), foreign, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_file_acquirer', detail: '1' });
    const bad = file('2026-03-01', [line('SALE', 'AB0000000001', 100)]).replace(',100,D,', ',1x0,D,');
    await expect(importSettlementFile(deps(), bad, 'staff-1')).rejects.toMatchObject({ code: 'switch_recon_file_amount', detail: '2' });
    expect((await listExceptions(deps(), { limit: 1000 })).items.every((e) => e.settlement_date !== '2026-03-01')).toBe(true);
  });

  it('routes: import as text/csv and JSON, list, detail, exceptions, resolve; gateway:write needed to change', async () => {
    sw.date = '2026-03-10';
    const s = await sale(1_200);
    const text = file('2026-03-10', [line('SALE', s.rrn, 1_300)]);
    const admin = auth(h.adminToken);
    const auditor = await h.userToken('auditor', h.bankId);
    const merchantUser = await h.userToken('merchant_owner', w.orgId, w.merchant.partyId);

    const refused = await h.app.inject({ method: 'POST', url: '/api/v1/gateway/switch-recon/files', headers: auth(auditor, { 'content-type': 'text/csv' }), payload: text });
    expect(refused.statusCode).toBe(403);
    const created = await h.app.inject({ method: 'POST', url: '/api/v1/gateway/switch-recon/files', headers: { ...admin, 'content-type': 'text/csv' }, payload: text });
    expect(created.statusCode).toBe(201);
    const fileId = created.json<{ file: { id: string; exception_count: number } }>().file.id;
    expect(created.json<{ file: { exception_count: number } }>().file.exception_count).toBe(1);
    const repeat = await h.app.inject({ method: 'POST', url: '/api/v1/gateway/switch-recon/files', headers: admin, payload: { content: text } });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toMatchObject({ created: false, file: { id: fileId } });

    const malformed = await h.app.inject({ method: 'POST', url: '/api/v1/gateway/switch-recon/files', headers: { ...admin, 'content-type': 'text/csv', 'accept-language': 'en' }, payload: text.replace('\nT,', '\nX,') });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: 'switch_recon_file_record', data: { line: 3 } } });

    const list = await h.app.inject({ method: 'GET', url: '/api/v1/gateway/switch-recon/files?limit=2', headers: auth(auditor) });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: unknown[]; total: number }>().items).toHaveLength(2);
    expect(list.json<{ total: number }>().total).toBeGreaterThan(2);
    const detail = await h.app.inject({ method: 'GET', url: `/api/v1/gateway/switch-recon/files/${fileId}`, headers: auth(auditor) });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({ file: { id: fileId, open_exceptions: 1 }, summary: [{ type: 'SALE', outcome: 'amount_mismatch', count: 1, amount: 1_300 }] });
    const open = await h.app.inject({ method: 'GET', url: `/api/v1/gateway/switch-recon/exceptions?status=open&file_id=${fileId}`, headers: auth(auditor) });
    const [e] = open.json<{ items: { id: string; difference: number }[] }>().items;
    expect(e!.difference).toBe(-100);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/gateway/switch-recon/exceptions', headers: auth(merchantUser) })).statusCode).toBe(403);

    const url = `/api/v1/gateway/switch-recon/exceptions/${e!.id}/resolve`;
    expect((await h.app.inject({ method: 'POST', url, headers: auth(auditor), payload: { action: 'accept', note: 'n' } })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'POST', url, headers: admin, payload: { action: 'accept' } })).statusCode).toBe(400);
    const ok = await h.app.inject({ method: 'POST', url, headers: admin, payload: { action: 'write_off', note: '差额核销' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'resolved', action: 'write_off' });
    const twice = await h.app.inject({ method: 'POST', url, headers: admin, payload: { action: 'write_off', note: '差额核销' } });
    expect(twice.statusCode).toBe(409);
    await explained();

    const doc = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(doc.json<{ paths: Record<string, unknown> }>().paths)).toContain('/api/v1/gateway/switch-recon/exceptions/{id}/resolve');
  });
});
