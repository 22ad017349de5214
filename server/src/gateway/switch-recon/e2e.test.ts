/**
 * End to end: the payments engine's off-us sales through the real switch link to the switch
 * simulator over TCP, the simulator's own settlement files at cut-over, imported here. Proves the
 * three parts agree on the file, the journal and the settlement dates: everything matches and
 * bank:switch-clearing ends at 0.
 */
import fs from 'node:fs';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import type { TxnReply } from '../../payments/contracts.js';
import * as E from '../../payments/engine.js';
import { engineRequest, setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import type { SimCard } from '../switch-sim/index.js';
import type { SwitchTables } from '../switch/tables.js';
import { connectLink, startTestSwitch, type TestSwitch, waitFor } from '../switch/test-support.js';
import { listExceptions } from './exceptions.js';
import { importSettlementFile } from './recon.js';

const ACQUIRER = '04581000';
let seq = 0;
const cid = (p: string): string => `${p}-${process.pid}-${++seq}`;

describe.each(DIALECTS)('switch reconciliation end to end with the simulator (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let w: PaymentsWorld;
  let cardNo = 0;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 20 });
    h = await createHarness(dialect, { XIAOWEI_SWITCH_URL: sw.url, XIAOWEI_RISK: 'off', XIAOWEI_SAF_RETRY_MS: '200', XIAOWEI_ACQUIRER_ID: ACQUIRER });
    w = await setupPaymentsWorld(h);
    await connectLink(h, sw.zmkComponents);
  });
  afterAll(async () => {
    expect((await h.ledger.verify()).ok).toBe(true);
    await h?.close();
    await sw?.close();
  });

  const req = () => engineRequest(w);
  const sale = async (amount: number): Promise<TxnReply> => {
    const card: SimCard = sw.sim.cards()[cardNo++]!;
    const r = await E.sale(h.payments.deps, req(), { clientId: cid('sale'), amount, card: { pan: card.pan, expiry: card.expiry }, pinBlock: await w.pinBlock(card.pin, card.pan) });
    expect(r).toMatchObject({ approved: true, responseCode: '00' });
    return r;
  };
  const acknowledged = (txnId: string) =>
    waitFor(
      () => (h.gateway.deps.db as Kysely<SwitchTables>).selectFrom('gw_saf').select('state').where('txn_id', '=', txnId).executeTakeFirst(),
      (r) => r?.state === 'acknowledged',
      `advice ${txnId} acknowledged`,
    );
  const clearing = async (): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([BANK_ACCOUNTS.switch_clearing]);
    return a!.debits_posted - a!.credits_posted;
  };
  /** Cuts the simulator over and imports its file of the closed date. */
  const cutoverAndImport = async () => {
    const { date, files } = await sw.sim.cutover();
    const path = files.find((f) => f.endsWith(`${ACQUIRER}-${date.replaceAll('-', '')}.csv`))!;
    return importSettlementFile(h.gateway.deps, fs.readFileSync(path, 'utf8'), 'staff-e2e');
  };

  it('a day of sales, a void and a refund, then a reversal after cut-over: every line matches and clearing ends at 0', async () => {
    const a = await sale(10_000);
    const b = await sale(2_000);
    const c = await sale(3_000);
    const v = await E.voidSale(h.payments.deps, req(), { clientId: cid('void'), originalId: c.id });
    expect(v.responseCode).toBe('00');
    const r = await E.refund(h.payments.deps, req(), { clientId: cid('refund'), originalId: a.id, amount: 1_500 });
    expect(r.responseCode).toBe('00');
    await acknowledged(v.id);
    await acknowledged(r.id);

    const day1 = await cutoverAndImport();
    expect(day1.file).toMatchObject({ line_count: 3, sale_count: 2, refund_count: 1, net: 10_000 + 2_000 - 1_500, matched_count: 3, exception_count: 0 });
    expect(await clearing()).toBe(0);

    // The next day the terminal reverses b: the switch lists it as a REVERSAL of that day.
    const rev = await E.reversal(h.payments.deps, req(), { clientId: cid('rev'), originalClientId: b.clientId });
    expect(rev.responseCode).toBe('00');
    await acknowledged(rev.id);
    const day2 = await cutoverAndImport();
    expect(day2.file).toMatchObject({ line_count: 1, reversal_count: 1, net: -2_000, matched_count: 1, exception_count: 0 });
    expect(await clearing()).toBe(0);
    expect((await listExceptions(h.gateway.deps, { status: 'open' })).total).toBe(0);
  });
});
