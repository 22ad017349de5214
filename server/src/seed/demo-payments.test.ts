/**
 * The payments demo on SQLite and PostgreSQL, on a handful of demo-named parties: plans, merchants
 * by the kind of shop, cards; a second run adds nothing and shows no card again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { createParty } from '../identity/parties.js';
import { LEDGER_CNY } from '../ledger/index.js';
import { findCardByPan, makePinBlock, verifyCardPin } from '../payments/card-access.js';
import { luhnValid } from '../payments/cards.js';
import { loadMerchant } from '../payments/merchants.js';
import { DEMO_FEE_PLANS, demoMcc, seedDemoPayments } from './demo-payments.js';

describe.each(DIALECTS)('payments demo on %s', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness(dialect);
    const shop = (id: string, name: string) =>
      createParty(h.db, h.secrets, { kind: 'business', name, roles: ['merchant'], org_id: h.bankId }, id);
    await shop('demo:merchant:0001', '北马连村农资店');
    await shop('demo:merchant:0002', '北马连村惠民便利店');
    for (const n of ['00001', '00002', '00003']) {
      const id = `demo:customer:${n}`;
      await createParty(h.db, h.secrets, { kind: 'person', name: `客户${n}`, roles: ['customer'], org_id: h.bankId }, id);
      // The third has no deposit account: it gets no card.
      if (n !== '00003')
        expect(await h.ledger.createAccounts([{ id: `${id}:2001`, ledger: LEDGER_CNY, code: 2001, owner_id: id }])).toEqual([]);
    }
  });

  afterAll(async () => {
    await h.close();
  });

  it('enrols the shops, issues cards, shows the demo card once; a re-run adds nothing', async () => {
    const ctx = { config: h.payments.deps.config, database: h.tdb.database, secrets: h.secrets };
    const lines: string[] = [];
    const first = await seedDemoPayments(ctx, h.bankId, (l) => lines.push(l));
    expect(first).toMatchObject({ merchants: 2, cards: 2 });
    const card = first.demoCard!;
    expect(luhnValid(card.pan)).toBe(true);
    expect(lines.join('\n')).toContain(card.pan);
    expect(lines.join('\n')).toContain(card.pin);

    const farm = await loadMerchant(h.payments.deps.db, 'demo:merchant:0001');
    expect(farm).toMatchObject({
      mcc: '5261',
      status: 'active',
      fee_plan: { name: DEMO_FEE_PLANS.farm.name, rate_bp: 25, max_fee: 2_000 },
    });
    expect(await loadMerchant(h.payments.deps.db, 'demo:merchant:0002')).toMatchObject({
      mcc: '5411',
      fee_plan: { name: DEMO_FEE_PLANS.shop.name, rate_bp: 38 },
    });
    expect(demoMcc('某某理发店')).toBe('7230');
    expect(demoMcc('无名')).toBe('5999');

    // The shown PIN is the card's.
    const row = (await findCardByPan(h.payments.deps.db, h.secrets, card.pan))!;
    expect(row.party_id).toBe('demo:customer:00001');
    const keyHex = randomBytes(16).toString('hex');
    const key = await h.crypto.importComponents('TPK', 'AES128', [keyHex]);
    const check = (pin: string) =>
      verifyCardPin(h.payments.deps, row, Buffer.from(makePinBlock(pin, card.pan, keyHex), 'hex'), key, 4, card.pan);
    expect(await check(card.pin)).toBe('ok');

    const again: string[] = [];
    expect(await seedDemoPayments(ctx, h.bankId, (l) => again.push(l))).toEqual({ merchants: 0, cards: 0 });
    expect(again.join('\n')).not.toContain(card.pan);
    const plans = await h.app.inject({ method: 'GET', url: '/api/v1/fee-plans', headers: { authorization: `Bearer ${h.adminToken}` } });
    expect(plans.json<{ items: unknown[] }>().items).toHaveLength(2);
  });
});
