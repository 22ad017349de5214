import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { canSeeOwner, scopeHas } from '../identity/access.js';
import type { IdentityTables } from '../identity/tables.js';
import { XiaoweiError } from '../platform/errors.js';
import { requireActor, type Actor } from '../platform/http/actor.js';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { COMMAND_STATUSES, type CommandStore } from './commands.js';
import { COMMAND_KINDS } from './contracts.js';
import { OPERATOR_NO_PATTERN, OPERATOR_ROLES, createOperator, getOperator, listOperators, setOperatorDisabled } from './operators.js';
import type { ProtocolTables } from './protocol-migration.js';

export interface ProtocolStaffRouteDeps {
  db: Kysely<ProtocolTables>;
  commands: CommandStore;
  /** µs since the epoch. */
  now: () => number;
}

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const NullableMicros = Type.Union([Micros, Type.Null()]);
const JsonObject = Type.Record(Type.String(), Type.Unknown());

const OperatorView = Type.Object({
  id: Type.String(),
  owner_party_id: Type.String(),
  operator_no: Type.String(),
  name: Type.String(),
  role: StringEnum(OPERATOR_ROLES),
  locked: Type.Boolean(),
  disabled: Type.Boolean(),
  created_at: Micros,
});

const NewOperatorBody = Type.Object(
  {
    owner_party_id: Id,
    operator_no: Type.String({ pattern: OPERATOR_NO_PATTERN, description: 'Operator number 操作员号 01–99' }),
    name: Type.String({ minLength: 1, maxLength: 50, description: 'Name 姓名' }),
    role: StringEnum(OPERATOR_ROLES, { description: 'cashier 收银员, supervisor 主管' }),
    password: Type.String({ minLength: 6, maxLength: 32, description: 'Initial password 初始密码' }),
  },
  { additionalProperties: false },
);

const CommandView = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  terminal_id: Type.String(),
  kind: StringEnum(COMMAND_KINDS),
  payload: JsonObject,
  created_at: Micros,
  not_before: NullableMicros,
  expires_at: Micros,
  status: StringEnum(COMMAND_STATUSES),
  acked_at: NullableMicros,
  result: Type.Union([JsonObject, Type.Null()]),
});

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 500, description });
const NewCommandBody = Type.Object(
  {
    kind: Type.Literal('message', { description: 'Only messages are sent by hand; updates, parameters and locks come from their own features 仅支持消息' }),
    message: Type.Object({ zh: Text('Message, Chinese 中文消息'), en: Text('Message, English 英文消息') }, { additionalProperties: false }),
    expires_in_s: Type.Integer({ minimum: 60, maximum: 30 * 86_400, description: 'Not delivered after this many seconds 有效期（秒）' }),
    not_before: Type.Optional(Micros),
  },
  { additionalProperties: false },
);

const TAGS = ['terminal operators & commands'];

/**
 * Staff-facing parts of the protocol: a merchant's terminal operators, and each terminal's command
 * queue (list, send a message, cancel). Reads follow the actor's scope; changes are staff-only
 * and audited.
 */
