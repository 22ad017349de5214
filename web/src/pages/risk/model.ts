// The money module by its path rather than the '@xiaowei/money' alias, so node tests can import this model too.
import { parseYuan } from '../../../../server/src/platform/money';
import type { paths } from '../../api/schema';
import { fenToYuanText, type TxnType } from '../payments/model';

/*
 * Risk rules, their summary and the review queue as the staff API shows them (generated schema),
 * and the console's kind-specific form: typed values ↔ the kind's params (server risk-rules.ts).
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;

export type Rule = Reply<'/api/v1/risk/rules/{id}', 'get', 200>;
export type RuleVersion = NonNullable<Rule['versions']>[number];
export type RuleKind = Rule['kind'];
export type RuleMode = Rule['mode'];
export type RuleOutcome = Rule['outcome'];
export type RuleSummary = Reply<'/api/v1/risk/rules/{id}/summary', 'get', 200>;
export type Review = Reply<'/api/v1/risk/reviews', 'get', 200>['items'][number];
export type ReviewStatus = NonNullable<NonNullable<paths['/api/v1/risk/reviews']['get']['parameters']['query']>['status']>;

const keys = <K extends string>(record: Record<K, true>): K[] => Object.keys(record) as K[];

export const RULE_KINDS = keys<RuleKind>({
  allow_list: true,
  deny_list: true,
  amount_limit: true,
  daily_total: true,
  velocity: true,
  time_window: true,
  outside_area: true,
  amount_vs_normal: true,
});
export const RULE_MODES = keys<RuleMode>({ active: true, shadow: true, off: true });
export const REVIEW_STATUSES = keys<ReviewStatus>({ pending: true, approved: true, declined: true });
export const SCOPES = ['card', 'terminal', 'merchant', 'account'] as const;
export type Scope = (typeof SCOPES)[number];
export const ASSESSED_TYPES = ['sale', 'preauth', 'completion', 'qr_sale', 'transfer'] as const satisfies readonly TxnType[];

export const MODE_COLOUR: Record<RuleMode, string> = { active: 'green', shadow: 'blue', off: 'default' };

/** Outcomes a kind may have: lists are fixed, the others decline or send to review. */
export function outcomesOf(kind: RuleKind): RuleOutcome[] {
  if (kind === 'allow_list') return ['approve'];
  if (kind === 'deny_list') return ['decline'];
  return ['decline', 'review'];
}

/** Which form fields a kind has. */
export const KIND_FIELDS: Record<RuleKind, readonly string[]> = {
  allow_list: ['cards', 'terminals', 'merchants'],
  deny_list: ['cards', 'terminals', 'merchants'],
  amount_limit: ['types', 'scope', 'ids', 'max_amount'],
  daily_total: ['types', 'scope', 'ids', 'max_total'],
  velocity: ['types', 'scope', 'ids', 'max_count', 'window_minutes'],
  time_window: ['types', 'from', 'to', 'amount_above'],
  outside_area: ['types', 'radius_m', 'require_location'],
  amount_vs_normal: ['types', 'factor_pct', 'statistic', 'days', 'min_samples'],
};

/** What the form holds: text for ids and yuan, numbers for counts. */
export interface ParamValues {
  types?: TxnType[];
  scope?: Scope;
  ids?: string;
  cards?: string;
  terminals?: string;
  merchants?: string;
  max_amount?: string;
  max_total?: string;
  amount_above?: string;
  max_count?: number;
  window_minutes?: number;
  from?: string;
  to?: string;
  radius_m?: number;
  require_location?: boolean;
  factor_pct?: number;
  statistic?: 'median' | 'mean';
  days?: number;
  min_samples?: number;
}

const YUAN_FIELDS = ['max_amount', 'max_total', 'amount_above'] as const;
const LIST_FIELDS = ['ids', 'cards', 'terminals', 'merchants'] as const;
const NUMBER_FIELDS = ['max_count', 'window_minutes', 'radius_m', 'factor_pct', 'days', 'min_samples'] as const;

/** Ids typed one per line or separated by commas/spaces, without duplicates. */
export function splitIds(text: string | undefined): string[] {
  return [
    ...new Set(
      (text ?? '')
        .split(/[\s,，;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * The params object a kind's form stands for: only the kind's fields, yuan → fen exactly, empty
 * optional fields left out (the server refuses unknown fields). Returns the field in error, if any.
 */
export function buildParams(kind: RuleKind, v: ParamValues): { params: Record<string, unknown> } | { invalid: string } {
  const params: Record<string, unknown> = {};
  for (const field of KIND_FIELDS[kind]) {
    const value = v[field as keyof ParamValues];
    if ((YUAN_FIELDS as readonly string[]).includes(field)) {
      const text = typeof value === 'string' ? value.trim() : '';
      if (!text) {
        if (field === 'amount_above') continue;
        return { invalid: field };
      }
      const fen = parseYuan(text);
      if (fen === undefined) return { invalid: field };
      params[field] = fen;
    } else if ((LIST_FIELDS as readonly string[]).includes(field)) {
      const ids = splitIds(value as string | undefined);
      if (ids.length > 0) params[field] = ids;
    } else if ((NUMBER_FIELDS as readonly string[]).includes(field)) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return { invalid: field };
      params[field] = value;
    } else if (field === 'types') {
      if (Array.isArray(value) && value.length > 0) params.types = value;
    } else if (field === 'require_location') {
      if (value === true) params.require_location = true;
    } else {
      if (value === undefined || value === '') return { invalid: field };
      params[field] = value;
    }
  }
  if ((kind === 'allow_list' || kind === 'deny_list') && Object.keys(params).length === 0) return { invalid: 'cards' };
  return { params };
}

/** The form values of existing params (to start a new version from the current one). */
export function paramsToValues(params: unknown): ParamValues {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  const v: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(p)) {
    if ((YUAN_FIELDS as readonly string[]).includes(k) && typeof value === 'number') v[k] = fenToYuanText(value);
    else if ((LIST_FIELDS as readonly string[]).includes(k) && Array.isArray(value)) v[k] = value.join('\n');
    else v[k] = value;
  }
  return v;
}
