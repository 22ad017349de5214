import { api, unwrap } from '../../../api/client';
import type { paths } from '../../../api/schema';

/*
 * The switch reconciliation API as this page uses it, typed from the generated OpenAPI schema
 * (server/src/gateway/switch-recon/schemas.ts is the truth).
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;

/** A file as listed, with its count of open exceptions. */
export type ReconFile = Reply<'/api/v1/gateway/switch-recon/files', 'get', 200>['items'][number];
export type ImportResult = Reply<'/api/v1/gateway/switch-recon/files', 'post', 201>;
export type ReconException = Reply<'/api/v1/gateway/switch-recon/exceptions', 'get', 200>['items'][number];
export type ExceptionKind = ReconException['kind'];
export type RecordType = ReconException['type'];
export type ExceptionAction = NonNullable<ReconException['action']>;
export type StaffAction = NonNullable<paths['/api/v1/gateway/switch-recon/exceptions/{id}/resolve']['post']['requestBody']>['content']['application/json']['action'];
export type ExceptionFilter = 'open' | 'resolved';

export const STAFF_ACTIONS = ['write_off', 'reverse', 'accept'] as const satisfies readonly StaffAction[];
export const EXCEPTION_FILTERS = ['open', 'resolved'] as const satisfies readonly ExceptionFilter[];

/** States of the switch journal (a sale) and of the store-and-forward queue (a reversal or refund advice). */
export const JOURNAL_STATES = ['open', 'approved', 'declined', 'unknown', 'unavailable', 'held', 'queued', 'acknowledged', 'rejected', 'dropped', 'closed'] as const;
export type JournalState = (typeof JOURNAL_STATES)[number];

/**
 * The server's `platform_state` ('approved', 'rejected 13', 'acknowledged 2025-06-30', …): its
 * leading state word, when known, for the page to translate, and what follows (a response code or a
 * settlement date) as it is.
 */
export function splitPlatformState(value: string): { state: JournalState | undefined; rest: string; raw: string } {
  const space = value.indexOf(' ');
  const word = space < 0 ? value : value.slice(0, space);
  const rest = space < 0 ? '' : value.slice(space + 1).trim();
  const state = (JOURNAL_STATES as readonly string[]).includes(word) ? (word as JournalState) : undefined;
  return { state, rest, raw: value };
}

export const listFiles = (limit: number, offset: number) => unwrap(api.GET('/api/v1/gateway/switch-recon/files', { params: { query: { limit, offset } } }));

export const listExceptions = (status: ExceptionFilter, fileId: string | undefined) =>
  unwrap(api.GET('/api/v1/gateway/switch-recon/exceptions', { params: { query: { status, limit: 1000, ...(fileId ? { file_id: fileId } : {}) } } }));

/** The file's text goes up as JSON {content}: the same bytes the switch wrote. */
export const importFile = (content: string): Promise<ImportResult> => unwrap(api.POST('/api/v1/gateway/switch-recon/files', { body: { content } }));

export const resolveException = (id: string, action: StaffAction, note: string) =>
  unwrap(api.POST('/api/v1/gateway/switch-recon/exceptions/{id}/resolve', { params: { path: { id } }, body: { action, note } }));

/** Which actions fit an exception: reverse only undoes our sale the switch never had. */
export const actionsFor = (e: Pick<ReconException, 'kind' | 'type' | 'platform_txn_id'>): StaffAction[] =>
  STAFF_ACTIONS.filter((a) => a !== 'reverse' || (e.kind === 'missing_on_switch' && e.type === 'SALE' && e.platform_txn_id !== null));
