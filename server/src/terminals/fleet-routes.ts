import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Dialect } from '../platform/db/database.js';
import { XiaoweiError, localeFrom } from '../platform/errors.js';
import { requireActor } from '../platform/http/actor.js';
import type { Secrets } from '../platform/secrets.js';
import { formatActivationCode, issueActivationCode, listActivationCodes } from './activation-codes.js';
import type { CommandQueue } from './contracts.js';
import { fleetScope, requireStaff } from './fleet-access.js';
import {
  addMembers,
  createGroup,
  listGroups,
  removeMembers,
  setGroupParams,
  setTerminalParams,
  updateGroup,
  visibleGroup,
} from './fleet-groups.js';
import { lastHeartbeat, listHeartbeats } from './fleet-heartbeats.js';
import { IMPORT_MAX_ROWS, importTerminals } from './fleet-import.js';
import * as S from './fleet-schemas.js';
import { changeTerminalStatus, type StatusAction } from './fleet-status.js';
import type { FleetTables } from './fleet-tables.js';
import {
  createTerminal,
  fleetSummary,
  listTerminals,
  loadTerminal,
  terminalDetail,
  toTerminalView,
  updateTerminal,
  visibleTerminal,
} from './fleet.js';
import { explainParams } from './params.js';

export interface FleetRouteDeps {
  // The database's Kysely handle; the fleet narrows it to its tables.
  db: Kysely<unknown>;
  dialect: Dialect;
  secrets: Pick<Secrets, 'blindIndex'>;
  /** The protocol part's durable command queue: lock, unlock, retire and parameters go through it. */
  commands: CommandQueue;
  /** µs since the epoch; tests inject a clock. */
  now?: () => number;
}

const TAGS = ['terminals'];

/** For routes whose body is all optional: a POST without a body counts as `{}`. */
const emptyBodyIsObject = async (request: FastifyRequest): Promise<void> => {
  if (request.body === undefined || request.body === null) request.body = {};
};

/**
 * Staff-facing fleet API: terminal records, CSV import, groups, parameters, lock/unlock/retire,
 * activation codes, heartbeat history and the fleet summary. Reads follow the actor's scope
 * (staff: their organisation subtree; merchant users: their own terminals); every state change
 * is staff-only and audited.
 */
