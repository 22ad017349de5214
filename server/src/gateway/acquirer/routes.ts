import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { XiaoweiError } from '../../platform/errors.js';
import { requireActor, type Actor } from '../../platform/http/actor.js';
import { StringEnum } from '../../platform/http/schema-helpers.js';
import type { GatewayDeps } from '../deps.js';
import { BDK_ALGORITHMS, BDK_COMPONENT_PATTERN, BDK_NAME_PATTERN, PIN_MODES, bdkView, importBdk, listBdks } from './dukpt.js';
import {
  COMPONENT_PATTERN,
  MID_PATTERN,
  TID_PATTERN,
  listPosTerminals,
  posTerminalView,
  registerPosTerminal,
  rekeyPosTerminal,
  setPinMode,
  visiblePosTerminal,
  type IssuedComponent,
  type PosTerminalView,
} from './registry.js';

const TAGS = ['gateway: POS terminals'];
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const Tid = Type.String({ pattern: TID_PATTERN, description: 'Terminal id, ISO 8583 field 41 (8 letters or digits) 终端号' });
const Mid = Type.String({ pattern: MID_PATTERN, description: 'Merchant number, field 42 (15 letters or digits) 商户号' });
const Components = Type.Array(Type.String({ pattern: COMPONENT_PATTERN }), {
  minItems: 2,
  maxItems: 3,
  description: 'Clear TMK components (TDES double length, 32 hex each), XORed together 终端主密钥分量（明文，按位异或合成）',
});

const PinModeEnum = StringEnum(PIN_MODES, {
  description: 'How PIN blocks are keyed PIN 加密方式: tpk 会话 PIN 密钥（格式 0）, dukpt-tdes TDES DUKPT（格式 0，KSN 在 62 域）, dukpt-aes AES DUKPT（格式 4，KSN 与 PIN 块在 62 域）',
});
const BdkName = Type.String({ pattern: BDK_NAME_PATTERN, description: 'Name of a base derivation key 基础派生密钥名称' });

const View = Type.Object({
  terminal_id: Type.String(),
  tid: Type.String(),
  mid: Type.String(),
  owner_party_id: Type.String(),
  org_id: Type.String(),
  tmk_kcv: Type.String({ description: 'Check value of the TMK 主密钥校验值' }),
  status: StringEnum(['active', 'disabled'] as const),
  pin_mode: PinModeEnum,
  bdk: Type.Union([Type.String(), Type.Null()], { description: 'The BDK of a DUKPT mode 所用基础派生密钥' }),
  session: Type.Union([Type.Object({ id: Type.String(), batch_no: Type.Integer(), signed_on_at: Micros }), Type.Null()]),
  created_at: Micros,
  updated_at: Micros,
});
const Keyed = Type.Composite([
  View,
  Type.Object({
    issued_components: Type.Optional(
      Type.Array(Type.Object({ component: Type.String(), kcv: Type.String() }), {
        description: 'Only when the host generated the TMK: its two clear components, answered this once 仅在系统生成主密钥时返回一次的两个明文分量',
      }),
    ),
  }),
]);

const NewBody = Type.Object(
  { terminal_id: Id, tid: Tid, mid: Type.Optional(Mid), tmk_components: Type.Optional(Components), pin_mode: Type.Optional(PinModeEnum), bdk: Type.Optional(BdkName) },
  { additionalProperties: false },
);
const PinModeBody = Type.Object({ pin_mode: PinModeEnum, bdk: Type.Optional(BdkName) }, { additionalProperties: false });
const BdkAlgorithmEnum = StringEnum(BDK_ALGORITHMS, {
  description: 'TDES2 for TDES DUKPT (X9.24-1), AES128 or AES256 for AES DUKPT (X9.24-3) TDES DUKPT 用 TDES2，AES DUKPT 用 AES128/AES256',
});
const BdkBody = Type.Object(
  {
    name: BdkName,
    algorithm: BdkAlgorithmEnum,
    components: Type.Array(Type.String({ pattern: BDK_COMPONENT_PATTERN }), {
      minItems: 2,
      maxItems: 3,
      description: 'Clear components from different custodians, XORed together (32 hex each; 64 for AES256) 密钥成分（明文，各 32 位十六进制，AES256 为 64 位）',
    }),
  },
  { additionalProperties: false },
);
const BdkViewSchema = Type.Object({
  name: Type.String(),
  algorithm: BdkAlgorithmEnum,
  scheme: StringEnum(['tdes', 'aes'] as const),
  kcv: Type.String({ description: 'Check value of the BDK 密钥校验值' }),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Micros,
  terminals: Type.Integer({ description: 'POS terminals using it 使用该密钥的终端数' }),
});
const BdkImported = Type.Composite([
  BdkViewSchema,
  Type.Object({ component_kcvs: Type.Array(Type.String(), { description: 'Check value of each component, in order 各成分校验值' }) }),
]);

const RekeyBody = Type.Object({ tmk_components: Type.Optional(Components) }, { additionalProperties: false });
const Query = Type.Object(
  {
    tid: Type.Optional(Tid),
    owner_party_id: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
  },
  { additionalProperties: false },
);

