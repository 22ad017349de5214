import { Type } from '@sinclair/typebox';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { ACTIVATION_CODE_TTL_S } from './activation-codes.js';
import { TERMINAL_KINDS, TERMINAL_STATUSES } from './contracts.js';
import { MAINTENANCE_WINDOW_PATTERN } from './fleet-window.js';
import { LAT_E6_MAX, LNG_E6_MAX, MAX_TAGS, MODEL_MAX, SERIAL_PATTERN, TAG_PATTERN } from './fleet.js';
import { MEMBERS_PER_REQUEST } from './fleet-groups.js';
import { EffectiveParamsSchema, TerminalParamsSchema } from './params.js';

/** TypeBox schemas of the fleet's HTTP API (bodies are strict: unknown fields are refused). */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const IdParams = Type.Object({ id: Id });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const NullableMicros = Type.Union([Micros, Type.Null()]);

const Serial = Type.String({ pattern: SERIAL_PATTERN, description: 'Serial number 序列号 (stored upper-case)' });
const Model = Type.String({ minLength: 1, maxLength: MODEL_MAX, description: 'Model 型号' });
const Kind = StringEnum(TERMINAL_KINDS, { description: 'smart_pos 智能POS, tablet 平板, phone 手机, pos 传统POS（ISO 8583）' });
const Status = StringEnum(TERMINAL_STATUSES, { description: 'registered 已登记, active 已激活, locked 已锁定, retired 已报废' });
const RegionCode = Type.String({ pattern: '^[0-9]{4,12}$', description: 'Administrative division code 行政区划代码' });
const LatE6 = Type.Integer({
  minimum: -LAT_E6_MAX,
  maximum: LAT_E6_MAX,
  description: 'Latitude in millionths of a degree 纬度（百万分之一度）',
});
const LngE6 = Type.Integer({
  minimum: -LNG_E6_MAX,
  maximum: LNG_E6_MAX,
  description: 'Longitude in millionths of a degree 经度（百万分之一度）',
});
const Tag = Type.String({ pattern: TAG_PATTERN, minLength: 1, maxLength: 32 });
const Tags = Type.Array(Tag, { maxItems: MAX_TAGS, description: 'Tags 标签' });
const Reason = Type.String({ minLength: 1, maxLength: 200, description: 'Shown on the device and kept with the command 原因' });

export const TerminalView = Type.Object({
  id: Type.String(),
  serial: Type.String(),
  model: Type.String(),
  kind: Kind,
  status: Status,
  owner_party_id: Type.String(),
  org_id: Type.String(),
  region_code: Type.Union([Type.String(), Type.Null()]),
  lat_e6: Type.Union([Type.Integer(), Type.Null()]),
  lng_e6: Type.Union([Type.Integer(), Type.Null()]),
  tags: Type.Array(Type.String()),
  device_bound: Type.Boolean(),
  activated_at: NullableMicros,
  last_seen_at: NullableMicros,
  online: Type.Boolean({ description: 'Seen within 3 heartbeat intervals 在线（3 个心跳周期内有心跳）' }),
  heartbeat_interval_s: Type.Integer(),
  created_at: Micros,
});

export const HeartbeatView = Type.Object({
  ts: Micros,
  app_versions: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  network: Type.Union([Type.String(), Type.Null()]),
  signal_dbm: Type.Union([Type.Integer(), Type.Null()]),
  battery: Type.Union([Type.Integer(), Type.Null()], { description: 'Percent 电量（%）' }),
  charging: Type.Union([Type.Boolean(), Type.Null()]),
  lat_e6: Type.Union([Type.Integer(), Type.Null()]),
  lng_e6: Type.Union([Type.Integer(), Type.Null()]),
});

export const TerminalDetail = Type.Composite([
  TerminalView,
  Type.Object({
    groups: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
    params: TerminalParamsSchema,
    last_heartbeat: Type.Union([HeartbeatView, Type.Null()]),
  }),
]);

export const NewTerminalBody = Type.Object(
  {
    serial: Serial,
    model: Model,
    kind: Kind,
    owner_party_id: Id,
    region_code: Type.Optional(Type.Union([RegionCode, Type.Null()])),
    lat_e6: Type.Optional(Type.Union([LatE6, Type.Null()])),
    lng_e6: Type.Optional(Type.Union([LngE6, Type.Null()])),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);

export const TerminalPatchBody = Type.Object(
  {
    serial: Type.Optional(Serial),
    model: Type.Optional(Model),
    kind: Type.Optional(Kind),
    owner_party_id: Type.Optional(Id),
    region_code: Type.Optional(Type.Union([RegionCode, Type.Null()])),
    lat_e6: Type.Optional(Type.Union([LatE6, Type.Null()])),
    lng_e6: Type.Optional(Type.Union([LngE6, Type.Null()])),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const TerminalQuery = Type.Object(
  {
    status: Type.Optional(Status),
    kind: Type.Optional(Kind),
    group_id: Type.Optional(Id),
    tag: Type.Optional(Tag),
    owner_party_id: Type.Optional(Id),
    region: Type.Optional(Type.String({ pattern: '^[0-9]{2,12}$', description: 'Division code; matches it and every division under it' })),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Part of a serial 序列号片段' })),
    online: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
  },
  { additionalProperties: false },
);

export const TerminalList = Type.Object({ items: Type.Array(TerminalView), total: Type.Integer() });

const Counts = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])));
export const FleetSummary = Type.Object({
  total: Type.Integer(),
  by_status: Counts(TERMINAL_STATUSES),
  by_kind: Counts(TERMINAL_KINDS),
  online: Type.Integer(),
  offline: Type.Integer({ description: 'Activated (active or locked) but not online 已激活但离线' }),
});

