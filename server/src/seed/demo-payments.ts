/**
 * The payments part of the demo: two fee plans, every demo shop enrolled as an acquiring merchant
 * (MCC from the kind of shop), and debit cards for the first demo customers. Safe to re-run: plans
 * are found by name, enrolment answers the existing merchant, customers with a card get no second.
 * Card PINs are drawn at random and never shown, except the one demo card's, shown once when it
 * is issued (like the demo passwords) so the cashier app can be tried with it.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CliContext } from '../cli/context.js';
import { createCryptoService } from '../crypto/index.js';
import type { IdentityTables } from '../identity/tables.js';
import { LEDGER_CNY, accountType, createLedger } from '../ledger/index.js';
import { issueCard, pinProblem } from '../payments/cards.js';
import type { FeePlan, PaymentsDb } from '../payments/contracts.js';
import { createFeePlan, listFeePlans, type FeePlanInput } from '../payments/fee-plans.js';
import { enrolMerchant, merchantAccountIds } from '../payments/merchants.js';

/** The demo's fee plans: small village shops, and farm-supply shops (lower rate, capped at ¥20). */
export const DEMO_FEE_PLANS = {
  shop: { name: '村口小店 Village shop', rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0 },
  farm: { name: '农资 Farm supplies', rate_bp: 25, min_fee: 0, max_fee: 2_000, fixed_fee: 0 },
} as const satisfies Record<string, FeePlanInput>;

/** Demo customers who get a card (the first ones by id). */
export const DEMO_CARDS = 100;

/** MCC of a demo shop by the kind in its name (seed/names.ts SHOP_TYPES); 5999 otherwise. */
const MCC_BY_KIND: readonly [string, string][] = [
  ['农资店', '5261'],
  ['便利店', '5411'],
  ['超市', '5411'],
  ['小卖部', '5411'],
  ['粮油店', '5411'],
  ['果蔬店', '5411'],
  ['水果店', '5411'],
  ['百货店', '5311'],
  ['五金店', '5251'],
  ['建材店', '5200'],
  ['饭店', '5812'],
  ['早餐店', '5814'],
  ['馒头房', '5814'],
  ['豆腐坊', '5499'],
  ['海鲜店', '5422'],
  ['烟酒店', '5999'],
  ['理发店', '7230'],
  ['手机店', '5999'],
];

export function demoMcc(shopName: string): string {
  return MCC_BY_KIND.find(([kind]) => shopName.includes(kind))?.[1] ?? '5999';
}

/** A random PIN that issuance accepts. */
function randomPin(): string {
  for (;;) {
    const pin = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (!pinProblem(pin)) return pin;
  }
}

export interface DemoPaymentsResult {
  merchants: number;
  cards: number;
  /** Set only when the demo card was issued by this run. */
  demoCard?: { pan: string; expiry: string; pin: string; holder: string };
}

export async function seedDemoPayments(ctx: CliContext, bankId: string, log: (line: string) => void): Promise<DemoPaymentsResult> {
  const db = ctx.database.kysely as Kysely<unknown>;
  const idb = ctx.database.kysely as Kysely<IdentityTables>;
  const pdb = ctx.database.kysely as PaymentsDb;
  const now = (): number => Date.now() * 1000;
  const ledger = createLedger(ctx.database, ctx.config);
  const crypto = createCryptoService(ctx.secrets, { lmkVersion: ctx.config.XIAOWEI_LMK_VERSION });
  try {
    const existingPlans = await listFeePlans(db, [bankId]);
    const plan = async (input: FeePlanInput): Promise<FeePlan> =>
      existingPlans.find((p) => p.name === input.name) ?? createFeePlan(db, bankId, input, now());
    const shopPlan = await plan(DEMO_FEE_PLANS.shop);
    const farmPlan = await plan(DEMO_FEE_PLANS.farm);

    const shops = await idb.selectFrom('parties').select(['id', 'name']).where('id', 'like', 'demo:merchant:%').orderBy('id').execute();
    const enrolled = new Set(
      (await pdb.selectFrom('pay_merchants').select('party_id').where('party_id', 'like', 'demo:merchant:%').execute()).map(
        (m) => m.party_id,
      ),
    );
    const toEnrol = shops.filter((s) => !enrolled.has(s.id));
    // All the receivables in one ledger request; enrolment then finds them there. The shops settle
    // into the merchant settlement accounts they already have (demo-world's `<party>:2002`), if any.
    const recv = accountType(2004)!;
    const failures = await ledger.createAccounts(
      toEnrol.flatMap((s) => {
        const ids = merchantAccountIds(s.id);
        return [
          {
            id: ids.receivable,
            ledger: LEDGER_CNY,
            code: recv.code,
            flags: recv.flags,
            owner_id: s.id,
            name: `${recv.zh} ${recv.en}`,
            reference: s.id,
          },
        ];
      }),
    );
    const bad = failures.find((f) => f.result !== 'exists');
    if (bad) throw new Error(`demo payments: merchant account rejected: ${bad.result}`);
    const ownSettlement = new Set((await ledger.lookupAccounts(toEnrol.map((s) => `${s.id}:2002`))).map((a) => a.id));
    for (const s of toEnrol) {
      const mcc = demoMcc(s.name);
      const existing = ownSettlement.has(`${s.id}:2002`) ? `${s.id}:2002` : undefined;
      await enrolMerchant(
        { db, ledger },
        { party_id: s.id, mcc, fee_plan_id: mcc === '5261' ? farmPlan.id : shopPlan.id, settlement_cycle: 'T1', settlement_account_id: existing },
        now(),
      );
    }

    const customers = await idb
      .selectFrom('parties')
      .select(['id', 'name'])
      .where('id', 'like', 'demo:customer:%')
      .orderBy('id')
      .limit(DEMO_CARDS)
      .execute();
    const holders = new Set(
      (await pdb.selectFrom('pay_cards').select('party_id').where('party_id', 'like', 'demo:customer:%').execute()).map((c) => c.party_id),
    );
    const accounts = new Set((await ledger.lookupAccounts(customers.map((c) => `${c.id}:2001`))).map((a) => a.id));
    const deps = { db, crypto, secrets: ctx.secrets, ledger, now };
    let cards = 0;
    let demoCard: DemoPaymentsResult['demoCard'];
    for (const [i, c] of customers.entries()) {
      if (holders.has(c.id) || !accounts.has(`${c.id}:2001`)) continue;
      const pin = randomPin();
      const { card, pan } = await issueCard(deps, { party_id: c.id, account_id: `${c.id}:2001`, pin });
      cards++;
      if (i === 0) demoCard = { pan, expiry: card.expiry, pin, holder: c.name };
    }
    log(
      `Payments demo 支付演示数据: ${toEnrol.length} merchants enrolled 新签约商户 (${shops.length} in all 共), ${cards} cards issued 新发卡; ` +
        `fee plans 费率方案: ${shopPlan.name} ${shopPlan.rate_bp / 100} %, ${farmPlan.name} ${farmPlan.rate_bp / 100} % (≤ ¥${(farmPlan.max_fee ?? 0) / 100})`,
    );
    if (demoCard) {
      log(
        `Demo card 演示银行卡 (shown once 仅显示一次): ${demoCard.pan} expiry 有效期 ${demoCard.expiry}, PIN 密码 ${demoCard.pin}, holder 持卡人 ${demoCard.holder}`,
      );
    }
    return { merchants: toEnrol.length, cards, ...(demoCard ? { demoCard } : {}) };
  } finally {
    await ledger.drain();
  }
}
