import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/index.js';
import { scopeHas } from '../identity/access.js';
import type { IdentityTables } from '../identity/tables.js';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError } from '../platform/errors.js';
import { requireActor, type Actor } from '../platform/http/actor.js';
import { validatorCompiler } from '../platform/http/validation.js';
import { createApp, listApps, requireApp } from './apps.js';
import { isSemver } from './apps-semver.js';
import type { AppsDb } from './apps-tables.js';
import { BundleFetcher, listTerminalApps } from './apps-terminal.js';
import * as S from './app-schemas.js';
import {
  assignAppSet,
  createAppSet,
  getAssignment,
  listAppSets,
  listAssignments,
  removeAppSetItem,
  requireAppSet,
  setAppSetItem,
  unassignAppSet,
  type AppSetAssignment,
} from './app-sets.js';
import { approveVersion, BundleCache, listVersions, requireVersion } from './app-versions.js';
import { MAX_BUNDLE_BYTES, publishBundle } from './bundles.js';
import type { CommandQueue } from './contracts.js';
import {
  approveRollout,
  cancelRollout,
  createRollout,
  listRollouts,
  listTargets,
  pauseRollout,
  UpdateReportBatcher,
  requireRollout,
  resumeRollout,
  rollbackRollout,
  sweepRolloutDeadlines,
  type Rollout,
  type RolloutDeps,
} from './rollouts.js';
import { requireTerminal } from './terminal-auth.js';

export interface AppRouteDeps {
  // The database's Kysely handle; the apps part narrows it to its tables.
  db: Kysely<unknown>;
  dialect: Dialect;
  /** Signs bundles with the platform key. */
  crypto: Pick<CryptoService, 'sign'>;
  /** The protocol part's durable command queue: rollout stages enqueue `update_available`. */
  commands: CommandQueue;
  /** µs since the epoch; tests inject a clock. */
  now?: () => number;
  /** How often overdue rollout stages are paused (ms); 0 turns the timer off. Default 30 s. */
  deadlineSweepMs?: number;
}

const APP_TAGS = ['apps'];
const ROLLOUT_TAGS = ['rollouts'];
const TERMINAL_TAGS = ['terminal'];
/** Content types the bundle upload accepts; the body is kept as the exact bytes. */
const BUNDLE_TYPES = ['application/json', 'application/octet-stream', 'application/vnd.xiaowei.bundle+json'];

/**
 * The apps API. Staff: the bank-wide catalogue and app sets (read: app:read; change: app:write,
 * audited) and rollouts (scoped to the organisation of their target). Terminals (MAC-verified):
 * their authorised apps, the bundles, and update reports.
 */
