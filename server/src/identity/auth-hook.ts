import '@fastify/cookie';
import '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { subtreeOf } from './organisations.js';
import { ROLE_PERMISSIONS, STAFF_ROLES, type Role } from './roles.js';
import { authenticate, type SessionDeps } from './sessions.js';
import type { IdentityTables } from './tables.js';
import { audit } from './audit.js';

export const SESSION_COOKIE = 'xw_session';
const SCOPE_TTL_MS = 10_000;

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return request.cookies[SESSION_COOKIE] || undefined;
}

/**
 * Resolves the caller on every request, enforces each route's `config.permission`, and writes
 * the audit log for routes that name an `config.audit` action.
 */
export function installAuth(app: FastifyInstance, deps: SessionDeps): void {
  const scopes = new Map<string, { ids: Set<string>; until: number }>();
  const scopeOf = async (orgId: string): Promise<Set<string>> => {
    const cached = scopes.get(orgId);
    if (cached && cached.until > Date.now()) return cached.ids;
    const ids = await subtreeOf(deps.db, orgId);
    scopes.set(orgId, { ids, until: Date.now() + SCOPE_TTL_MS });
    return ids;
  };

  app.decorateRequest('actor', null);
  app.addHook('preHandler', async (request) => {
    const token = tokenOf(request);
    if (token) {
      const row = await authenticate(deps, token);
      if (row) request.actor = await actorOf(row, scopeOf);
    }
    const permission = request.routeOptions.config.permission;
    if (!permission) return;
    if (!request.actor) throw new XiaoweiError('unauthenticated');
    if (!request.actor.permissions.has(permission)) throw new XiaoweiError('forbidden');
  });

  app.addHook('onResponse', async (request, reply) => {
    const action = request.routeOptions.config.audit;
    if (!action || !request.actor) return;
    const params = request.params as Record<string, string> | undefined;
    await audit(deps.db, {
      actor_id: request.actor.user_id,
      actor_name: request.actor.username,
      action,
      target: params?.id ?? null,
      outcome: reply.statusCode < 400 ? 'ok' : `failed:${reply.statusCode}`,
      ip: request.ip,
      request_id: request.id,
    }).catch((err: unknown) => request.log.error({ err }, 'audit write failed'));
  });
}

async function actorOf(row: IdentityTables['users'], scopeOf: (orgId: string) => Promise<Set<string>>): Promise<Actor> {
  const role = row.role as Role;
  const staff = STAFF_ROLES.includes(role);
  return {
    user_id: row.id,
    username: row.username,
    display_name: row.display_name,
    role,
    permissions: new Set(ROLE_PERMISSIONS[role] ?? []),
    org_id: row.org_id,
    merchant_id: row.merchant_id,
    org_scope: staff ? await scopeOf(row.org_id) : null,
  };
}
