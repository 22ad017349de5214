import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { XiaoweiError, localeFrom } from '../platform/errors.js';
import { requireActor, type Actor } from '../platform/http/actor.js';
import type { PaymentsDeps } from './deps.js';
import { listExceptions, resolveException } from './reconciliation.js';
import * as S from './settlement-schemas.js';
import {
  listSettlements,
  runSettlement,
  statementCsv,
  statementLines,
  visibleSettlement,
  type SettlementDb,
  type SettlementScope,
} from './settlement.js';

const TAGS = ['settlement'];

/** Staff see settlements of their organisation subtree; a merchant-side user only its own party's. */
export function settlementScope(actor: Actor): SettlementScope {
  return actor.org_scope === null ? { kind: 'owner', partyId: actor.merchant_id } : { kind: 'staff', orgIds: [...actor.org_scope] };
}

function requireStaff(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

/**
 * Settlement and reconciliation, staff API under /api/v1: run a date's settlement (bank-wide),
 * settlements and their statements (JSON and CSV), reconciliation exceptions and their resolution.
 */
export const settlementRoutes: FastifyPluginAsyncTypebox<PaymentsDeps> = async (app, deps) => {
  const db = deps.db as SettlementDb;

  app.post(
    '/settlements/run',
    {
      config: { permission: 'settlement:run', audit: 'settlement.run' },
      schema: {
        tags: TAGS,
        summary: 'Run settlement for a date 执行日终结算',
        description:
          'Bank-wide: T0 merchants settle business dates ≤ date, T1 merchants ≤ date − 1. Idempotent: a second run changes nothing and answers the same totals. 全行范围；重复执行结果不变。',
        body: S.RunBody,
        response: { 200: S.RunSummary },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      request.auditTarget = request.body.date;
      return runSettlement(deps, request.body.date);
    },
  );

  app.get(
    '/settlements',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'Settlements 结算记录', querystring: S.SettlementQuery, response: { 200: S.SettlementList } },
    },
    async (request) => listSettlements(db, settlementScope(requireActor(request)), request.query),
  );

  app.get(
    '/settlements/:id',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'One settlement 结算详情', params: S.IdParams, response: { 200: S.SettlementView } },
    },
    async (request) => visibleSettlement(db, settlementScope(requireActor(request)), request.params.id),
  );

  app.get(
    '/settlements/:id/statement',
    {
      config: { permission: 'payment:read' },
      schema: {
        tags: TAGS,
        summary: 'Settlement statement 结算对账单',
        description: 'Header and lines; the lines’ net sums to the settlement’s net. 明细净额之和等于结算净额。',
        params: S.IdParams,
        response: { 200: S.Statement },
      },
    },
    async (request) => {
      const settlement = await visibleSettlement(db, settlementScope(requireActor(request)), request.params.id);
      return { settlement, lines: await statementLines(db, settlement.id) };
    },
  );

  app.get(
    '/settlements/:id/statement.csv',
    {
      config: { permission: 'payment:read' },
      schema: {
        tags: TAGS,
        summary: 'Settlement statement as CSV 结算对账单（CSV）',
        description: 'UTF-8 with BOM, header row in the Accept-Language, amounts in yuan. UTF-8（含 BOM），金额单位元。',
        params: S.IdParams,
      },
    },
    async (request, reply) => {
      const settlement = await visibleSettlement(db, settlementScope(requireActor(request)), request.params.id);
      const csv = statementCsv({ settlement, lines: await statementLines(db, settlement.id) }, localeFrom(request.headers['accept-language']));
      const file = `statement-${settlement.business_date}-${settlement.merchant_party_id}.csv`;
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${file}"`).send(csv);
    },
  );

  app.get(
    '/reconciliation/exceptions',
    {
      config: { permission: 'payment:read' },
      schema: { tags: TAGS, summary: 'Reconciliation exceptions 对账差错', querystring: S.ExceptionQuery, response: { 200: S.ExceptionList } },
    },
    async (request) => listExceptions(deps, settlementScope(requireActor(request)), request.query),
  );

  app.post(
    '/reconciliation/exceptions/:id/resolve',
    {
      config: { permission: 'settlement:run', audit: 'reconciliation.resolve' },
      schema: {
        tags: TAGS,
        summary: 'Resolve a reconciliation exception 处理对账差错',
        params: S.IdParams,
        body: S.ResolveBody,
        response: { 200: S.ExceptionView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return resolveException(deps, settlementScope(actor), request.params.id, request.body, actor.user_id);
    },
  );
};
