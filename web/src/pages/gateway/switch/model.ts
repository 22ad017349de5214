import { api, unwrapAs } from '../../../api/client';

/**
 * The card-switch API as this page uses it. Hand-written until `api/schema.d.ts` is regenerated
 * with the gateway routes (server/src/gateway/switch/routes.ts is the truth).
 */
export const LINK_STATES = ['connecting', 'no_zmk', 'signed_on', 'down', 'closed', 'not_configured'] as const;
export type LinkState = (typeof LINK_STATES)[number];

export const SAF_STATES = ['queued', 'held', 'acknowledged', 'rejected', 'dropped'] as const;
export type SafState = (typeof SAF_STATES)[number];

export interface SwitchStatus {
  state: LinkState;
  settlement_date: string | null;
  zmk_kcv: string | null;
  zpk_kcv: string | null;
  zak_kcv: string | null;
  saf_depth: number;
  saf_counts: Partial<Record<SafState, number>>;
  last_echo_at: number | null;
  signed_on_at: number | null;
  peer: string | null;
  acquirer_id: string;
  outstanding: number;
}

export interface SafEntry {
  id: string;
  txn_id: string;
  kind: 'reversal' | 'refund';
  original_txn_id: string;
  rrn: string;
  reason: string | null;
  amount: number;
  state: SafState;
  attempts: number;
  next_attempt_at: number;
  response_code: string | null;
  settlement_date: string | null;
  last_error: string | null;
  pan_masked: string | null;
  created_at: number;
  updated_at: number;
  acknowledged_at: number | null;
}

interface FetchInit {
  params?: { query?: Record<string, string | number> };
  body?: unknown;
}
interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}
/** The typed client, minus the path types it does not know yet. */
const raw = api as unknown as { GET(path: string, init?: FetchInit): Promise<FetchResult>; POST(path: string, init?: FetchInit): Promise<FetchResult> };
const BASE = '/api/v1/gateway/switch';

export const COMPONENT_PATTERN = /^[0-9A-Fa-f]{32}$/;

export const getStatus = () => unwrapAs<SwitchStatus>(raw.GET(BASE));

export const importZmk = (components: string[]) => unwrapAs<{ kcv: string }>(raw.POST(`${BASE}/zmk`, { body: { components } }));

export const listSaf = (state: SafState | undefined, before: string | undefined, limit = 50) =>
  unwrapAs<{ items: SafEntry[]; next_before: string | null }>(
    raw.GET(`${BASE}/saf`, { params: { query: { limit, ...(state ? { state } : {}), ...(before ? { before } : {}) } } }),
  );

export const retrySaf = (id: string) => unwrapAs<SafEntry>(raw.POST(`${BASE}/saf/${encodeURIComponent(id)}/retry`, { body: {} }));
