import { Type } from '@sinclair/typebox';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { RULE_KINDS, RULE_MODES } from './risk-rules.js';

/** TypeBox schemas of the risk API (staff: snake_case, µs). Bodies are strict. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const IdParams = Type.Object({ id: Id });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const Kind = StringEnum(RULE_KINDS, {
  description:
    'allow_list 白名单, deny_list 黑名单, amount_limit 单笔限额, daily_total 日累计限额, velocity 频次, time_window 时段, outside_area 位置异常, amount_vs_normal 金额异常',
});
const Mode = StringEnum(RULE_MODES, { description: 'active 生效, shadow 影子（只记录不拦截）, off 停用' });
const Outcome = StringEnum(['decline', 'review', 'approve'] as const, {
  description: 'decline 拒绝, review 挂起待审核; allow lists approve 白名单为放行',
});
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Note = Type.String({ maxLength: 500 });
const Params = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'Per kind (checked strictly): allow_list/deny_list {cards?, terminals?, merchants?}; amount_limit {scope, ids?, max_amount, types?}; ' +
      'daily_total {scope, ids?, max_total, types?}; velocity {scope, ids?, max_count, window_minutes, types?}; ' +
      'time_window {from, to, amount_above?, types?}; outside_area {radius_m, require_location?, types?}; ' +
      'amount_vs_normal {factor_pct, statistic, days, min_samples, types?}. scope = card | terminal | merchant | account (the payer’s account). 参数按类型校验。',
  },
);

const VersionView = Type.Object({
  version: Type.Integer(),
  name: Type.String(),
  outcome: Outcome,
  params: Type.Unknown(),
  note: Type.Union([Type.String(), Type.Null()]),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Micros,
});

export const RuleView = Type.Object({
  id: Type.String(),
  org_id: Type.String(),
  kind: Kind,
  mode: Mode,
  version: Type.Integer(),
  name: Type.String(),
  outcome: Outcome,
  params: Type.Unknown(),
  note: Type.Union([Type.String(), Type.Null()]),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Micros,
  updated_at: Micros,
  versions: Type.Optional(Type.Array(VersionView, { description: 'Every version, newest first 全部版本' })),
});

export const RuleList = Type.Object({ items: Type.Array(RuleView) });

export const RuleQuery = Type.Object(
  { kind: Type.Optional(Kind), mode: Type.Optional(Mode), org_id: Type.Optional(Id) },
  { additionalProperties: false },
);

export const NewRuleBody = Type.Object(
  {
    org_id: Type.Optional(Id),
    name: Name,
    kind: Kind,
    mode: Type.Optional(Mode),
    outcome: Type.Optional(Outcome),
    params: Params,
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);

export const NewVersionBody = Type.Object(
  { name: Type.Optional(Name), outcome: Type.Optional(Outcome), params: Params, note: Type.Optional(Note) },
  { additionalProperties: false },
);

export const ModeBody = Type.Object({ mode: Mode }, { additionalProperties: false });

export const SummaryQuery = Type.Object({ from: Type.Optional(Micros), to: Type.Optional(Micros) }, { additionalProperties: false });

export const RuleSummary = Type.Object({
  rule_id: Type.String(),
  mode: Mode,
  version: Type.Integer(),
  would_decline: Type.Integer({ description: 'Shadow hits that would have declined 影子模式下会拒绝的笔数' }),
  would_review: Type.Integer({ description: 'Shadow hits that would have held for review 影子模式下会挂起的笔数' }),
  would_approve: Type.Integer(),
  declined: Type.Integer(),
  reviewed: Type.Integer(),
  approved: Type.Integer(),
  items: Type.Array(Type.Object({ version: Type.Integer(), shadow: Type.Boolean(), outcome: Outcome, count: Type.Integer() })),
});

const Hit = Type.Object({
  rule_id: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  outcome: Type.Optional(Outcome),
  shadow: Type.Boolean(),
  reason: Type.Object({ zh: Type.String(), en: Type.String() }),
});

export const DecisionQuery = Type.Object(
  {
    rule_id: Type.Optional(Id),
    before: Type.Optional(Micros),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

export const DecisionList = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      at: Micros,
      org_id: Type.String(),
      type: Type.String(),
      amount: Type.Integer(),
      merchant_party_id: Type.Union([Type.String(), Type.Null()]),
      terminal_id: Type.Union([Type.String(), Type.Null()]),
      card_id: Type.Union([Type.String(), Type.Null()]),
      outcome: Type.String(),
      code: Type.String(),
      hits: Type.Array(Hit),
      allowed_by: Type.Array(Hit),
    }),
  ),
  next_before: Type.Union([Micros, Type.Null()]),
});

export const ReviewQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(['pending', 'approved', 'declined'] as const, { description: 'Default pending 默认待审核' })),
    before: Type.Optional(Micros),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

export const ReviewView = Type.Object({
  id: Type.String({ description: 'The transaction id 交易编号' }),
  type: Type.String(),
  status: Type.String(),
  response_code: Type.String(),
  amount: Type.Integer(),
  fee: Type.Integer(),
  org_id: Type.String(),
  merchant_party_id: Type.Union([Type.String(), Type.Null()]),
  terminal_id: Type.Union([Type.String(), Type.Null()]),
  card_last4: Type.Union([Type.String(), Type.Null()]),
  account_id: Type.Union([Type.String(), Type.Null()], { description: 'The payer’s account (held funds) 付款账户' }),
  counter_account_id: Type.Union([Type.String(), Type.Null()], { description: 'A transfer’s payee account 转入账户' }),
  created_at: Micros,
  risk: Type.Union([Type.Object({ outcome: Type.String(), code: Type.String(), hits: Type.Array(Hit) }), Type.Null()]),
  review: Type.Union([
    Type.Object({
      decision: StringEnum(['approve', 'decline'] as const),
      note: Type.String(),
      actor_id: Type.String(),
      actor_name: Type.String(),
      status_after: Type.String(),
      decided_at: Micros,
    }),
    Type.Null(),
  ]),
});

export const ReviewList = Type.Object({ items: Type.Array(ReviewView), next_before: Type.Union([Micros, Type.Null()]) });

export const DecisionBody = Type.Object(
  { decision: StringEnum(['approve', 'decline'] as const), note: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
