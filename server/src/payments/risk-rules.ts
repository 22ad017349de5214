/**
 * The risk rule kinds: their parameters (TypeBox, checked per kind), the response code of a
 * decline, and the reasons (zh-CN and en, with the numbers that decided). Pure: the engine in
 * risk.ts gathers the facts (counts, sums, distances, the merchant's normal amount) and asks here.
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ResponseCode, TxnType } from './contracts.js';

export const RULE_KINDS = [
  'allow_list',
  'deny_list',
  'amount_limit',
  'daily_total',
  'velocity',
  'time_window',
  'outside_area',
  'amount_vs_normal',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const RULE_MODES = ['active', 'shadow', 'off'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

export type RuleOutcome = 'decline' | 'review' | 'approve';

/** Types of transaction that move money towards a merchant or away from a customer: the ones rules judge. */
export const ASSESSED_TYPES = ['sale', 'preauth', 'completion', 'qr_sale', 'transfer'] as const satisfies readonly TxnType[];
/** A string enum TypeBox can check with Value (StringEnum's Unsafe type is for route schemas only). */
const Enum = <const T extends readonly string[]>(values: T, options: { description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnsafe<T[number]>;
const AssessedType = Enum(ASSESSED_TYPES);

/** `account`: the payer's deposit account (a card's, a QR payment's, a transfer's); the only scope a transfer has. */
export const SCOPES = ['card', 'terminal', 'merchant', 'account'] as const;
export type Scope = (typeof SCOPES)[number];

const Fen = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Fen 分' });
const Ids = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }), { maxItems: 1000, uniqueItems: true });
const common = {
  types: Type.Optional(
    Type.Array(AssessedType, {
      minItems: 1,
      uniqueItems: true,
      description: 'Transaction types the rule judges (default: sale, preauth, completion, qr_sale, transfer) 适用交易类型',
    }),
  ),
};
const scoped = {
  scope: Enum(SCOPES, { description: 'Counted per card, terminal, merchant or payer account 统计维度' }),
  ids: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }), {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
      description: 'Only these cards/terminals/merchants/accounts (ids); absent = all 仅限这些对象',
    }),
  ),
};
const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, Beijing time 北京时间' });

/** The parameters of each kind (strict: unknown fields are refused). */
export const PARAMS = {
  allow_list: Type.Object(
    { cards: Type.Optional(Ids), terminals: Type.Optional(Ids), merchants: Type.Optional(Ids) },
    { additionalProperties: false, minProperties: 1, description: 'Card ids or tokens, terminal ids, merchant party ids' },
  ),
  deny_list: Type.Object(
    { cards: Type.Optional(Ids), terminals: Type.Optional(Ids), merchants: Type.Optional(Ids) },
    { additionalProperties: false, minProperties: 1 },
  ),
  amount_limit: Type.Object({ ...common, ...scoped, max_amount: Fen }, { additionalProperties: false }),
  daily_total: Type.Object({ ...common, ...scoped, max_total: Fen }, { additionalProperties: false }),
  velocity: Type.Object(
    {
      ...common,
      ...scoped,
      max_count: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      window_minutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
    },
    { additionalProperties: false },
  ),
  time_window: Type.Object(
    {
      ...common,
      from: HHMM,
      to: HHMM,
      amount_above: Type.Optional(
        Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Only amounts above this 仅高于此金额' }),
      ),
    },
    { additionalProperties: false },
  ),
  outside_area: Type.Object(
    {
      ...common,
      radius_m: Type.Integer({ minimum: 10, maximum: 20_000_000, description: 'Metres from the registered place 距登记位置（米）' }),
      require_location: Type.Optional(Type.Boolean({ description: 'A request without coordinates hits 未上报位置即命中' })),
    },
    { additionalProperties: false },
  ),
  amount_vs_normal: Type.Object(
    {
      ...common,
      factor_pct: Type.Integer({ minimum: 100, maximum: 100_000, description: 'Per cent of the normal amount (500 = 5×) 倍数（百分比）' }),
      statistic: Enum(['median', 'mean'] as const),
      days: Type.Integer({ minimum: 1, maximum: 365 }),
      min_samples: Type.Integer({ minimum: 1, maximum: 100_000 }),
    },
    { additionalProperties: false },
  ),
} as const satisfies Record<RuleKind, TSchema>;

export type RuleParams = { [K in RuleKind]: Static<(typeof PARAMS)[K]> };

/** Checks a kind's parameters; answers the first problem (path and message) or null. */
export function paramsProblem(kind: RuleKind, params: unknown): string | null {
  const schema = PARAMS[kind];
  if (Value.Check(schema, params)) {
    if (kind === 'time_window') {
      const p = params as RuleParams['time_window'];
      if (p.from === p.to) return '/to: must differ from from';
    }
    return null;
  }
  const first = Value.Errors(schema, params).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'invalid';
}

/** What outcomes a kind may have: lists are fixed, the others decline or send to review. */
export function outcomeProblem(kind: RuleKind, outcome: RuleOutcome): string | null {
  if (kind === 'allow_list') return outcome === 'approve' ? null : 'an allow list approves';
  if (kind === 'deny_list') return outcome === 'decline' ? null : 'a deny list declines';
  return outcome === 'approve' ? 'outcome must be decline or review' : null;
}

export function defaultOutcome(kind: RuleKind): RuleOutcome {
  return kind === 'allow_list' ? 'approve' : 'decline';
}

/** The response code of a decline by a rule of this kind: 61 amount limits, 65 frequency, 59 the rest. */
export function declineCode(kind: RuleKind): ResponseCode {
  if (kind === 'amount_limit' || kind === 'daily_total') return '61';
  if (kind === 'velocity') return '65';
  return '59';
}