export const ImportBody = Type.Object(
  {
    csv: Type.String({ minLength: 1, maxLength: 4_000_000, description: 'The CSV file as text (UTF-8), header first' }),
    dry_run: Type.Optional(Type.Boolean({ default: false, description: 'Check only, write nothing 仅校验' })),
  },
  { additionalProperties: false },
);

const Messages = Type.Object({ 'zh-CN': Type.String(), en: Type.String() });
export const ImportReport = Type.Object({
  dry_run: Type.Boolean(),
  rows: Type.Integer(),
  valid: Type.Integer(),
  created: Type.Integer(),
  items: Type.Array(Type.Object({ row: Type.Integer(), id: Type.String(), serial: Type.String() })),
  errors: Type.Array(
    Type.Object({ row: Type.Integer(), field: Type.String(), code: Type.String(), message: Type.String(), messages: Messages }),
  ),
  errors_omitted: Type.Integer(),
});

export const ReasonBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

export const StatusReply = Type.Object({
  terminal: TerminalView,
  command_id: Type.Union([Type.String(), Type.Null()], { description: 'The command sent to the device; null when no device is bound yet' }),
});

export const ParamsReply = Type.Object({
  params: TerminalParamsSchema,
  effective: EffectiveParamsSchema,
  changed_terminals: Type.Integer(),
});

export const EffectiveParamsReply = Type.Object({
  effective: EffectiveParamsSchema,
  own: TerminalParamsSchema,
  sources: Type.Record(Type.String(), Type.String(), { description: "Per parameter: 'default', 'terminal' or 'group:<id>'" }),
});

export const IssueCodeBody = Type.Object(
  {
    expires_in_s: Type.Optional(
      Type.Integer({
        minimum: ACTIVATION_CODE_TTL_S.min,
        maximum: ACTIVATION_CODE_TTL_S.max,
        description: `Seconds until the code expires (default ${ACTIVATION_CODE_TTL_S.default}) 有效期（秒）`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const IssuedCode = Type.Object({
  id: Type.String(),
  terminal_id: Type.String(),
  code: Type.String({ description: 'Shown this once; never stored in clear 激活码（仅显示一次）' }),
  code_display: Type.String({ description: 'The code as XXXX-XXXX' }),
  created_at: Micros,
  expires_at: Micros,
});

export const CodeList = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      terminal_id: Type.String(),
      created_by: Type.String(),
      created_at: Micros,
      expires_at: Micros,
      used_at: NullableMicros,
      revoked_at: NullableMicros,
      state: StringEnum(['unused', 'used', 'expired', 'revoked'] as const),
    }),
  ),
});

export const HeartbeatQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, default: 100 })),
    before: Type.Optional(Type.Integer({ minimum: 0, description: 'Only heartbeats older than this (µs), for paging' })),
  },
  { additionalProperties: false },
);

export const HeartbeatList = Type.Object({ items: Type.Array(HeartbeatView) });

const GroupName = Type.String({ minLength: 1, maxLength: 64 });
const Window = Type.String({
  pattern: MAINTENANCE_WINDOW_PATTERN,
  description: "'HH:MM-HH:MM', Asia/Shanghai; may cross midnight 维护窗口（北京时间）",
});

export const GroupView = Type.Object({
  id: Type.String(),
  org_id: Type.String(),
  name: Type.String(),
  params: TerminalParamsSchema,
  maintenance_window: Type.Union([Type.String(), Type.Null()]),
  member_count: Type.Integer(),
  created_at: Micros,
});

export const NewGroupBody = Type.Object(
  {
    org_id: Id,
    name: GroupName,
    params: Type.Optional(TerminalParamsSchema),
    maintenance_window: Type.Optional(Type.Union([Window, Type.Null()])),
  },
  { additionalProperties: false },
);

export const GroupPatchBody = Type.Object(
  { name: Type.Optional(GroupName), maintenance_window: Type.Optional(Type.Union([Window, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
);

export const GroupQuery = Type.Object(
  {
    org_id: Type.Optional(Id),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
  },
  { additionalProperties: false },
);

export const GroupList = Type.Object({ items: Type.Array(GroupView), total: Type.Integer() });

export const MembersBody = Type.Object(
  {
    terminal_ids: Type.Optional(Type.Array(Id, { maxItems: MEMBERS_PER_REQUEST })),
    serials: Type.Optional(Type.Array(Serial, { maxItems: MEMBERS_PER_REQUEST })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MembersReply = Type.Object({
  added: Type.Optional(Type.Integer()),
  removed: Type.Optional(Type.Integer()),
  changed_terminals: Type.Integer({ description: 'Terminals whose effective parameters changed 有效参数发生变化的终端数' }),
});

export const GroupParamsReply = Type.Object({ group: GroupView, changed_terminals: Type.Integer() });

/** A whole own parameter set (terminal or group): only allow-listed names, each in range. */
export const ParamsBody = TerminalParamsSchema;
