import '@fastify/cookie';
import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { XiaoweiError } from '../platform/errors.js';
import { requireActor } from '../platform/http/actor.js';
import { listAudit, type AuditLog } from './audit.js';
import { SESSION_COOKIE } from './auth-hook.js';
import { createOrganisation, listOrganisations } from './organisations.js';
import { createParty, getParty, listParties } from './parties.js';
import { ROLE_PERMISSIONS } from './roles.js';
import * as S from './schemas.js';
import { confirmEnrolment, login, logout, type LoginOutcome, type SessionDeps } from './sessions.js';
import { createUser, listUsers } from './users.js';
import type { Secrets } from '../platform/secrets.js';
import { canSeeOwner, scopeHas } from './access.js';

export interface IdentityRouteDeps extends SessionDeps {
  secrets: Secrets;
  auditLog: AuditLog;
  cookieSecure: boolean;
}

/** HTTP API of the identity domain: sign-in, organisations, parties, users, audit log. */
export const identityRoutes: FastifyPluginAsyncTypebox<IdentityRouteDeps> = async (app, deps) => {
  const { db } = deps;

  const finish = (outcome: LoginOutcome, reply: FastifyReply) => {
    if (outcome.kind === 'enrol_totp') {
      const { enrolment_token, secret, otpauth_url, user } = outcome;
      return { status: 'enrol_totp' as const, enrolment_token, secret, otpauth_url, user };
    }
    void reply.setCookie(SESSION_COOKIE, outcome.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.cookieSecure,
      expires: new Date(outcome.expires_at),
    });
    return { status: 'ok' as const, token: outcome.token, expires_at: outcome.expires_at, user: outcome.user, permissions: [...ROLE_PERMISSIONS[outcome.user.role]] };
  };

  app.post('/auth/login', { schema: { tags: ['auth'], summary: 'Sign in 登录', body: S.LoginBody, response: { 200: S.LoginReply } } }, async (request, reply) => {
    const { username, password, totp } = request.body;
    try {
      const outcome = await login(deps, username, password, totp);
      await deps.auditLog.write({ actor_id: outcome.user.id, actor_name: username, action: 'auth.login', outcome: outcome.kind, ip: request.ip, request_id: request.id });
      return finish(outcome, reply);
    } catch (error) {
      if (error instanceof XiaoweiError) {
        // Asking for the one-time code is the normal second step, not a failure.
        const outcome = error.code === 'totp_required' ? 'challenge:totp' : `failed:${error.code}`;
        await deps.auditLog.write({ actor_id: null, actor_name: username, action: 'auth.login', outcome, ip: request.ip, request_id: request.id });
      }
      throw error;
    }
  });

  app.post('/auth/totp/confirm', { schema: { tags: ['auth'], summary: 'Confirm TOTP enrolment 绑定动态口令', body: S.ConfirmTotpBody, response: { 200: S.LoginReply } } }, async (request, reply) => {
    const { username, enrolment_token, code } = request.body;
    const outcome = await confirmEnrolment(deps, username, enrolment_token, code);
    await deps.auditLog.write({ actor_id: outcome.user.id, actor_name: username, action: 'auth.totp_enrolled', outcome: 'ok', ip: request.ip, request_id: request.id });
    return finish(outcome, reply);
  });

  app.post('/auth/logout', { schema: { tags: ['auth'], summary: 'Sign out 退出' } }, async (request, reply) => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : request.cookies[SESSION_COOKIE];
    if (token) await logout(deps, token);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/auth/me', { schema: { tags: ['auth'], summary: 'Who am I 当前用户' } }, async (request) => {
    const actor = requireActor(request);
    return { user_id: actor.user_id, username: actor.username, display_name: actor.display_name, role: actor.role, org_id: actor.org_id, merchant_id: actor.merchant_id, permissions: [...actor.permissions] };
  });

  app.get('/organisations', { config: { permission: 'org:read' }, schema: { tags: ['identity'], summary: 'Organisations 机构', response: { 200: Type.Array(S.OrganisationSchema) } } }, async (request) => {
    return listOrganisations(db, requireActor(request).org_scope ?? undefined);
  });

  app.post('/organisations', { config: { permission: 'org:write', audit: 'org.create' }, schema: { tags: ['identity'], summary: 'Add an organisation 新增机构', body: S.NewOrganisationBody, response: { 201: S.OrganisationSchema } } }, async (request, reply) => {
    const actor = requireActor(request);
    if (request.body.parent_id && !(await scopeHas(db, actor, request.body.parent_id))) throw new XiaoweiError('forbidden');
    // Only an administrator of a top-level organisation may add another top-level one.
    if (!request.body.parent_id) {
      const own = await db.selectFrom('organisations').select('parent_id').where('id', '=', actor.org_id).executeTakeFirst();
      if (actor.role !== 'admin' || !own || own.parent_id !== null) throw new XiaoweiError('forbidden');
    }
    const created = await createOrganisation(db, request.body);
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/parties', { config: { permission: 'party:read' }, schema: { tags: ['identity'], summary: 'Parties 客户', querystring: S.PartyQuery, response: { 200: Type.Object({ items: Type.Array(S.PartySchema), total: Type.Integer() }) } } }, async (request) => {
    const actor = requireActor(request);
    return listParties(db, { ...request.query, orgIds: actor.org_scope ?? new Set() });
  });

  app.post('/parties', { config: { permission: 'party:write', audit: 'party.create' }, schema: { tags: ['identity'], summary: 'Register a party 新增客户', body: S.NewPartyBody, response: { 201: S.PartySchema } } }, async (request, reply) => {
    const actor = requireActor(request);
    if (!(await scopeHas(db, actor, request.body.org_id))) throw new XiaoweiError('forbidden');
    const created = await createParty(db, deps.secrets, request.body);
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/parties/:id', { config: { permission: 'party:read' }, schema: { tags: ['identity'], summary: 'One party 客户详情', params: S.IdParams, response: { 200: S.PartySchema } } }, async (request) => {
    const party = await getParty(db, request.params.id);
    if (!party || !(await canSeeOwner(db, requireActor(request), party.id))) throw new XiaoweiError('not_found');
    return party;
  });

  app.get('/users', { config: { permission: 'user:read' }, schema: { tags: ['identity'], summary: 'Users 用户', response: { 200: Type.Array(S.UserSchema) } } }, async (request) => {
    return listUsers(db, requireActor(request).org_scope ?? new Set());
  });

  app.post('/users', { config: { permission: 'user:write', audit: 'user.create' }, schema: { tags: ['identity'], summary: 'Add a user 新增用户', body: S.NewUserBody, response: { 201: S.UserSchema } } }, async (request, reply) => {
    const actor = requireActor(request);
    if (!(await scopeHas(db, actor, request.body.org_id))) throw new XiaoweiError('forbidden');
    // The party a merchant-side user acts for must be one this staff member serves.
    if (request.body.merchant_id && !(await canSeeOwner(db, actor, request.body.merchant_id))) throw new XiaoweiError('forbidden');
    const created = await createUser(db, request.body);
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/audit', { config: { permission: 'audit:read' }, schema: { tags: ['identity'], summary: 'Audit log 审计日志', querystring: S.AuditQuery } }, async (request) => {
    return { items: await listAudit(db, request.query) };
  });
};
