import { api, unwrap } from '../../../api/client';
import type { paths } from '../../../api/schema';

/*
 * The card-switch API as this page uses it, typed from the generated OpenAPI schema
 * (server/src/gateway/switch/routes.ts is the truth).
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;

export type SwitchStatus = Reply<'/api/v1/gateway/switch', 'get', 200>;
export type LinkState = SwitchStatus['state'];
export type SafPage = Reply<'/api/v1/gateway/switch/saf', 'get', 200>;
export type SafEntry = SafPage['items'][number];
export type SafState = SafEntry['state'];

/** In the order the page shows them. */
export const SAF_STATES = ['queued', 'failed', 'held', 'acknowledged', 'rejected', 'dropped', 'closed'] as const satisfies readonly SafState[];
export type SafException = NonNullable<SafEntry['exception']>;

/** An entry staff should act on: refused for good (failed), or still queued after too many attempts. */
export const isOpenException = (e: SafEntry): boolean => e.exception !== null && (e.state === 'failed' || e.state === 'queued');

export const COMPONENT_PATTERN = /^[0-9A-Fa-f]{32}$/;

export const getStatus = () => unwrap(api.GET('/api/v1/gateway/switch'));

export const importZmk = (components: string[]) => unwrap(api.POST('/api/v1/gateway/switch/zmk', { body: { components } }));

/** `state` 'exceptions': only open exceptions (failed, or queued with too many attempts). */
export const listSaf = (state: SafState | 'exceptions' | undefined, before: string | undefined, limit = 50) =>
  unwrap(
    api.GET('/api/v1/gateway/switch/saf', {
      params: { query: { limit, ...(state === 'exceptions' ? { exception: true } : state ? { state } : {}), ...(before ? { before } : {}) } },
    }),
  );

export const retrySaf = (id: string) => unwrap(api.POST('/api/v1/gateway/switch/saf/{id}/retry', { params: { path: { id } } }));

export const closeSaf = (id: string, note: string) => unwrap(api.POST('/api/v1/gateway/switch/saf/{id}/close', { params: { path: { id } }, body: { note } }));
