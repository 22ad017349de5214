import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { activate, type ActivationDeps } from './activation.js';
import type { Command, CommandStore } from './commands.js';
import { MAX_FETCH } from './commands.js';
import { COMMAND_KINDS } from './contracts.js';
import { NETWORKS, type HeartbeatIngest } from './heartbeat.js';
import { OPERATOR_NO_PATTERN, OPERATOR_ROLES, operatorSignOff, operatorSignOn } from './operators.js';
import { effectiveParams, EffectiveParamsSchema, PARAM_DEFAULTS } from './params.js';
import type { ProtocolTables } from './protocol-migration.js';
import type { PushHub } from './push.js';
import { signOff, signOn, type SignOnDeps } from './sign-on.js';
import { requireTerminal } from './terminal-auth.js';
import { normaliseSerial } from './fleet.js';

export interface ProtocolRouteDeps {
  db: Kysely<ProtocolTables>;
  activation: ActivationDeps;
  signOn: SignOnDeps;
  commands: CommandStore;
  heartbeats: HeartbeatIngest;
  push: PushHub;
  /** Resolves once the wake poller is ready to follow the queue (before the first stream attaches). */
  pushReady: () => Promise<void>;
  /** µs since the epoch. */
  now: () => number;
}

const TAGS = ['terminal protocol'];
const B64 = (bytes: number, description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: Math.ceil((bytes * 4) / 3), maxLength: Math.ceil((bytes * 4) / 3), description });
const Ms = Type.Integer({ minimum: 0, description: 'Milliseconds since the Unix epoch' });
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });
const SEMVER = '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$';
const APP_CODE = '^[a-z0-9][a-z0-9._-]{0,63}$';
const JsonObject = Type.Record(Type.String(), Type.Unknown());

const ActivateBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 32, description: 'One-time activation code 激活码 (hyphens and case forgiven)' }),
    serial: Type.String({ minLength: 1, maxLength: 64, description: 'The device serial 终端序列号' }),
    publicKey: B64(32, 'Device Ed25519 public key, raw, base64url 设备公钥'),
  },
  { additionalProperties: false },
);

const ActivateReply = Type.Object({
  terminalId: Type.String(),
  serial: Type.String(),
  merchant: Type.Object({ id: Type.String(), name: Type.String() }),
  org: Type.Object({ id: Type.String(), name: Type.String(), nameEn: Type.Union([Type.String(), Type.Null()]) }),
  platformSigningKey: Type.String({ description: 'Platform Ed25519 public key (raw, base64url): verifies app bundles 平台签名公钥' }),
  serverTime: Ms,
});

const SignOnBody = Type.Object(
  {
    terminalId: Id,
    timestamp: Ms,
    ephemeralPublicKey: B64(32, 'Fresh X25519 public key, raw, base64url 临时公钥'),
    signature: B64(64, 'Ed25519 signature by the device key over the sign-on string 设备签名'),
  },
  { additionalProperties: false },
);

const SignOnReply = Type.Object({
  sessionId: Type.String(),
  batchNo: Type.String({ description: 'Batch number opened by this sign-on, six digits 批次号' }),
  expiresAt: Ms,
  serverTime: Ms,
  heartbeatIntervalS: Type.Integer(),
  pollIntervalS: Type.Integer(),
  params: EffectiveParamsSchema,
  keys: Type.Object({
    serverPublicKey: Type.String(),
    salt: Type.String(),
    iv: Type.String(),
    ciphertext: Type.String(),
    kcv: Type.Object({ pin: Type.String(), mac: Type.String(), data: Type.String() }),
  }),
});

const HeartbeatBody = Type.Object(
  {
    appVersions: Type.Record(Type.String({ pattern: APP_CODE }), Type.String({ pattern: SEMVER, maxLength: 64 }), { maxProperties: 64, description: 'App code → installed version 应用版本' }),
    network: StringEnum(NETWORKS),
    signal: Type.Optional(Type.Integer({ minimum: -150, maximum: 0, description: 'Signal strength, dBm 信号强度' })),
    battery: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Battery % 电量' })),
    charging: Type.Optional(Type.Boolean()),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lng: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
  },
  { additionalProperties: false },
);

const HeartbeatReply = Type.Object({ serverTime: Ms, heartbeatIntervalS: Type.Integer(), pollIntervalS: Type.Integer(), pendingCommands: Type.Integer() });

const TerminalCommand = Type.Object({
  id: Type.String(),
  kind: StringEnum(COMMAND_KINDS),
  payload: JsonObject,
  createdAt: Ms,
  notBefore: Type.Union([Ms, Type.Null()]),
  expiresAt: Ms,
});

const AckReply = Type.Object({ id: Type.String(), status: Type.String(), ackedAt: Type.Union([Ms, Type.Null()]) });

