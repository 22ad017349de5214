import '@fastify/cookie';
import '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { cachedSubtreeOf } from './organisations.js';
import { ROLE_PERMISSIONS, STAFF_ROLES, type Role } from './roles.js';
import { authenticate, type SessionDeps } from './sessions.js';
import type { IdentityTables } from './tables.js';
import { auditRowNote, type AuditEntry, type AuditLog } from './audit.js';

export const SESSION_COOKIE = 'xw_session';

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return request.cookies[SESSION_COOKIE] || undefined;
}

/**
 * Resolves the caller on every request, enforces each route's `config.permission`, and writes
 * the audit log for routes that name an `config.audit` action.
 */
export function installAuth(app: FastifyInstance, deps: SessionDeps, auditLog: AuditLog): void {
  const scopeOf = (orgId: string): Promise<Set<string>> => cachedSubtreeOf(deps.db, orgId);
  app.decorateRequest('actor', null);
  app.decorateRequest('auditTarget', null);
  app.decorateRequest('auditStored', false);
  app.decorateRequest('auditNote', function auditNote(this: FastifyRequest, status: number) {
    const entry = auditEntryOf(this, status);
    return entry ? auditRowNote(entry) : undefined;
  });
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

  // The audit entry is stored before the reply leaves, so no acknowledged action goes unaudited.
  // A route that stored its entry with its own writes (`auditStored`) needs none here.
  // A callback rather than a promise: most requests have nothing to write here.
  app.addHook('onSend', (request, reply, payload, done) => {
    const entry = request.auditStored ? undefined : auditEntryOf(request, reply.statusCode);
    if (!entry) return done(null, payload);
    auditLog.write(entry).then(
      () => done(null, payload),
      (error: unknown) => done(error as Error),
    );
  });
}

/** The audit entry of an audited route's request answered with `status`; undefined when the route is not audited or nobody signed in. */
function auditEntryOf(request: FastifyRequest, status: number): AuditEntry | undefined {
  const action = request.routeOptions.config.audit;
  if (!action || !request.actor) return undefined;
  const params = request.params as Record<string, string> | undefined;
  return {
    actor_id: request.actor.user_id,
    actor_name: request.actor.username,
    action,
    target: request.auditTarget ?? params?.id ?? null,
    outcome: status < 400 ? 'ok' : `failed:${status}`,
    ip: request.ip,
    request_id: request.id,
  };
}

/** Each role's permissions as a set, made once (actors only read it). */
const permissionSets = new Map<string, ReadonlySet<string>>();
function permissionsOf(role: Role): ReadonlySet<string> {
  let set = permissionSets.get(role);
  if (!set) permissionSets.set(role, (set = new Set(ROLE_PERMISSIONS[role] ?? [])));
  return set;
}

/** The actor of a user row, built per request: the organisation scope comes from its own cache, which a new organisation clears. */
async function actorOf(row: IdentityTables['users'], scopeOf: (orgId: string) => Promise<Set<string>>): Promise<Actor> {
  const role = row.role as Role;
  const staff = STAFF_ROLES.includes(role);
  return {
    user_id: row.id,
    username: row.username,
    display_name: row.display_name,
    role,
    permissions: permissionsOf(role),
    org_id: row.org_id,
    merchant_id: row.merchant_id,
    org_scope: staff ? await scopeOf(row.org_id) : null,
  };
}
