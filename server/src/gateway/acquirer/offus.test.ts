import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import { connectLink, startTestSwitch, type TestSwitch } from '../switch/test-support.js';
import { PosClient } from './pos-client.js';
import { registerPos } from './test-support.js';

/**
 * Another bank's card at a conventional POS: the host does nothing special, the engine sends it
 * to the card switch, and the PIN block (format 0 under the session TPK) is translated by the
 * switch link to the zone PIN key — the simulator, as issuer, checks the PIN.
 */
describe.each(DIALECTS)('acquirer host with other banks’ cards (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let w: PaymentsWorld;
  let pos: PosClient;

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 5, balance: 1_000_000 });
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off', XIAOWEI_SWITCH_URL: sw.url });
    await connectLink(h, sw.zmkComponents);
    w = await setupPaymentsWorld(h);
    const port = await h.gateway.acquirer.listen(0, '127.0.0.1');
    const reg = await registerPos(h.app, h.adminToken, w.merchant.partyId);
    pos = await PosClient.connect('127.0.0.1', port, { tid: reg.tid, mid: reg.mid, timeoutMs: 20_000 });
    expect((await pos.signOn(reg.tmkHex)).keysValid).toBe(true);
  });
  afterAll(async () => {
    await pos?.close();
    await h?.close();
    await sw?.close();
  });

  it('approves an off-us sale with the issuer’s PIN check, and the switch clearing account owes the merchant’s money', async () => {
    const card = sw.sim.cards()[0]!;
    const before = sw.sim.cardBalance(card.pan)!;
    const clearing = await w.balanceOf(BANK_ACCOUNTS.switch_clearing);
    const receivable = await w.balanceOf(w.merchant.receivable);
    const r = await pos.sale({ pan: card.pan, expiry: card.expiry, pin: card.pin, amount: 5_000 });
    expect(r.code).toBe('00');
    expect(r.macValid).toBe(true);
    expect(r.authCode).toMatch(/^\d{6}$/);
    expect(sw.sim.cardBalance(card.pan)).toBe(before - 5_000);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(receivable + 5_000 - 19);
    expect(await w.balanceOf(BANK_ACCOUNTS.switch_clearing)).not.toBe(clearing);

    const wrong = await pos.sale({ pan: card.pan, expiry: card.expiry, pin: card.pin === '111111' ? '222222' : '111111', amount: 100 });
    expect(wrong.code).toBe('55');
    expect(sw.sim.cardBalance(card.pan)).toBe(before - 5_000);
  });
});
