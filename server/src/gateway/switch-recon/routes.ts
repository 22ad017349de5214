import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { XiaoweiError } from '../../platform/errors.js';
import { requireActor, type Actor } from '../../platform/http/actor.js';
import type { GatewayDeps } from '../deps.js';
import { getFile, listExceptions, listFiles, resolveException } from './exceptions.js';
import { importSettlementFile } from './recon.js';
import * as S from './schemas.js';

const TAGS = ['gateway: switch reconciliation'];
const BASE = '/gateway/switch-recon';

/** The switch's files are the bank's, not a branch's: staff only (any merchant-side user is refused). */
function requireStaff(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

/**
 * Staff API of the switch settlement file reconciliation under /api/v1: import a file (CSV text
 * as text/csv, or JSON {content}), files, a file's outcome, exceptions and their resolution.
 * gateway:read to see, gateway:write to import and resolve (both audited).
 */
export const reconRoutes: FastifyPluginAsyncTypebox<GatewayDeps> = async (app, deps) => {
  // This plugin's scope only: the upload may be the bare file.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: S.MAX_FILE_BYTES }, (_request, body, done) => done(null, body));

  app.post(
    `${BASE}/files`,
    {
      config: { permission: 'gateway:write', audit: 'gateway.switch_recon.import' },
      bodyLimit: S.MAX_FILE_BYTES + 64 * 1024,
      schema: {
        tags: TAGS,
        summary: 'Import a switch settlement file 导入转接清算文件',
        description:
          'The body is the file (text/csv) or JSON {content}. Reconciles it with the switch journal and posts its net (bank:settlement ⇄ bank:switch-clearing). The same file again answers 200 with the first result; another file for an imported date answers 409. 同一文件重复导入结果不变；同一清算日期的不同文件被拒绝。',
        consumes: ['text/csv', 'application/json'],
        body: Type.Union([Type.String({ minLength: 1, maxLength: S.MAX_FILE_BYTES }), S.ImportJson]),
        response: { 200: S.ImportResult, 201: S.ImportResult },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const body = request.body;
      const text = typeof body === 'string' ? body : body.content;
      const result = await importSettlementFile(deps, text, actor.user_id);
      request.auditTarget = result.file.id;
      return reply.status(result.created ? 201 : 200).send(result);
    },
  );

  app.get(
    `${BASE}/files`,
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'Imported settlement files, newest date first 已导入的清算文件', querystring: S.FileQuery, response: { 200: S.FileList } },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return listFiles(deps, request.query);
    },
  );

  app.get(
    `${BASE}/files/:id`,
    {
      config: { permission: 'gateway:read' },
      schema: {
        tags: TAGS,
        summary: 'A file: lines by outcome, and its exceptions 清算文件对账结果',
        params: S.IdParams,
        response: { 200: S.FileDetail },
      },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return getFile(deps, request.params.id);
    },
  );

  app.get(
    `${BASE}/exceptions`,
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'Switch reconciliation exceptions 转接对账差错', querystring: S.ExceptionQuery, response: { 200: S.ExceptionList } },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return listExceptions(deps, request.query);
    },
  );

  app.post(
    `${BASE}/exceptions/:id/resolve`,
    {
      config: { permission: 'gateway:write', audit: 'gateway.switch_recon.resolve' },
      schema: {
        tags: TAGS,
        summary: 'Resolve an exception 处理转接对账差错',
        description: 'write_off: to bank:suspense; reverse: reverse our sale (missing on the switch); accept: note only. Once per exception; a note is required. 每笔差错只能处理一次，须填写说明。',
        params: S.IdParams,
        body: S.ResolveBody,
        response: { 200: S.ExceptionView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return resolveException(deps, request.params.id, request.body, actor.user_id);
    },
  );
};
