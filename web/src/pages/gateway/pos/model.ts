import { api, unwrap, unwrapAs } from '../../../api/client';
import type { paths } from '../../../api/schema';

/*
 * The POS terminal API as this page uses it, typed from the generated OpenAPI schema
 * (server/src/gateway/acquirer/routes.ts is the truth).
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;

export type PosTerminal = Reply<'/api/v1/gateway/pos-terminals/{id}', 'get', 200>;
/** A registered or re-keyed terminal, with the generated components when the host drew the key. */
export type Keyed = Reply<'/api/v1/gateway/pos-terminals', 'post', 201>;
/** Clear TMK components the server generated: shown once, never again. */
export type IssuedComponent = NonNullable<Keyed['issued_components']>[number];
/** A platform terminal (the page asks for kind 'pos'). */
export type PlatformPos = Reply<'/api/v1/terminals', 'get', 200>['items'][number];

export const TID_PATTERN = /^[0-9A-Za-z]{8}$/;
export const MID_PATTERN = /^[0-9A-Za-z]{15}$/;
export const COMPONENT_PATTERN = /^[0-9A-Fa-f]{32}$/;

export const listPos = (limit: number, offset: number, tid?: string) =>
  unwrap(api.GET('/api/v1/gateway/pos-terminals', { params: { query: { limit, offset, ...(tid ? { tid } : {}) } } }));

export const registerPos = (body: { terminal_id: string; tid: string; mid?: string; tmk_components?: string[]; pin_mode?: PinMode; bdk?: string }) =>
  unwrap(api.POST('/api/v1/gateway/pos-terminals', { body }));

export const rekeyPos = (terminalId: string, components?: string[]) =>
  unwrap(api.POST('/api/v1/gateway/pos-terminals/{id}/tmk', { params: { path: { id: terminalId } }, body: components ? { tmk_components: components } : {} }));

/** Platform terminals of kind 'pos' (registered with the fleet), for the picker and for serials. */
export const listPlatformPos = () => unwrap(api.GET('/api/v1/terminals', { params: { query: { kind: 'pos', limit: 200 } } }));

// ─── DUKPT PIN pads (server/src/gateway/acquirer/dukpt.ts) ─────────────────────────────────────

export const PIN_MODES = ['tpk', 'dukpt-tdes', 'dukpt-aes'] as const;
export type PinMode = (typeof PIN_MODES)[number];
/** The PIN fields of a terminal view; optional until api/schema.d.ts is regenerated with migration 0017's fields. */
export type PosPin = { pin_mode?: PinMode; bdk?: string | null };

/** A DUKPT base derivation key, as `GET /gateway/bdks` lists it. */
export interface Bdk {
  name: string;
  algorithm: 'TDES2' | 'AES128' | 'AES256';
  scheme: 'tdes' | 'aes';
  kcv: string;
  terminals: number;
}

/** The typed client, minus the BDK path it does not know until the schema is regenerated. */
const untyped = api as unknown as { GET(path: string): Promise<{ data?: unknown; error?: unknown; response: Response }> };
export const listBdks = () => unwrapAs<{ items: Bdk[] }>(untyped.GET('/api/v1/gateway/bdks'));
