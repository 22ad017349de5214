import type { paths } from '../../api/schema';

/*
 * Types of the payments staff API (snake_case, amounts in fen, times in microseconds), taken from
 * the generated OpenAPI schema so the compiler notices when a server part changes a field, and the
 * console's pure helpers for them.
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;
type Query<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

export type Txn = Reply<'/api/v1/payments/transactions', 'get', 200>['items'][number];
export type TxnPage = Reply<'/api/v1/payments/transactions', 'get', 200>;
export type TxnQuery = Query<'/api/v1/payments/transactions'>;
export type TxnDetail = Reply<'/api/v1/payments/transactions/{id}', 'get', 200>;
export type RiskHit = NonNullable<TxnDetail['risk']>['hits'][number];
export type TxnType = Txn['type'];
export type TxnStatus = Txn['status'];
export type FeePlan = Reply<'/api/v1/fee-plans', 'get', 200>['items'][number];
export type Merchant = Reply<'/api/v1/merchants/{party_id}', 'get', 200>;
export type MerchantQuery = Query<'/api/v1/merchants'>;
export type MerchantStatus = Merchant['status'];
export type SettlementCycle = Merchant['settlement_cycle'];
export type MerchantCategory = Reply<'/api/v1/merchant-categories', 'get', 200>['items'][number];
export type Card = Reply<'/api/v1/cards/{id}', 'get', 200>;
export type CardQuery = Query<'/api/v1/cards'>;
export type IssuedCard = Reply<'/api/v1/cards', 'post', 201>;
export type CardStatus = Card['status'];
export type Settlement = Reply<'/api/v1/settlements/{id}', 'get', 200>;
export type Statement = Reply<'/api/v1/settlements/{id}/statement', 'get', 200>;
export type StatementLine = Statement['lines'][number];
export type ReconException = Reply<'/api/v1/reconciliation/exceptions', 'get', 200>['items'][number];
export type ReconStatus = ReconException['status'];
export type ReconAction = NonNullable<ReconException['resolution']>;
export type ReconKind = ReconException['kind'];

const keys = <K extends string>(record: Record<K, true>): K[] => Object.keys(record) as K[];

export const TXN_TYPES = keys<TxnType>({
  balance: true,
  sale: true,
  void: true,
  refund: true,
  preauth: true,
  preauth_void: true,
  completion: true,
  completion_void: true,
  reversal: true,
  qr_sale: true,
  transfer: true,
});
export const TXN_STATUSES = keys<TxnStatus>({
  approved: true,
  declined: true,
  held: true,
  voided: true,
  reversed: true,
  expired: true,
  completed: true,
  refunded: true,
});
export const STATUS_COLOUR: Record<TxnStatus, string> = {
  approved: 'green',
  declined: 'red',
  held: 'orange',
  voided: 'default',
  reversed: 'default',
  expired: 'default',
  completed: 'blue',
  refunded: 'purple',
};
export const MERCHANT_STATUS_COLOUR: Record<MerchantStatus, string> = { active: 'green', suspended: 'orange', closed: 'red' };
export const SETTLEMENT_COLOUR: Record<Settlement['status'], string> = {
  open: 'default',
  pending: 'orange',
  settled: 'green',
  carried: 'purple',
};
export const SETTLEMENT_CYCLES = keys<SettlementCycle>({ T0: true, T1: true });
export const MERCHANT_STATUSES = keys<MerchantStatus>({ active: true, suspended: true, closed: true });
export const CARD_STATUSES = keys<CardStatus>({ active: true, blocked: true, lost: true, closed: true });
export const RECON_STATUSES = keys<ReconStatus>({ open: true, resolved: true });
export const RECON_ACTIONS = keys<ReconAction>({ accept_host: true, reverse_host: true, write_off: true, note: true });

/** Status changes a card allows (server cards.ts): active ↔ blocked, → lost, → closed; lost and closed do not come back. */
export const CARD_ACTIONS: Record<CardStatus, CardStatus[]> = {
  active: ['blocked', 'lost', 'closed'],
  blocked: ['active', 'lost', 'closed'],
  lost: ['closed'],
  closed: [],
};

// ─── Helpers ────────────────────────────────────────────────────────────────────────────────────

/** Basis points as a percentage with two places: 38 → "0.38%". No floats. */
export function formatRate(bp: number): string {
  return `${Math.trunc(bp / 100)}.${String(bp % 100).padStart(2, '0')}%`;
}

/** A typed percentage ("0.38", "1.5%", "12") as basis points, exactly; undefined if not 0–100 with ≤ 2 places. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(text.trim());
  if (!m) return undefined;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return bp <= 10_000 ? bp : undefined;
}

/** Fen as the plain yuan text an input field shows: 1234 → "12.34". */
export function fenToYuanText(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;
}

/** PAN grouped in fours for reading aloud once; never stored by the console. */
export function groupPan(pan: string): string {
  return pan.replace(/(\d{4})(?=\d)/g, '$1 ');
}

export const MCC_PATTERN = /^\d{4}$/;
