import { api, unwrapAs } from '../../../api/client';

/**
 * The switch reconciliation API as this page uses it. Hand-written until the lead regenerates
 * `api/schema.d.ts` with the gateway routes (server/src/gateway/switch-recon/schemas.ts is the truth).
 */
export const EXCEPTION_KINDS = ['missing_on_switch', 'missing_on_platform', 'amount_mismatch'] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];
export const STAFF_ACTIONS = ['write_off', 'reverse', 'accept'] as const;
export type StaffAction = (typeof STAFF_ACTIONS)[number];
export type ExceptionAction = StaffAction | 'paired';
export const EXCEPTION_FILTERS = ['open', 'resolved'] as const;
export type ExceptionFilter = (typeof EXCEPTION_FILTERS)[number];
export type RecordType = 'SALE' | 'REFUND' | 'REVERSAL';

export interface ReconFile {
  id: string;
  acquirer_id: string;
  settlement_date: string;
  line_count: number;
  sale_count: number;
  sale_amount: number;
  refund_count: number;
  refund_amount: number;
  reversal_count: number;
  reversal_amount: number;
  net: number;
  matched_count: number;
  exception_count: number;
  paired_count: number;
  open_exceptions: number;
  imported_by: string;
  imported_at: number;
  posted_at: number | null;
}

export interface ReconException {
  id: string;
  file_id: string;
  settlement_date: string;
  kind: ExceptionKind;
  type: RecordType;
  rrn: string;
  platform_txn_id: string | null;
  platform_state: string | null;
  line_no: number | null;
  switch_amount: number | null;
  platform_amount: number | null;
  difference: number;
  status: 'open' | 'resolving' | 'resolved';
  action: ExceptionAction | null;
  note: string | null;
  settled_date: string | null;
  carried: boolean;
  created_at: number;
}

interface Page<T> {
  items: T[];
  total: number;
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
const BASE = '/api/v1/gateway/switch-recon';

export const listFiles = (limit: number, offset: number) => unwrapAs<Page<ReconFile>>(raw.GET(`${BASE}/files`, { params: { query: { limit, offset } } }));

export const listExceptions = (status: ExceptionFilter, fileId: string | undefined) =>
  unwrapAs<Page<ReconException>>(raw.GET(`${BASE}/exceptions`, { params: { query: { status, limit: 1000, ...(fileId ? { file_id: fileId } : {}) } } }));

/** The file's text goes up as JSON {content}: the same bytes the switch wrote. */
export const importFile = (content: string) => unwrapAs<{ file: ReconFile; created: boolean }>(raw.POST(`${BASE}/files`, { body: { content } }));

export const resolveException = (id: string, action: StaffAction, note: string) =>
  unwrapAs<ReconException>(raw.POST(`${BASE}/exceptions/${encodeURIComponent(id)}/resolve`, { body: { action, note } }));

/** Which actions fit an exception: reverse only undoes our sale the switch never had. */
export const actionsFor = (e: ReconException): StaffAction[] =>
  STAFF_ACTIONS.filter((a) => a !== 'reverse' || (e.kind === 'missing_on_switch' && e.type === 'SALE' && e.platform_txn_id !== null));
