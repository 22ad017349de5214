import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { canSeeOwner } from '../../identity/access.js';
import type { IdentityTables } from '../../identity/tables.js';
import { XiaoweiError } from '../../platform/errors.js';
import { requireActor } from '../../platform/http/actor.js';
import type { GatewayDeps } from '../deps.js';
import { CORE_ACCOUNT, type CoreBanking } from './contracts.js';

const TAGS = ['gateway: core banking'];

const Stats = Type.Object({
  requests: Type.Integer(),
  posted: Type.Integer(),
  rejected: Type.Integer(),
  unknown: Type.Integer(),
  timeouts: Type.Integer(),
  late: Type.Integer(),
});

const CoreView = Type.Object({
  kind: Type.Union([Type.Literal('ledger'), Type.Literal('iso8583')], {
    description: 'ledger = the built-in ledger; iso8583 = a host-to-host link',
  }),
  endpoint: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.Literal('ready'), Type.Literal('connecting'), Type.Literal('idle')]),
  outstanding: Type.Integer({ description: 'Requests awaiting the host' }),
  stats: Type.Union([Stats, Type.Null()], { description: 'Since this process started (iso8583 only)' }),
});

const AccountView = Type.Object({
  account: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]),
  available: Type.Integer({ description: 'Available balance in fen' }),
  currency: Type.Literal('CNY'),
});

/**
 * `GET /gateway/core` (which implementation, link state) and `GET /gateway/core/accounts/:account`
 * (inquiry). Staff only (gateway:read). On the ledger an account outside the actor's
 * organisation subtree answers as not found; the ISO 8583 host's accounts carry no owner here,
 * so gateway:read sees any of them.
 */
export const coreRoutes: FastifyPluginAsyncTypebox<GatewayDeps & { core: CoreBanking }> = async (app, deps) => {
  const { core } = deps;

  app.get(
    '/gateway/core',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'Core-banking adapter and link state 核心系统连接状态', response: { 200: CoreView } },
    },
    async (request) => {
      requireActor(request);
      return core.state();
    },
  );

  app.get(
    '/gateway/core/accounts/:account',
    {
      config: { permission: 'gateway:read' },
      schema: {
        tags: TAGS,
        summary: 'Core account inquiry 核心账户查询',
        params: Type.Object({ account: Type.String({ pattern: CORE_ACCOUNT.source }) }),
        response: { 200: AccountView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      const { account } = request.params;
      if (core.kind === 'ledger') {
        const [a] = await deps.ledger.lookupAccounts([account]);
        if (!a || !(await canSeeOwner(deps.db as Kysely<IdentityTables>, actor, a.owner_id)))
          throw new XiaoweiError('core_account_not_found');
      }
      const found = await core.inquiry(account);
      if (!found.found) throw new XiaoweiError('core_account_not_found');
      return { account, status: found.status, available: found.available, currency: found.currency };
    },
  );
};
