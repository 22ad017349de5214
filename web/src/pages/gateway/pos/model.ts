import { api, unwrapAs } from '../../../api/client';

/**
 * The POS terminal API as this page uses it. Hand-written until the lead regenerates
 * `api/schema.d.ts` with the gateway routes (server/src/gateway/acquirer/routes.ts is the truth).
 */
export interface PosTerminal {
  terminal_id: string;
  tid: string;
  mid: string;
  owner_party_id: string;
  org_id: string;
  tmk_kcv: string;
  status: 'active' | 'disabled';
  session: { id: string; batch_no: number; signed_on_at: number } | null;
  created_at: number;
  updated_at: number;
}

/** Clear TMK components the server generated: shown once, never again. */
export interface IssuedComponent {
  component: string;
  kcv: string;
}

export type Keyed = PosTerminal & { issued_components?: IssuedComponent[] };

/** A platform terminal of kind 'pos' (the subset of the fleet API this page reads). */
export interface PlatformPos {
  id: string;
  serial: string;
  model: string;
  owner_party_id: string;
  status: string;
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
const BASE = '/api/v1/gateway/pos-terminals';

export const TID_PATTERN = /^[0-9A-Za-z]{8}$/;
export const MID_PATTERN = /^[0-9A-Za-z]{15}$/;
export const COMPONENT_PATTERN = /^[0-9A-Fa-f]{32}$/;

export const listPos = (limit: number, offset: number, tid?: string) =>
  unwrapAs<Page<PosTerminal>>(raw.GET(BASE, { params: { query: { limit, offset, ...(tid ? { tid } : {}) } } }));

export const registerPos = (body: { terminal_id: string; tid: string; mid?: string; tmk_components?: string[] }) => unwrapAs<Keyed>(raw.POST(BASE, { body }));

export const rekeyPos = (terminalId: string, components?: string[]) =>
  unwrapAs<Keyed>(raw.POST(`${BASE}/${encodeURIComponent(terminalId)}/tmk`, { body: components ? { tmk_components: components } : {} }));

/** Platform terminals of kind 'pos' (registered with the fleet), for the picker and for serials. */
export const listPlatformPos = () => unwrapAs<Page<PlatformPos>>(raw.GET('/api/v1/terminals', { params: { query: { kind: 'pos', limit: 200 } } }));