const OperatorSignOnBody = Type.Object(
  {
    operatorNo: Type.String({ pattern: OPERATOR_NO_PATTERN, description: 'Operator number 操作员号 01–99' }),
    password: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

const OperatorSignOnReply = Type.Object({
  operatorToken: Type.String({ description: 'Send as X-Terminal-Operator 操作员令牌' }),
  operator: Type.Object({ operatorNo: Type.String(), name: Type.String(), role: StringEnum(OPERATOR_ROLES) }),
});

const ms = (us: number): number => Math.floor(us / 1000);

function terminalCommand(c: Command) {
  return { id: c.id, kind: c.kind, payload: c.payload, createdAt: ms(c.created_at), notBefore: c.not_before === null ? null : ms(c.not_before), expiresAt: ms(c.expires_at) };
}

const Ok = Type.Object({ ok: Type.Boolean() });

/**
 * The terminal-facing API (`/api/v1/terminal/...`): activation and sign-on are open (they carry
 * their own proofs); everything else needs a session MAC (`config.terminalAuth`). Terminal-facing
 * times are milliseconds; see docs/terminal-protocol.md.
 */
export const protocolRoutes: FastifyPluginAsyncTypebox<ProtocolRouteDeps> = async (app, deps) => {
  const { db, commands, now } = deps;
  const mac = { terminalAuth: true };

  app.post('/terminal/activate', {
    schema: { tags: TAGS, summary: 'Activate a terminal 终端激活', body: ActivateBody, response: { 200: ActivateReply } },
  }, async (request) => {
    const result = await activate(deps.activation, { ...request.body, serial: normaliseSerial(request.body.serial) }, request.ip);
    const { activatedAt: _at, ...rest } = result;
    return { ...rest, serverTime: ms(now()) };
  });

  app.post('/terminal/sign-on', {
    schema: { tags: TAGS, summary: 'Sign on 终端签到', body: SignOnBody, response: { 200: SignOnReply } },
  }, async (request) => {
    const result = await signOn(deps.signOn, request.body);
    const params = result.params ?? (await effectiveParams(db, request.body.terminalId)) ?? PARAM_DEFAULTS;
    return {
      sessionId: result.sessionId,
      batchNo: result.batchNo,
      expiresAt: ms(result.expiresAt),
      serverTime: ms(now()),
      heartbeatIntervalS: params.heartbeat_interval_s,
      pollIntervalS: params.poll_interval_s,
      params,
      keys: result.keys,
    };
  });

  app.post('/terminal/sign-off', {
    config: mac,
    schema: { tags: TAGS, summary: 'Sign off 终端签退', response: { 200: Ok } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    await signOff(db, terminal.session_id, now());
    deps.push.detach(terminal.terminal_id);
    return { ok: true };
  });

  app.get('/terminal/echo', {
    config: mac,
    schema: { tags: TAGS, summary: 'Echo test 回响测试', response: { 200: Type.Object({ serverTime: Ms, terminalId: Type.String(), operatorNo: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    return { serverTime: ms(now()), terminalId: terminal.terminal_id, operatorNo: terminal.operator?.operator_no ?? null };
  });

  app.post('/terminal/heartbeat', {
    // The hottest terminal route: its write joins the sequence check's commit (one fsync, not two).
    config: { terminalAuth: 'deferred-seq' },
    schema: { tags: TAGS, summary: 'Heartbeat 心跳', body: HeartbeatBody, response: { 200: HeartbeatReply } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    const answer = await deps.heartbeats.record({ terminalId: terminal.terminal_id, ...request.body }, request.terminalSeq?.ticket);
    // Refused (replayed, or signed off meanwhile): nothing was stored; answer the refusal.
    await request.terminalSeq?.done;
    return answer;
  });

  app.get('/terminal/commands', {
    config: mac,
    schema: {
      tags: TAGS,
      summary: 'Pending commands 待处理指令',
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FETCH })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(TerminalCommand) }) },
    },
  }, async (request) => {
    const terminal = requireTerminal(request);
    return { items: (await commands.deliverable(terminal.terminal_id, request.query.limit)).map(terminalCommand) };
  });

  app.post('/terminal/commands/:id/ack', {
    config: mac,
    schema: {
      tags: TAGS,
      summary: 'Acknowledge a command 指令确认',
      params: Type.Object({ id: Id }),
      body: Type.Object({ result: Type.Optional(JsonObject) }, { additionalProperties: false }),
      response: { 200: AckReply },
    },
  }, async (request) => {
    const terminal = requireTerminal(request);
    const command = await commands.ack(terminal.terminal_id, request.params.id, request.body.result ?? null);
    return { id: command.id, status: command.status, ackedAt: command.acked_at === null ? null : ms(command.acked_at) };
  });

  app.get('/terminal/push', {
    config: mac,
    // One long response per terminal: per-request log lines would cost more than the connection.
    logLevel: 'warn',
    schema: { tags: TAGS, summary: 'Push stream (Server-Sent Events) 推送通道', description: 'Answers text/event-stream: `event: wake` when commands wait; a comment every 25 s.' },
  }, async (request, reply) => {
    const terminal = requireTerminal(request);
    await deps.pushReady();
    void reply.hijack();
    deps.push.attach(terminal.terminal_id, reply.raw);
  });

  app.post('/terminal/operator/sign-on', {
    config: mac,
    schema: { tags: TAGS, summary: 'Operator sign-on 操作员签到', body: OperatorSignOnBody, response: { 200: OperatorSignOnReply } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    return operatorSignOn(db, terminal, request.body.operatorNo, request.body.password, now());
  });

  app.post('/terminal/operator/sign-off', {
    config: mac,
    schema: { tags: TAGS, summary: 'Operator sign-off 操作员签退', response: { 200: Ok } },
  }, async (request) => {
    await operatorSignOff(db, requireTerminal(request), now());
    return { ok: true };
  });

  app.addHook('preClose', async () => deps.push.closeAll());
};