function requireStaff(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

const keyed = (out: { view: PosTerminalView; issued?: IssuedComponent[] }) => ({ ...out.view, ...(out.issued ? { issued_components: out.issued } : {}) });

/**
 * Staff API of conventional POS terminals (`/gateway/pos-terminals`): register a platform terminal
 * of kind 'pos' with its field 41/42 numbers, master key and PIN mode, list, read, re-key, set the
 * PIN mode; and the DUKPT base derivation keys (`/gateway/bdks`: key ceremony, list, read). Staff see their
 * organisation subtree; merchant-side users their own terminals (read only). Writes are audited;
 * clear components are answered once and never stored or logged.
 */
export const posRoutes: FastifyPluginAsyncTypebox<GatewayDeps> = async (app, deps) => {
  app.post(
    '/gateway/pos-terminals',
    {
      config: { permission: 'gateway:write', audit: 'pos_terminal.register' },
      schema: {
        tags: TAGS,
        summary: 'Register a conventional POS terminal and load its master key 登记传统POS并装载主密钥',
        description:
          'The platform terminal (kind pos) must belong to an enrolled merchant. Without tmk_components the host generates the TMK and answers its two clear components once, for the key-loading device. ' +
          '平台终端须为已签约商户的传统POS。不提供分量时由系统生成主密钥，并仅在本次应答中返回两个明文分量，供密钥注入设备使用。',
        body: NewBody,
        response: { 201: Keyed },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      request.auditTarget = request.body.terminal_id;
      const out = await registerPosTerminal(deps, actor, request.body);
      return reply.status(201).send(keyed(out));
    },
  );

  app.get(
    '/gateway/pos-terminals',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'Conventional POS terminals 传统POS终端', querystring: Query, response: { 200: Type.Object({ items: Type.Array(View), total: Type.Integer() }) } },
    },
    async (request) => listPosTerminals(deps, requireActor(request), request.query),
  );

  app.get(
    '/gateway/pos-terminals/:id',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'One conventional POS terminal 传统POS终端详情', params: Type.Object({ id: Id }), response: { 200: View } },
    },
    async (request) => posTerminalView(deps, await visiblePosTerminal(deps, requireActor(request), request.params.id)),
  );

  app.post(
    '/gateway/pos-terminals/:id/tmk',
    {
      config: { permission: 'gateway:write', audit: 'pos_terminal.rekey' },
      schema: {
        tags: TAGS,
        summary: 'Load a new master key 更换终端主密钥',
        description:
          'Ends the terminal’s session: it signs on again once the new key is loaded. Without tmk_components the host generates the key and answers its components once. ' +
          '终端当前签到失效，装载新主密钥后须重新签到。不提供分量时由系统生成，并仅返回一次明文分量。',
        params: Type.Object({ id: Id }),
        body: RekeyBody,
        response: { 200: Keyed },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return keyed(await rekeyPosTerminal(deps, actor, request.params.id, request.body.tmk_components));
    },
  );
  app.post(
    '/gateway/pos-terminals/:id/pin-mode',
    {
      config: { permission: 'gateway:write', audit: 'pos_terminal.pin_mode' },
      schema: {
        tags: TAGS,
        summary: 'Set how the terminal’s PIN blocks are keyed 设置终端 PIN 加密方式',
        description:
          'tpk: format 0 under the session TPK; dukpt-tdes / dukpt-aes: DUKPT under the named BDK (TDES2 / AES). A change ends the terminal’s session: it signs on again. ' +
          'tpk 为会话 PIN 密钥；dukpt-tdes / dukpt-aes 为指定 BDK 下的 DUKPT。变更后终端当前签到失效，须重新签到。',
        params: Type.Object({ id: Id }),
        body: PinModeBody,
        response: { 200: View },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      return setPinMode(deps, actor, request.params.id, request.body.pin_mode, request.body.bdk);
    },
  );

  app.post(
    '/gateway/bdks',
    {
      config: { permission: 'gateway:write', audit: 'pos_bdk.import' },
      schema: {
        tags: TAGS,
        summary: 'DUKPT base derivation key ceremony DUKPT 基础派生密钥（BDK）导入仪式',
        description:
          'Forms the BDK inside the crypto service from 2–3 clear components; they are never stored or logged. Answers the check values of the key and of each component. A name is permanent. ' +
          '由 2–3 个明文成分在密码服务内合成 BDK，成分不存储、不记录日志；返回密钥及各成分的校验值。名称不可重复使用。',
        body: BdkBody,
        response: { 201: BdkImported },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request);
      requireStaff(actor);
      request.auditTarget = request.body.name;
      const out = await importBdk(deps, actor, request.body);
      return reply.status(201).send({ ...out.view, component_kcvs: out.componentKcvs });
    },
  );

  app.get(
    '/gateway/bdks',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'DUKPT base derivation keys 基础派生密钥', response: { 200: Type.Object({ items: Type.Array(BdkViewSchema) }) } },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return { items: await listBdks(deps) };
    },
  );

  app.get(
    '/gateway/bdks/:name',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'One base derivation key 基础派生密钥详情', params: Type.Object({ name: BdkName }), response: { 200: BdkViewSchema } },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return bdkView(deps, request.params.name);
    },
  );
};
