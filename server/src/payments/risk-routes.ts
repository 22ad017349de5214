import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { requireActor } from '../platform/http/actor.js';
import type { PaymentsDeps } from './deps.js';
import { resolveHeld } from './engine-held.js';
import { decideReview, listReviews } from './risk-reviews.js';
import * as S from './risk-schemas.js';
import { addVersion, createRule, listDecisions, listRules, loadRule, ruleSummary, setMode } from './risk-store.js';
import type { RiskTables } from './risk-tables.js';

const TAGS = ['risk'];

/**
 * Staff API of risk: rules (create, versions, mode, history, what a shadow rule would have done),
 * recorded decisions and the review queue of held transactions. Staff see the rules and reviews of
 * their organisation subtree; every change is audited. A change reloads this process's rule cache
 * at once; other processes notice within about a second (risk.ts).
 */
export const riskRoutes: FastifyPluginAsyncTypebox<PaymentsDeps> = async (app, deps) => {
  const db = deps.db as Kysely<RiskTables>;
  const reload = async (): Promise<void> => {
    const r = deps.risk as { reload?: () => Promise<void> };
    if (r.reload) await r.reload();
  };

  app.get(
    '/risk/rules',
    {
      config: { permission: 'risk:read' },
      schema: { tags: TAGS, summary: 'Risk rules 风控规则', querystring: S.RuleQuery, response: { 200: S.RuleList } },
    },
    async (request) => ({ items: await listRules(db, requireActor(request), request.query) }),
  );

  app.post(
    '/risk/rules',
    {
      config: { permission: 'risk:write', audit: 'risk.rule_create' },
      schema: {
        tags: TAGS,
        summary: 'Create a risk rule 新建风控规则',
        description:
          'Version 1 of a rule of the organisation (default: your own), applying to its subtree. Mode defaults to shadow. ' +
          '新规则默认为影子模式；规则适用于该机构及其下级机构。',
        body: S.NewRuleBody,
        response: { 201: S.RuleView },
      },
    },
    async (request, reply) => {
      const created = await createRule(db, requireActor(request), request.body, deps.now());
      request.auditTarget = created.id;
      await reload();
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/risk/rules/:id',
    {
      config: { permission: 'risk:read' },
      schema: {
        tags: TAGS,
        summary: 'One risk rule with its versions 规则详情及历史版本',
        params: S.IdParams,
        response: { 200: S.RuleView },
      },
    },
    async (request) => loadRule(db, requireActor(request), request.params.id, true),
  );

  app.post(
    '/risk/rules/:id/versions',
    {
      config: { permission: 'risk:write', audit: 'risk.rule_version' },
      schema: {
        tags: TAGS,
        summary: 'New version of a rule 新版本',
        description: 'The new version replaces the old one in evaluation; old versions are kept. 新版本替代旧版本参与评估，旧版本保留。',
        params: S.IdParams,
        body: S.NewVersionBody,
        response: { 201: S.RuleView },
      },
    },
    async (request, reply) => {
      const rule = await addVersion(db, requireActor(request), request.params.id, request.body, deps.now());
      await reload();
      return reply.status(201).send(rule);
    },
  );

  app.post(
    '/risk/rules/:id/mode',
    {
      config: { permission: 'risk:write', audit: 'risk.rule_mode' },
      schema: {
        tags: TAGS,
        summary: 'Switch a rule active / shadow / off 切换规则模式',
        params: S.IdParams,
        body: S.ModeBody,
        response: { 200: S.RuleView },
      },
    },
    async (request) => {
      const rule = await setMode(db, requireActor(request), request.params.id, request.body.mode, deps.now());
      await reload();
      return rule;
    },
  );

  app.get(
    '/risk/rules/:id/summary',
    {
      config: { permission: 'risk:read' },
      schema: {
        tags: TAGS,
        summary: 'What a rule did or would have done 规则命中统计',
        description: 'Hits by version, shadow or not, and outcome, in [from, to). 按版本、是否影子、结果统计命中笔数。',
        params: S.IdParams,
        querystring: S.SummaryQuery,
        response: { 200: S.RuleSummary },
      },
    },
    async (request) => ruleSummary(db, requireActor(request), request.params.id, request.query),
  );

  app.get(
    '/risk/decisions',
    {
      config: { permission: 'risk:read' },
      schema: {
        tags: TAGS,
        summary: 'Recorded risk decisions 风控决策记录',
        description: 'Assessments that hit at least one rule (shadow hits included), newest first. 命中至少一条规则的评估（含影子命中）。',
        querystring: S.DecisionQuery,
        response: { 200: S.DecisionList },
      },
    },
    async (request) => listDecisions(db, requireActor(request), request.query),
  );

  app.get(
    '/risk/reviews',
    {
      config: { permission: 'risk:read' },
      schema: { tags: TAGS, summary: 'Review queue 风控审核队列', querystring: S.ReviewQuery, response: { 200: S.ReviewList } },
    },
    async (request) => listReviews(db, requireActor(request), request.query),
  );

  app.post(
    '/risk/reviews/:id/decision',
    {
      config: { permission: 'risk:write', audit: 'risk.review_decision' },
      schema: {
        tags: TAGS,
        summary: 'Approve or decline a held transaction 审核挂起交易',
        description: 'Approve posts the held funds to the merchant; decline releases them. 通过则入账，拒绝则释放冻结资金。',
        params: S.IdParams,
        body: S.DecisionBody,
        response: { 200: S.ReviewView },
      },
    },
    async (request) => decideReview(deps, resolveHeld, requireActor(request), request.params.id, request.body),
  );
};
