import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { createHarness, type Harness } from '../../../test/harness.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../payments/test-support.js';
import { connectLink, startTestSwitch, type TestSwitch } from '../switch/test-support.js';
import { PosClient } from './pos-client.js';
import { importTestBdk, injectPad, registerPos } from './test-support.js';

/**
 * Another bank's card at a DUKPT terminal: the engine hands the switch link the PIN block with
 * its DUKPT key reference (BDK + KSN), the link translates it to format 0 under the ZPK, and the
 * switch simulator, as issuer, checks the PIN — for a TDES DUKPT (format 0) and an AES DUKPT
 * (format 4) PIN pad.
 */
describe.each(DIALECTS)('DUKPT terminals with other banks’ cards (%s)', (dialect) => {
  let sw: TestSwitch;
  let h: Harness;
  let w: PaymentsWorld;
  let port: number;
  const clients: PosClient[] = [];

  beforeAll(async () => {
    sw = await startTestSwitch({ cards: 5, balance: 1_000_000 });
    h = await createHarness(dialect, { XIAOWEI_RISK: 'off', XIAOWEI_SWITCH_URL: sw.url });
    await connectLink(h, sw.zmkComponents);
    w = await setupPaymentsWorld(h);
    port = await h.gateway.acquirer.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await h?.close();
    await sw?.close();
  });

  it.each([
    ['TDES2', 0],
    ['AES128', 1],
  ] as const)(
    'a %s DUKPT sale off-us: the PIN is translated and the issuer approves it; a wrong PIN is the issuer’s 55',
    async (algorithm, cardIndex) => {
      const bdk = await importTestBdk(h.app, h.adminToken, algorithm);
      const reg = await registerPos(h.app, h.adminToken, w.merchant.partyId, {
        pin_mode: bdk.scheme === 'tdes' ? 'dukpt-tdes' : 'dukpt-aes',
        bdk: bdk.name,
      });
      const pos = await PosClient.connect('127.0.0.1', port, { tid: reg.tid, mid: reg.mid, timeoutMs: 20_000, dukpt: injectPad(bdk) });
      clients.push(pos);
      expect((await pos.signOn(reg.tmkHex)).keysValid).toBe(true);

      const card = sw.sim.cards()[cardIndex]!;
      const before = sw.sim.cardBalance(card.pan)!;
      const receivable = await w.balanceOf(w.merchant.receivable);
      const r = await pos.sale({ pan: card.pan, expiry: card.expiry, pin: card.pin, amount: 5_000 });
      expect(r.code).toBe('00');
      expect(r.macValid).toBe(true);
      expect(r.authCode).toMatch(/^\d{6}$/);
      expect(sw.sim.cardBalance(card.pan)).toBe(before - 5_000);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(receivable + 5_000 - 19);

      const wrong = await pos.sale({ pan: card.pan, expiry: card.expiry, pin: card.pin === '111111' ? '222222' : '111111', amount: 100 });
      expect(wrong.code).toBe('55');
      expect(sw.sim.cardBalance(card.pan)).toBe(before - 5_000);
    },
  );
});