export const appRoutes: FastifyPluginAsyncTypebox<AppRouteDeps> = async (app, deps) => {
  const db = deps.db as Kysely<AppsDb>;
  const identityDb = deps.db as Kysely<IdentityTables>;
  const now = deps.now ?? (() => Date.now() * 1000);
  const rolloutDeps: RolloutDeps = { db, dialect: deps.dialect, commands: deps.commands, now };
  // Update reports of a tick share one transaction (a rollout to the whole fleet reports at once).
  const reports = new UpdateReportBatcher(rolloutDeps);
  app.addHook('onClose', () => reports.drain());
  const bundles = new BundleCache();
  // Downloads of a moment share their app resolution (a rollout's terminals download by the dozen).
  const downloads = new BundleFetcher(db, bundles, now);
  app.addHook('onClose', () => downloads.drain());

  const sweepMs = deps.deadlineSweepMs ?? 30_000;
  if (sweepMs > 0) {
    let sweeping = false;
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      sweepRolloutDeadlines(rolloutDeps)
        .catch((error: unknown) => app.log.warn({ err: error }, 'rollout deadline sweep failed'))
        .finally(() => (sweeping = false));
    }, sweepMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }

  const inScope = (actor: Actor, orgId: string): Promise<boolean> => scopeHas(identityDb, actor, orgId);

  /** The org of a terminal or group the actor may manage, or app_target_not_found. */
  const scopedTarget = async (actor: Actor, target: { terminal_id?: string; group_id?: string }): Promise<string> => {
    const row = target.terminal_id !== undefined
      ? await db.selectFrom('terminals').select('org_id').where('id', '=', target.terminal_id).executeTakeFirst()
      : await db.selectFrom('terminal_groups').select('org_id').where('id', '=', target.group_id!).executeTakeFirst();
    if (!row || !(await inScope(actor, row.org_id))) throw new XiaoweiError('app_target_not_found');
    return row.org_id;
  };

  const visibleRollout = async (actor: Actor, id: string): Promise<Rollout> => {
    const rollout = await requireRollout(db, id);
    if (!(await inScope(actor, rollout.org_id))) throw new XiaoweiError('rollout_not_found');
    return rollout;
  };

  /** Organisation of each terminal or group (ids not found are absent). */
  const orgsOf = async (table: 'terminals' | 'terminal_groups', ids: readonly string[]): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await db.selectFrom(table).select(['id', 'org_id']).where('id', 'in', unique.slice(i, i + 500)).execute();
      for (const r of rows) out.set(r.id, r.org_id);
    }
    return out;
  };

  /** Refuses unless every terminal exists and is in the actor's scope (one query per 500 ids). */
  const scopedTerminals = async (actor: Actor, ids: readonly string[]): Promise<void> => {
    const orgs = await orgsOf('terminals', ids);
    for (const id of ids) if (!orgs.has(id)) throw new XiaoweiError('app_target_not_found');
    for (const org of new Set(orgs.values())) if (!(await inScope(actor, org))) throw new XiaoweiError('app_target_not_found');
  };

  /** Assignments whose terminal or group is in the actor's scope. */
  const visibleAssignments = async (actor: Actor, setId: string): Promise<AppSetAssignment[]> => {
    const all = await listAssignments(db, setId);
    const terminalOrgs = await orgsOf('terminals', all.flatMap((a) => (a.terminal_id !== null ? [a.terminal_id] : [])));
    const groupOrgs = await orgsOf('terminal_groups', all.flatMap((a) => (a.group_id !== null ? [a.group_id] : [])));
    return all.filter((a) => {
      const org = a.terminal_id !== null ? terminalOrgs.get(a.terminal_id) : groupOrgs.get(a.group_id!);
      return org !== undefined && actor.org_scope?.has(org) === true;
    });
  };

  // ————————————————————————————————————————— catalogue

  app.get('/apps', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'App catalogue 应用目录', querystring: S.AppQuery, response: { 200: Type.Array(S.AppSummaryView) } },
  }, async (request) => listApps(db, request.query));

  app.post('/apps', {
    config: { permission: 'app:write', audit: 'app.create' },
    schema: { tags: APP_TAGS, summary: 'Add an app 新增应用', body: S.NewAppBody, response: { 201: S.AppView } },
  }, async (request, reply) => {
    requireActor(request);
    const created = await createApp(db, request.body, now());
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/apps/:id', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'One app 应用详情', params: S.IdParams, response: { 200: S.AppView } },
  }, async (request) => requireApp(db, request.params.id));

  app.get('/apps/:id/versions', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'Versions of an app, newest first 应用版本', params: S.IdParams, response: { 200: Type.Array(S.VersionView) } },
  }, async (request) => {
    await requireApp(db, request.params.id);
    return listVersions(db, request.params.id);
  });

  // The upload sits in its own scope: its body is the exact bundle bytes (the digest is over
  // them), so JSON is not parsed here, and only this route takes a 20 MiB body.
  await app.register(async (scope) => {
    const upload = scope.withTypeProvider<TypeBoxTypeProvider>();
    // Only the bundle types: anything else (text/plain too) is an unsupported media type.
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser(BUNDLE_TYPES, { parseAs: 'buffer', bodyLimit: MAX_BUNDLE_BYTES + 1024 * 1024 }, (_request, body, done) => done(null, body));
    // The body schema only documents the upload (binary); the bytes are checked by parseBundle.
    // Params and query are validated as everywhere else.
    const validate = validatorCompiler();
    upload.post('/apps/:id/versions', {
      validatorCompiler: (part) => (part.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validate(part)),
      config: { permission: 'app:write', audit: 'app.version.publish' },
      bodyLimit: MAX_BUNDLE_BYTES + 1024 * 1024,
      schema: {
        tags: APP_TAGS,
        summary: 'Publish a version: upload its bundle 上传应用包发布版本',
        description: `The body is the bundle file itself (${BUNDLE_TYPES.join(', ')}; at most ${MAX_BUNDLE_BYTES} bytes). The server checks it, computes its SHA-256 and signs it. 请求体即应用包文件本身。`,
        consumes: BUNDLE_TYPES,
        body: S.BundleUpload,
        params: S.IdParams,
        querystring: S.UploadQuery,
        response: { 201: S.PublishedView, 200: S.PublishedView },
      },
    }, async (request, reply) => {
      const actor = requireActor(request);
      const body: unknown = request.body;
      if (!Buffer.isBuffer(body)) throw new XiaoweiError('bundle_invalid', 'the body must be the bundle file');
      if (body.length > MAX_BUNDLE_BYTES) throw new XiaoweiError('bundle_too_large', String(MAX_BUNDLE_BYTES));
      const q = request.query;
      if (q.version !== undefined && !isSemver(q.version)) throw new XiaoweiError('app_version_invalid', q.version);
      if (q.min_shell_version !== undefined && !isSemver(q.min_shell_version)) throw new XiaoweiError('app_version_invalid', q.min_shell_version);
      const published = await publishBundle(db, deps.crypto, body, {
        created_by: actor.user_id,
        app_id: request.params.id,
        ...(q.version !== undefined ? { version: q.version } : {}),
        min_shell_version: q.min_shell_version ?? null,
        release_notes_zh: q.release_notes_zh ?? null,
        release_notes_en: q.release_notes_en ?? null,
        approve: q.approve === true,
        now: now(),
      });
      request.auditTarget = published.version.id;
      return reply.status(published.created ? 201 : 200).send({ ...published.version, created: published.created });
    });
  });

  app.get('/apps/:id/versions/:version', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'One version 版本详情', params: S.VersionParams, response: { 200: S.VersionView } },
  }, async (request) => requireVersion(db, request.params.id, request.params.version));

  app.get('/apps/:id/versions/:version/bundle', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'Download a bundle 下载应用包', params: S.VersionParams },
  }, async (request, reply) => {
    const v = await requireVersion(db, request.params.id, request.params.version);
    const bytes = await bundles.get(db, v.id);
    if (!bytes) throw new XiaoweiError('app_version_not_found');
    return reply.header('content-type', 'application/json').header('x-bundle-digest', v.digest).header('x-bundle-signature', v.signature).send(bytes);
  });

  app.post('/apps/:id/versions/:version/approve', {
    config: { permission: 'app:write', audit: 'app.version.approve' },
    schema: { tags: APP_TAGS, summary: 'Approve a version (latest-approved set items offer it) 批准版本', params: S.VersionParams, response: { 200: S.VersionView } },
  }, async (request) => {
    const actor = requireActor(request);
    const v = await approveVersion(db, request.params.id, request.params.version, actor.user_id, now());
    request.auditTarget = v.id;
    return v;
  });

  // ————————————————————————————————————————— app sets

  app.get('/app-sets', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'Scenario app sets 场景应用组合', response: { 200: Type.Array(S.AppSetView) } },
  }, async () => listAppSets(db));

  app.post('/app-sets', {
    config: { permission: 'app:write', audit: 'app_set.create' },
    schema: { tags: APP_TAGS, summary: 'Add an app set 新增应用组合', body: S.NewAppSetBody, response: { 201: S.AppSetView } },
  }, async (request, reply) => {
    requireActor(request);
    const created = await createAppSet(db, request.body, now());
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/app-sets/:id', {
    config: { permission: 'app:read' },
    schema: { tags: APP_TAGS, summary: 'One app set with its assignments 应用组合详情', params: S.IdParams, response: { 200: S.AppSetDetail } },
  }, async (request) => {
    const set = await requireAppSet(db, request.params.id);
    return { ...set, assignments: await visibleAssignments(requireActor(request), set.id) };
  });

  app.put('/app-sets/:id/items/:appId', {
    config: { permission: 'app:write', audit: 'app_set.item.put' },
    schema: {
      tags: APP_TAGS,
      summary: 'Put an app in a set (pinned version or latest approved) 设置组合中的应用',
      params: S.SetItemParams,
      body: S.SetItemBody,
      response: { 200: S.AppSetView },
    },
  }, async (request) => {
    const { id, appId } = request.params;
    await requireApp(db, appId);
    const versionId = request.body.version === null ? null : (await requireVersion(db, appId, request.body.version)).id;
    return setAppSetItem(db, id, appId, versionId, now());
  });

  app.delete('/app-sets/:id/items/:appId', {
    config: { permission: 'app:write', audit: 'app_set.item.delete' },
    schema: { tags: APP_TAGS, summary: 'Take an app out of a set 移除组合中的应用', params: S.SetItemParams, response: { 200: S.AppSetView } },
  }, async (request) => removeAppSetItem(db, request.params.id, request.params.appId));

  app.post('/app-sets/:id/assignments', {
    config: { permission: 'app:write', audit: 'app_set.assign' },
    schema: { tags: APP_TAGS, summary: 'Assign a set to a terminal or group 分配应用组合', params: S.IdParams, body: S.AssignBody, response: { 201: S.AssignmentView, 200: S.AssignmentView } },
  }, async (request, reply) => {
    const actor = requireActor(request);
    const body = request.body;
    const target = 'terminal_id' in body ? { terminal_id: body.terminal_id } : { group_id: body.group_id };
    await scopedTarget(actor, target);
    const { assignment, created } = await assignAppSet(db, request.params.id, target, actor.user_id, now());
    return reply.status(created ? 201 : 200).send(assignment);
  });

  app.delete('/app-sets/:id/assignments/:assignmentId', {
    config: { permission: 'app:write', audit: 'app_set.unassign' },
    schema: { tags: APP_TAGS, summary: 'Remove an assignment 取消分配', params: S.AssignmentParams },
  }, async (request) => {
    const actor = requireActor(request);
    const { id, assignmentId } = request.params;
    const assignment = await getAssignment(db, id, assignmentId);
    if (!assignment) throw new XiaoweiError('not_found');
    await scopedTarget(actor, assignment.terminal_id !== null ? { terminal_id: assignment.terminal_id } : { group_id: assignment.group_id! });
    await unassignAppSet(db, id, assignmentId);
    return { ok: true };
  });

  // ————————————————————————————————————————— rollouts

  app.get('/rollouts', {
    config: { permission: 'app:read' },
    schema: { tags: ROLLOUT_TAGS, summary: 'Rollouts 发布计划', querystring: S.RolloutQuery, response: { 200: S.RolloutList } },
  }, async (request) => {
    const actor = requireActor(request);
    return listRollouts(db, { ...request.query, org_ids: actor.org_scope ? [...actor.org_scope] : [] });
  });

  app.post('/rollouts', {
    config: { permission: 'app:write', audit: 'rollout.create' },
    schema: {
      tags: ROLLOUT_TAGS,
      summary: 'Plan a rollout 新建发布计划',
      description: 'Starts in state `created`; `approve` starts it. 创建后为待批准状态，批准后开始。',
      body: S.NewRolloutBody,
      response: { 201: S.RolloutView },
    },
  }, async (request, reply) => {
    const actor = requireActor(request);
    const body = request.body;
    let orgId = actor.org_id;
    if (body.group_id !== undefined) orgId = await scopedTarget(actor, { group_id: body.group_id });
    if (body.terminal_ids) await scopedTerminals(actor, body.terminal_ids);
    const created = await createRollout(rolloutDeps, body, actor, orgId);
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  app.get('/rollouts/:id', {
    config: { permission: 'app:read' },
    schema: { tags: ROLLOUT_TAGS, summary: 'Rollout progress per stage 发布进度', params: S.IdParams, response: { 200: S.RolloutView } },
  }, async (request) => visibleRollout(requireActor(request), request.params.id));

  app.get('/rollouts/:id/targets', {
    config: { permission: 'app:read' },
    schema: { tags: ROLLOUT_TAGS, summary: 'Terminals of a rollout 发布目标终端', params: S.IdParams, querystring: S.TargetQuery, response: { 200: S.TargetList } },
  }, async (request) => {
    await visibleRollout(requireActor(request), request.params.id);
    return listTargets(db, request.params.id, request.query);
  });

  const action = (name: 'approve' | 'pause' | 'resume' | 'cancel', summary: string, run: (id: string, actor: Actor, force: boolean) => Promise<Rollout>) => {
    app.post(`/rollouts/:id/${name}`, {
      config: { permission: 'app:write', audit: `rollout.${name}` },
      schema: { tags: ROLLOUT_TAGS, summary, params: S.IdParams, querystring: S.ApproveQuery, response: { 200: S.RolloutView } },
    }, async (request) => {
      const actor = requireActor(request);
      await visibleRollout(actor, request.params.id);
      return run(request.params.id, actor, request.query.force === true);
    });
  };
  action('approve', 'Approve: start the rollout or its next stage 批准（开始或进入下一阶段）', (id, actor, force) => approveRollout(rolloutDeps, id, actor.user_id, { force }));
  action('pause', 'Pause 暂停', (id) => pauseRollout(rolloutDeps, id));
  action('resume', 'Resume 继续', (id) => resumeRollout(rolloutDeps, id));
  action('cancel', 'Cancel: no further stages 取消', (id) => cancelRollout(rolloutDeps, id));

  app.post('/rollouts/:id/rollback', {
    config: { permission: 'app:write', audit: 'rollout.rollback' },
    schema: {
      tags: ROLLOUT_TAGS,
      summary: 'Roll back: reached terminals return to their previous version 回滚',
      params: S.IdParams,
      response: { 200: S.RollbackView },
    },
  }, async (request) => {
    await visibleRollout(requireActor(request), request.params.id);
    return rollbackRollout(rolloutDeps, request.params.id);
  });

  // ————————————————————————————————————————— terminal-facing

  app.get('/terminal/apps', {
    config: { terminalAuth: true },
    schema: { tags: TERMINAL_TAGS, summary: 'Authorised apps and the version to run 终端授权应用', response: { 200: S.TerminalAppsReply } },
  }, async (request) => ({ apps: await listTerminalApps(db, requireTerminal(request).terminal_id) }));

  app.get('/terminal/apps/:code/versions/:version/bundle', {
    config: { terminalAuth: true },
    schema: { tags: TERMINAL_TAGS, summary: 'Download an authorised bundle 下载应用包', params: S.TerminalBundleParams },
  }, async (request, reply) => {
    const terminal = requireTerminal(request);
    const { bytes, digest, signature } = await downloads.fetch({ terminalId: terminal.terminal_id, appCode: request.params.code, version: request.params.version });
    return reply.header('content-type', 'application/json').header('cache-control', 'no-store').header('x-bundle-digest', digest).header('x-bundle-signature', signature).send(bytes);
  });

  app.post('/terminal/updates', {
    config: { terminalAuth: true },
    schema: { tags: TERMINAL_TAGS, summary: 'Report an update’s progress 上报升级状态', body: S.UpdateReportBody, response: { 200: S.UpdateReportReply } },
  }, async (request) => reports.record(requireTerminal(request).terminal_id, request.body));
};