export const fleetRoutes: FastifyPluginAsyncTypebox<FleetRouteDeps> = async (app, deps) => {
  const db = deps.db as Kysely<FleetTables>;
  const { dialect, commands } = deps;
  const now = deps.now ?? (() => Date.now() * 1000);

  app.get(
    '/terminals',
    {
      config: { permission: 'terminal:read' },
      schema: {
        tags: TAGS,
        summary: 'Terminals 终端列表',
        description: 'Filters combine with AND. `region` matches the division and everything under it. 条件之间为“且”关系。',
        querystring: S.TerminalQuery,
        response: { 200: S.TerminalList },
      },
    },
    async (request) => listTerminals(db, dialect, fleetScope(requireActor(request)), request.query, now()),
  );

  app.get(
    '/terminals/summary',
    {
      config: { permission: 'terminal:read' },
      schema: { tags: TAGS, summary: 'Fleet overview 终端概况', response: { 200: S.FleetSummary } },
    },
    async (request) => fleetSummary(db, fleetScope(requireActor(request)), now()),
  );

  app.post(
    '/terminals',
    {
      config: { permission: 'terminal:write', audit: 'terminal.create' },
      schema: { tags: TAGS, summary: 'Register a terminal 登记终端', body: S.NewTerminalBody, response: { 201: S.TerminalView } },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const created = await createTerminal(db, actor, request.body, now());
      request.auditTarget = created.id;
      return reply.status(201).send(created);
    },
  );

  app.post(
    '/terminals/import',
    {
      config: { permission: 'terminal:write', audit: 'terminal.import' },
      // 10,000 rows of a few hundred bytes each, as a JSON string.
      bodyLimit: 5 * 1024 * 1024,
      schema: {
        tags: TAGS,
        summary: 'Import terminals from CSV 批量导入终端',
        description:
          `Columns: serial, model, kind, owner_party_id (required), region_code, lat, lng, tags (';'-separated). At most ${IMPORT_MAX_ROWS} rows. ` +
          'Valid rows are inserted, invalid ones reported per row; dry_run writes nothing. 合法行入库，错误逐行报告；dry_run 仅校验。',
        body: S.ImportBody,
        response: { 200: S.ImportReport },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const dryRun = request.body.dry_run ?? false;
      const report = await importTerminals(db, actor, request.body.csv, {
        dryRun,
        now: now(),
        locale: localeFrom(request.headers['accept-language']),
      });
      // The audit log's target column says what was done: the rows written, or that it was a check.
      request.auditTarget = dryRun ? `dry-run:${report.valid}/${report.rows}` : `created:${report.created}/${report.rows}`;
      return report;
    },
  );

  app.get(
    '/terminals/:id',
    {
      config: { permission: 'terminal:read' },
      schema: { tags: TAGS, summary: 'One terminal 终端详情', params: S.IdParams, response: { 200: S.TerminalDetail } },
    },
    async (request) => {
      const row = await visibleTerminal(db, requireActor(request), request.params.id);
      return terminalDetail(db, row, now(), await lastHeartbeat(db, row.id));
    },
  );

  app.patch(
    '/terminals/:id',
    {
      config: { permission: 'terminal:write', audit: 'terminal.update' },
      schema: {
        tags: TAGS,
        summary: 'Change a terminal record 修改终端',
        params: S.IdParams,
        body: S.TerminalPatchBody,
        response: { 200: S.TerminalView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return updateTerminal(db, actor, request.params.id, request.body, now());
    },
  );

  app.get(
    '/terminals/:id/effective-params',
    {
      config: { permission: 'terminal:read' },
      schema: {
        tags: TAGS,
        summary: 'Effective parameters 生效参数',
        description: 'defaults ← groups (oldest first) ← the terminal’s own. 默认值 ← 分组（按创建先后）← 终端自身。',
        params: S.IdParams,
        response: { 200: S.EffectiveParamsReply },
      },
    },
    async (request) => {
      const row = await visibleTerminal(db, requireActor(request), request.params.id);
      const explained = await explainParams(db, row.id);
      if (!explained) throw new XiaoweiError('not_found');
      return explained;
    },
  );

  app.put(
    '/terminals/:id/params',
    {
      config: { permission: 'terminal:write', audit: 'terminal.params' },
      schema: {
        tags: TAGS,
        summary: 'Set a terminal’s own parameters 设置终端参数',
        description:
          'Replaces the terminal’s own set ({} = inherit everything); the device gets a parameters command if its effective set changed. 整体替换。',
        params: S.IdParams,
        body: S.ParamsBody,
        response: { 200: S.ParamsReply },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const row = await visibleTerminal(db, actor, request.params.id);
      const outcome = await setTerminalParams(db, dialect, commands, row.id, request.body, now());
      const explained = await explainParams(db, row.id);
      return { params: explained!.own, effective: explained!.effective, changed_terminals: outcome.changed_terminals };
    },
  );

  const statusRoute = (action: StatusAction, summary: string) =>
    app.post(
      `/terminals/:id/${action}`,
      {
        config: { permission: 'terminal:write', audit: `terminal.${action}` },
        preValidation: emptyBodyIsObject,
        schema: { tags: TAGS, summary, params: S.IdParams, body: S.ReasonBody, response: { 200: S.StatusReply } },
      },
      async (request) => {
        const actor = requireActor(request);
        requireStaff(actor);
        const row = await visibleTerminal(db, actor, request.params.id);
        const change = await changeTerminalStatus(db, commands, row.id, action, { reason: request.body.reason ?? null, now: now() });
        return { terminal: toTerminalView(await loadTerminal(db, row.id), now()), command_id: change.command_id };
      },
    );
  statusRoute('lock', 'Lock a terminal remotely 远程锁定');
  statusRoute('unlock', 'Unlock a terminal 解锁');
  statusRoute('retire', 'Retire a terminal (final) 报废终端（不可恢复）');

  app.post(
    '/terminals/:id/activation-codes',
    {
      config: { permission: 'terminal:write', audit: 'terminal.activation_code' },
      preValidation: emptyBodyIsObject,
      schema: {
        tags: TAGS,
        summary: 'Issue a one-time activation code 生成一次性激活码',
        description:
          'The code is shown once; earlier unused codes of the terminal stop working. 激活码仅显示一次，旧的未用激活码同时作废。',
        params: S.IdParams,
        body: S.IssueCodeBody,
        response: { 201: S.IssuedCode },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const row = await visibleTerminal(db, actor, request.params.id);
      const issued = await issueActivationCode(db, deps.secrets, {
        terminalId: row.id,
        createdBy: actor.user_id,
        ttlS: request.body.expires_in_s,
        now: now(),
      });
      // Never cache a response that carries a secret.
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send({ ...issued, code_display: formatActivationCode(issued.code) });
    },
  );

  app.get(
    '/terminals/:id/activation-codes',
    {
      config: { permission: 'terminal:read' },
      schema: {
        tags: TAGS,
        summary: 'Activation codes issued (never the codes) 激活码记录',
        params: S.IdParams,
        response: { 200: S.CodeList },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const row = await visibleTerminal(db, actor, request.params.id);
      return { items: await listActivationCodes(db, row.id, now()) };
    },
  );

  app.get(
    '/terminals/:id/heartbeats',
    {
      config: { permission: 'terminal:read' },
      schema: {
        tags: TAGS,
        summary: 'Heartbeat history 心跳记录',
        params: S.IdParams,
        querystring: S.HeartbeatQuery,
        response: { 200: S.HeartbeatList },
      },
    },
    async (request) => {
      const row = await visibleTerminal(db, requireActor(request), request.params.id);
      return { items: await listHeartbeats(db, row.id, request.query) };
    },
  );

  // ------------------------------------------------------------------ groups
  app.get(
    '/terminal-groups',
    {
      config: { permission: 'terminal:read' },
      schema: { tags: TAGS, summary: 'Terminal groups 终端分组', querystring: S.GroupQuery, response: { 200: S.GroupList } },
    },
    async (request) => listGroups(db, fleetScope(requireActor(request)), request.query),
  );

  app.post(
    '/terminal-groups',
    {
      config: { permission: 'terminal:write', audit: 'terminal_group.create' },
      schema: { tags: TAGS, summary: 'Create a terminal group 新建终端分组', body: S.NewGroupBody, response: { 201: S.GroupView } },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const created = await createGroup(db, actor, request.body, now());
      request.auditTarget = created.id;
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/terminal-groups/:id',
    {
      config: { permission: 'terminal:read' },
      schema: { tags: TAGS, summary: 'One terminal group 分组详情', params: S.IdParams, response: { 200: S.GroupView } },
    },
    async (request) => visibleGroup(db, requireActor(request), request.params.id),
  );

  app.patch(
    '/terminal-groups/:id',
    {
      config: { permission: 'terminal:write', audit: 'terminal_group.update' },
      schema: {
        tags: TAGS,
        summary: 'Rename a group or set its maintenance window 修改分组',
        params: S.IdParams,
        body: S.GroupPatchBody,
        response: { 200: S.GroupView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return updateGroup(db, actor, request.params.id, request.body);
    },
  );

  app.put(
    '/terminal-groups/:id/params',
    {
      config: { permission: 'terminal:write', audit: 'terminal_group.params' },
      schema: {
        tags: TAGS,
        summary: 'Set a group’s parameters 设置分组参数',
        description: 'Replaces the group’s set; members whose effective set changed get a parameters command. 整体替换。',
        params: S.IdParams,
        body: S.ParamsBody,
        response: { 200: S.GroupParamsReply },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const group = await visibleGroup(db, actor, request.params.id);
      const outcome = await setGroupParams(db, dialect, commands, group.id, request.body, now());
      return { group: await visibleGroup(db, actor, group.id), changed_terminals: outcome.changed_terminals };
    },
  );

  app.post(
    '/terminal-groups/:id/members',
    {
      config: { permission: 'terminal:write', audit: 'terminal_group.add_members' },
      schema: {
        tags: TAGS,
        summary: 'Add terminals to a group 加入分组',
        params: S.IdParams,
        body: S.MembersBody,
        response: { 200: S.MembersReply },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return addMembers(db, dialect, commands, actor, request.params.id, request.body, now());
    },
  );

  app.post(
    '/terminal-groups/:id/members/remove',
    {
      config: { permission: 'terminal:write', audit: 'terminal_group.remove_members' },
      schema: {
        tags: TAGS,
        summary: 'Remove terminals from a group 移出分组',
        params: S.IdParams,
        body: S.MembersBody,
        response: { 200: S.MembersReply },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return removeMembers(db, dialect, commands, actor, request.params.id, request.body, now());
    },
  );
};