export const protocolStaffRoutes: FastifyPluginAsyncTypebox<ProtocolStaffRouteDeps> = async (app, deps) => {
  const { db, commands, now } = deps;
  const identity = db as unknown as Kysely<IdentityTables>;

  const requireStaff = (actor: Actor): void => {
    if (actor.org_scope === null) throw new XiaoweiError('forbidden');
  };

  /** The terminal if the actor may see it: staff by organisation, a merchant user only its own. */
  const visibleTerminal = async (actor: Actor, id: string): Promise<{ id: string }> => {
    const row = await db.selectFrom('terminals').select(['id', 'org_id', 'owner_party_id']).where('id', '=', id).executeTakeFirst();
    const visible = row && (actor.org_scope === null ? actor.merchant_id !== null && actor.merchant_id === row.owner_party_id : await scopeHas(identity, actor, row.org_id));
    if (!row || !visible) throw new XiaoweiError('not_found');
    return row;
  };

  const visibleOperator = async (actor: Actor, id: string) => {
    const operator = await getOperator(db, id, now());
    if (!operator || !(await canSeeOwner(identity, actor, operator.owner_party_id))) throw new XiaoweiError('not_found');
    return operator;
  };

  app.get('/terminal-operators', {
    config: { permission: 'terminal:read' },
    schema: {
      tags: TAGS,
      summary: 'A merchant’s terminal operators 终端操作员',
      querystring: Type.Object({ owner_party_id: Id }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(OperatorView) }) },
    },
  }, async (request) => {
    const actor = requireActor(request);
    if (!(await canSeeOwner(identity, actor, request.query.owner_party_id))) throw new XiaoweiError('not_found');
    return { items: await listOperators(db, request.query.owner_party_id, now()) };
  });

  app.post('/terminal-operators', {
    config: { permission: 'terminal:write', audit: 'terminal_operator.create' },
    schema: { tags: TAGS, summary: 'Add a terminal operator 新增终端操作员', body: NewOperatorBody, response: { 201: OperatorView } },
  }, async (request, reply) => {
    const actor = requireActor(request);
    requireStaff(actor);
    if (!(await canSeeOwner(identity, actor, request.body.owner_party_id))) throw new XiaoweiError('validation_failed', 'owner_party_id must name a party you serve');
    const created = await createOperator(db, request.body, now());
    request.auditTarget = created.id;
    return reply.status(201).send(created);
  });

  for (const [action, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post(`/terminal-operators/:id/${action}`, {
      config: { permission: 'terminal:write', audit: `terminal_operator.${action}` },
      schema: { tags: TAGS, summary: disabled ? 'Disable an operator 停用操作员' : 'Enable an operator (and clear its lock) 启用操作员', params: Type.Object({ id: Id }), response: { 200: OperatorView } },
    }, async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const operator = await visibleOperator(actor, request.params.id);
      return setOperatorDisabled(db, operator.id, disabled, now());
    });
  }

  app.get('/terminals/:id/commands', {
    config: { permission: 'terminal:read' },
    schema: {
      tags: TAGS,
      summary: 'A terminal’s commands 终端指令',
      params: Type.Object({ id: Id }),
      querystring: Type.Object(
        {
          status: Type.Optional(StringEnum(COMMAND_STATUSES)),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          before_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'Only commands older than this seq, for paging' })),
        },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ items: Type.Array(CommandView) }) },
    },
  }, async (request) => {
    const terminal = await visibleTerminal(requireActor(request), request.params.id);
    return { items: await commands.list(terminal.id, request.query) };
  });

  app.post('/terminals/:id/commands', {
    config: { permission: 'terminal:write', audit: 'terminal_command.create' },
    schema: { tags: TAGS, summary: 'Send a message to a terminal 向终端发送消息', params: Type.Object({ id: Id }), body: NewCommandBody, response: { 201: CommandView } },
  }, async (request, reply) => {
    const actor = requireActor(request);
    requireStaff(actor);
    const terminal = await visibleTerminal(actor, request.params.id);
    const { message, expires_in_s, not_before } = request.body;
    const nowUs = now();
    const [id] = await commands.enqueue([
      { terminal_id: terminal.id, kind: 'message', payload: { message, from: actor.display_name }, expires_at: nowUs + expires_in_s * 1_000_000, not_before: not_before ?? null },
    ]);
    request.auditTarget = id!;
    const created = await commands.get(terminal.id, id!);
    if (!created) throw new XiaoweiError('not_found');
    return reply.status(201).send(created);
  });

  app.delete('/terminals/:id/commands/:commandId', {
    config: { permission: 'terminal:write', audit: 'terminal_command.cancel' },
    schema: { tags: TAGS, summary: 'Cancel a pending command 撤销待处理指令', params: Type.Object({ id: Id, commandId: Id }), response: { 200: CommandView } },
  }, async (request) => {
    const actor = requireActor(request);
    requireStaff(actor);
    const terminal = await visibleTerminal(actor, request.params.id);
    request.auditTarget = request.params.commandId;
    return commands.cancel(terminal.id, request.params.commandId);
  });
};
