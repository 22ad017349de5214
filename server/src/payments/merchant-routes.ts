import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { scopeHas } from '../identity/access.js';
import type { IdentityTables } from '../identity/tables.js';
import { XiaoweiError } from '../platform/errors.js';
import { IDEMPOTENCY_KEY } from '../platform/ids.js';
import { requireActor, type Actor } from '../platform/http/actor.js';
import { findCardById, type CardRow } from './card-access.js';
import { cardView, issueCard, listCards, resetCardPin, updateCard } from './cards.js';
import type { FeePlan } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { createFeePlan, getFeePlan, listFeePlans, orgAndAncestors, updateFeePlan } from './fee-plans.js';
import * as S from './merchant-schemas.js';
import { COMMON_MCCS, enrolMerchant, listMerchants, loadMerchant, updateMerchant, type LoadedMerchant } from './merchants.js';

const TAGS = ['payments: merchants & cards'];

function requireStaff(actor: Actor): asserts actor is Actor & { org_scope: ReadonlySet<string> } {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

const planView = (p: FeePlan) => ({ ...p });

/**
 * Staff API of acquiring merchants, fee plans and the bank's own cards. Staff see and manage what
 * belongs to their organisation subtree; a merchant_owner sees its own merchant (and its fee plan)
 * and no cards. Whatever is outside the actor's scope answers not-found. Every write is audited;
 * a card's PAN is answered once, at issuance, and its PIN never.
 */
export const merchantRoutes: FastifyPluginAsyncTypebox<PaymentsDeps> = async (app, deps) => {
  const { db, now } = deps;
  const idb = db as Kysely<IdentityTables>;

  const inScope = (actor: Actor, orgId: string): Promise<boolean> => scopeHas(idb, actor, orgId);
  const staffOrgIds = (actor: Actor): string[] => [...(actor.org_scope ?? [])];

  /** Plans the actor may see: of its subtree and of the organisations above it (which its merchants may use). */
  const canSeePlan = async (actor: Actor, plan: FeePlan): Promise<boolean> => {
    if (actor.org_scope === null) {
      const own = actor.merchant_id ? await loadMerchant(db, actor.merchant_id) : undefined;
      return own?.fee_plan_id === plan.id;
    }
    return (await inScope(actor, plan.org_id)) || (await orgAndAncestors(db, actor.org_id)).includes(plan.org_id);
  };

  const merchantView = async (m: LoadedMerchant, name?: string) => {
    const partyName = name ?? (await idb.selectFrom('parties').select('name').where('id', '=', m.party_id).executeTakeFirst())?.name ?? '';
    const cat = COMMON_MCCS.find((c) => c.mcc === m.mcc);
    return {
      party_id: m.party_id,
      name: partyName,
      org_id: m.org_id,
      mcc: m.mcc,
      mcc_name: cat ? { zh: cat.zh, en: cat.en } : null,
      fee_plan: planView(m.fee_plan),
      receivable_account_id: m.receivable_account_id,
      settlement_account_id: m.settlement_account_id,
      settlement_cycle: m.settlement_cycle,
      status: m.status,
      core_account: m.core_account,
      created_at: m.created_at,
      updated_at: m.updated_at,
    };
  };

  const visibleMerchant = async (actor: Actor, partyId: string): Promise<LoadedMerchant> => {
    const m = await loadMerchant(db, partyId);
    const ok = m && (actor.org_scope === null ? actor.merchant_id === m.party_id : await inScope(actor, m.org_id));
    if (!m || !ok) throw new XiaoweiError('merchant_not_found');
    return m;
  };

  const visibleCard = async (actor: Actor, id: string): Promise<CardRow> => {
    const card = await findCardById(db, id);
    // Cards are customers': merchant-side users see none.
    if (!card || actor.org_scope === null || !(await inScope(actor, card.org_id))) throw new XiaoweiError('card_not_found');
    return card;
  };

  /** A party in the staff actor's scope, or the given error. */
  const partyInScope = async (actor: Actor, partyId: string, error: 'merchant_party_invalid' | 'card_party_invalid'): Promise<void> => {
    const party = await idb.selectFrom('parties').select('org_id').where('id', '=', partyId).executeTakeFirst();
    if (!party || !(await inScope(actor, party.org_id))) throw new XiaoweiError(error);
  };

  // ─── Fee plans ───────────────────────────────────────────────────────────────────────────────

  app.get(
    '/fee-plans',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'Fee plans 费率方案', querystring: S.FeePlanQuery, response: { 200: S.FeePlanList } },
    },
    async (request) => {
      const actor = requireActor(request);
      if (actor.org_scope === null) {
        const own = actor.merchant_id ? await loadMerchant(db, actor.merchant_id) : undefined;
        const items = own && (!request.query.status || own.fee_plan.status === request.query.status) ? [own.fee_plan] : [];
        return { items: items.map(planView) };
      }
      const orgs = new Set([...staffOrgIds(actor), ...(await orgAndAncestors(db, actor.org_id))]);
      return { items: (await listFeePlans(db, [...orgs], request.query.status)).map(planView) };
    },
  );

  app.post(
    '/fee-plans',
    {
      config: { permission: 'payment:write', audit: 'fee_plan.create' },
      schema: {
        tags: TAGS,
        summary: 'Create a fee plan 新建费率方案',
        description:
          'fee = amount × rate_bp / 10000 rounded half up, then at least min_fee and at most max_fee, plus fixed_fee; never more than the amount. ' +
          '手续费 = 金额 × 费率（四舍五入到分），不低于最低、不高于封顶，再加每笔固定费用，且不超过交易金额。',
        body: S.NewFeePlanBody,
        response: { 201: S.FeePlanView },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const b = request.body;
      const orgId = b.org_id ?? actor.org_id;
      if (!(await inScope(actor, orgId))) throw new XiaoweiError('validation_failed', 'org_id must name an organisation you serve');
      const plan = await createFeePlan(
        db,
        orgId,
        { name: b.name, rate_bp: b.rate_bp, min_fee: b.min_fee ?? 0, max_fee: b.max_fee ?? null, fixed_fee: b.fixed_fee ?? 0 },
        now(),
      );
      request.auditTarget = plan.id;
      return reply.status(201).send(planView(plan));
    },
  );

  app.patch(
    '/fee-plans/:id',
    {
      config: { permission: 'payment:write', audit: 'fee_plan.update' },
      schema: {
        tags: TAGS,
        summary: 'Change or retire a fee plan 修改或停用费率方案',
        description:
          'Applies to every merchant on the plan from the next transaction. A retired plan is given to no new merchant. 修改对该方案下所有商户的后续交易生效。',
        params: S.IdParams,
        body: S.FeePlanPatchBody,
        response: { 200: S.FeePlanView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const plan = await getFeePlan(db, request.params.id);
      if (!plan || !(await canSeePlan(actor, plan))) throw new XiaoweiError('fee_plan_not_found');
      // A branch sees the bank's plans but may not change them.
      if (!(await inScope(actor, plan.org_id))) throw new XiaoweiError('forbidden');
      return planView(await updateFeePlan(db, plan, request.body, now()));
    },
  );

  // ─── Merchants ───────────────────────────────────────────────────────────────────────────────

  app.get(
    '/merchant-categories',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'Common merchant category codes 常用商户类别码', response: { 200: S.CategoryList } },
    },
    async () => ({ items: [...COMMON_MCCS] }),
  );

  app.get(
    '/merchants',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'Acquiring merchants 收单商户', querystring: S.MerchantQuery, response: { 200: S.MerchantList } },
    },
    async (request) => {
      const actor = requireActor(request);
      const scope = actor.org_scope === null ? { partyId: actor.merchant_id } : { orgIds: staffOrgIds(actor) };
      const page = await listMerchants(db, scope, request.query);
      return { items: await Promise.all(page.items.map((m) => merchantView(m, m.name))), total: page.total };
    },
  );

  app.post(
    '/merchants',
    {
      config: { permission: 'payment:write', audit: 'merchant.enrol' },
      schema: {
        tags: TAGS,
        summary: 'Enrol a party as an acquiring merchant 商户签约',
        description:
          'Opens the receivable (2004, `m:<party_id>:recv`) and settlement (2002, `m:<party_id>:settle`) accounts. The same request again answers 200 with the merchant; other terms answer merchant_exists. ' +
          '开立待清算款与结算账户；重复提交相同内容返回已有商户。',
        body: S.NewMerchantBody,
        response: { 200: S.MerchantView, 201: S.MerchantView },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      await partyInScope(actor, request.body.party_id, 'merchant_party_invalid');
      request.auditTarget = request.body.party_id;
      const { merchant, created } = await enrolMerchant(deps, request.body, now());
      return reply.status(created ? 201 : 200).send(await merchantView(merchant));
    },
  );

  app.get(
    '/merchants/:party_id',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'One acquiring merchant 收单商户详情', params: S.PartyParams, response: { 200: S.MerchantView } },
    },
    async (request) => merchantView(await visibleMerchant(requireActor(request), request.params.party_id)),
  );

  app.patch(
    '/merchants/:party_id',
    {
      config: { permission: 'payment:write', audit: 'merchant.update' },
      schema: {
        tags: TAGS,
        summary:
          'Change a merchant: MCC, fee plan, cycle, core account, suspend, close 修改商户（类别码、费率、结算周期、核心账号、暂停、解约）',
        description:
          'A new core account applies to settlements claimed from now on, and to the next try of a core payout that was rejected. 新的核心账号用于此后的结算，以及被拒入账的下一次重试。',
        params: S.PartyParams,
        body: S.MerchantPatchBody,
        response: { 200: S.MerchantView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const m = await visibleMerchant(actor, request.params.party_id);
      request.auditTarget = m.party_id;
      return merchantView(await updateMerchant(db, m, request.body, now()));
    },
  );

  // ─── Cards ───────────────────────────────────────────────────────────────────────────────────

  app.get(
    '/cards',
    {
      config: { permission: 'payment:read' },
      schema: {
        tags: TAGS,
        summary: 'Cards 银行卡',
        description: 'Never searchable by the full card number: by holder, last four digits or status. 不支持按完整卡号查询。',
        querystring: S.CardQuery,
        response: { 200: S.CardList },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      const scope = actor.org_scope === null ? { partyId: null } : { orgIds: staffOrgIds(actor) };
      const page = await listCards(db, scope, request.query);
      return { items: page.items.map(cardView), total: page.total };
    },
  );

  app.post(
    '/cards',
    {
      config: { permission: 'payment:write', audit: 'card.issue' },
      schema: {
        tags: TAGS,
        summary: 'Issue a debit card 发卡',
        description:
          'The answer carries the full PAN this once. The PIN is turned into an IBM 3624 offset inside the crypto service and never stored. ' +
          'With an Idempotency-Key, a retry of the same request (after a lost answer) gets the same card again (200) instead of a second card. ' +
          '应答中的完整卡号仅返回这一次；密码仅以 IBM 3624 偏移值保存。携带 Idempotency-Key 时，同一请求重试（应答丢失后）返回同一张卡（200），不会重复发卡。',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: S.NewCardBody,
        response: { 200: S.IssuedCard, 201: S.IssuedCard },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const key = request.headers['idempotency-key'];
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw new XiaoweiError('idempotency_key_invalid');
      await partyInScope(actor, request.body.party_id, 'card_party_invalid');
      const { card, pan, replayed } = await issueCard(deps, request.body, key);
      request.auditTarget = card.id;
      return reply.status(replayed ? 200 : 201).send({ ...cardView(card), pan });
    },
  );

  app.get(
    '/cards/:id',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'One card 银行卡详情', params: S.IdParams, response: { 200: S.CardView } },
    },
    async (request) => cardView(await visibleCard(requireActor(request), request.params.id)),
  );

  app.patch(
    '/cards/:id',
    {
      config: { permission: 'payment:write', audit: 'card.update' },
      schema: {
        tags: TAGS,
        summary: 'Block, unblock, report lost, close, or change limits 冻结、解冻、挂失、注销或调整限额',
        description: 'active ↔ blocked; active/blocked → lost; any → closed; lost and closed do not come back. 挂失与注销不可恢复。',
        params: S.IdParams,
        body: S.CardPatchBody,
        response: { 200: S.CardView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const card = await visibleCard(actor, request.params.id);
      return cardView(await updateCard(db, card, request.body, now()));
    },
  );

  app.post(
    '/cards/:id/pin',
    {
      config: { permission: 'payment:write', audit: 'card.pin_reset' },
      schema: {
        tags: TAGS,
        summary: 'Reset the PIN (clears wrong tries) 重置密码（清除错误次数）',
        params: S.IdParams,
        body: S.PinBody,
        response: { 200: S.CardView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const card = await visibleCard(actor, request.params.id);
      return cardView(await resetCardPin(deps, card, request.body.pin));
    },
  );
};