/** The order in which rules are evaluated and the first decline's code is chosen. */
export const KIND_ORDER: Record<RuleKind, number> = Object.fromEntries(RULE_KINDS.map((k, i) => [k, i])) as Record<RuleKind, number>;

export const yuan = (fen: number): string => `${Math.trunc(fen / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

const SCOPE_TEXT: Record<Scope, { zh: string; en: string }> = {
  card: { zh: '卡', en: 'card' },
  terminal: { zh: '终端', en: 'terminal' },
  merchant: { zh: '商户', en: 'merchant' },
  account: { zh: '付款账户', en: 'payer account' },
};

export type Reason = { zh: string; en: string };

export const reasons = {
  allow: (list: string): Reason => ({ zh: `白名单：${list}在名单中`, en: `allow list: ${list} listed` }),
  deny: (list: string): Reason => ({ zh: `黑名单：${list}在名单中`, en: `deny list: ${list} listed` }),
  amount: (scope: Scope, amount: number, max: number): Reason => ({
    zh: `单笔限额（${SCOPE_TEXT[scope].zh}）：${yuan(amount)} 元 > ${yuan(max)} 元`,
    en: `amount limit (${SCOPE_TEXT[scope].en}): ${yuan(amount)} > ${yuan(max)} yuan`,
  }),
  daily: (scope: Scope, total: number, max: number): Reason => ({
    zh: `日累计限额（${SCOPE_TEXT[scope].zh}）：含本笔 ${yuan(total)} 元 > ${yuan(max)} 元`,
    en: `daily total (${SCOPE_TEXT[scope].en}): ${yuan(total)} with this one > ${yuan(max)} yuan`,
  }),
  velocity: (scope: Scope, count: number, minutes: number, max: number): Reason => ({
    zh: `频次（${SCOPE_TEXT[scope].zh}）：${minutes} 分钟内 ${count} 笔 > ${max} 笔`,
    en: `velocity (${SCOPE_TEXT[scope].en}): ${count} in ${minutes} min > ${max}`,
  }),
  time: (from: string, to: string, local: string, above: number | undefined): Reason => ({
    zh: `时段限制：北京时间 ${local} 在 ${from}–${to} 内${above === undefined ? '' : `且金额高于 ${yuan(above)} 元`}`,
    en: `time window: ${local} Beijing time is within ${from}–${to}${above === undefined ? '' : ` and the amount is above ${yuan(above)} yuan`}`,
  }),
  area: (distanceM: number, radiusM: number): Reason => ({
    zh: `位置异常：距终端登记位置 ${(distanceM / 1000).toFixed(1)} 公里 > ${(radiusM / 1000).toFixed(1)} 公里`,
    en: `outside area: ${(distanceM / 1000).toFixed(1)} km from the terminal’s registered place > ${(radiusM / 1000).toFixed(1)} km`,
  }),
  noLocation: (): Reason => ({ zh: '位置异常：终端未上报位置', en: 'outside area: the terminal sent no location' }),
  normal: (amount: number, normal: number, factorPct: number, statistic: string, samples: number, days: number): Reason => ({
    zh: `金额异常：${yuan(amount)} 元 > ${(factorPct / 100).toFixed(2)} × 近 ${days} 天${statistic === 'median' ? '中位数' : '平均值'} ${yuan(normal)} 元（${samples} 笔）`,
    en: `amount vs normal: ${yuan(amount)} > ${(factorPct / 100).toFixed(2)} × the ${days}-day ${statistic} ${yuan(normal)} yuan (${samples} transactions)`,
  }),
};

const BEIJING_OFFSET_US = 8 * 3_600_000_000;
const DAY_US = 86_400_000_000;

/** Minutes after Beijing midnight of a moment (µs). */
export function beijingMinutes(atUs: number): number {
  const local = (((atUs + BEIJING_OFFSET_US) % DAY_US) + DAY_US) % DAY_US;
  return Math.floor(local / 60_000_000);
}

export const hhmm = (minutes: number): string =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const minutesOf = (text: string): number => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));

/** Is the minute inside [from, to)? A window with from > to runs across midnight. */
export function inWindow(minute: number, from: string, to: string): boolean {
  const a = minutesOf(from);
  const b = minutesOf(to);
  return a < b ? minute >= a && minute < b : minute >= a || minute < b;
}

/** Great-circle distance in metres between two points given in millionths of a degree. */
export function distanceM(lat1e6: number, lng1e6: number, lat2e6: number, lng2e6: number): number {
  const rad = Math.PI / 180 / 1e6;
  const p1 = lat1e6 * rad;
  const p2 = lat2e6 * rad;
  const dp = (lat2e6 - lat1e6) * rad;
  const dl = (lng2e6 - lng1e6) * rad;
  const a = Math.sin(dp / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The [start, end) of a business date in µs (see contracts.ts#businessDate). */
export function businessDateRange(date: string, cutoffMinutes: number): [number, number] {
  const dayStartLocal = Date.parse(`${date}T00:00:00Z`) * 1000;
  const end = dayStartLocal + cutoffMinutes * 60_000_000 - BEIJING_OFFSET_US;
  return [end - DAY_US, end];
}

/** Median (lower middle for an even count) or mean (rounded down) of integer amounts. */
export function statistic(values: number[], kind: 'median' | 'mean'): number {
  if (values.length === 0) return 0;
  if (kind === 'mean') return Number(values.reduce((s, v) => s + BigInt(v), 0n) / BigInt(values.length));
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
