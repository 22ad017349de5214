import type { paths } from '../../api/schema';

/*
 * Types of the terminals API (server/src/terminals/fleet-schemas.ts), taken from the generated
 * OpenAPI schema so the compiler notices when the server changes a field.
 */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;

export type TerminalList = Reply<'/api/v1/terminals', 'get', 200>;
export type Terminal = TerminalList['items'][number];
export type TerminalQuery = NonNullable<paths['/api/v1/terminals']['get']['parameters']['query']>;
export type NewTerminal = Body<'/api/v1/terminals', 'post'>;
export type TerminalDetail = Reply<'/api/v1/terminals/{id}', 'get', 200>;
export type Heartbeat = Reply<'/api/v1/terminals/{id}/heartbeats', 'get', 200>['items'][number];
export type FleetSummary = Reply<'/api/v1/terminals/summary', 'get', 200>;
export type ImportReport = Reply<'/api/v1/terminals/import', 'post', 200>;
export type ImportProblem = ImportReport['errors'][number];
export type IssuedCode = Reply<'/api/v1/terminals/{id}/activation-codes', 'post', 201>;
export type CodeRecord = Reply<'/api/v1/terminals/{id}/activation-codes', 'get', 200>['items'][number];
export type EffectiveParamsReply = Reply<'/api/v1/terminals/{id}/effective-params', 'get', 200>;
export type TerminalParams = Body<'/api/v1/terminals/{id}/params', 'put'>;
export type EffectiveParams = EffectiveParamsReply['effective'];
export type ParamName = keyof EffectiveParams;
export type TerminalGroup = Reply<'/api/v1/terminal-groups/{id}', 'get', 200>;
export type NewGroup = Body<'/api/v1/terminal-groups', 'post'>;
export type TerminalStatus = Terminal['status'];
export type TerminalKind = Terminal['kind'];
export type StatusAction = 'lock' | 'unlock' | 'retire';

const keys = <K extends string>(record: Record<K, true>): K[] => Object.keys(record) as K[];

export const TERMINAL_STATUSES = keys<TerminalStatus>({ registered: true, active: true, locked: true, retired: true });
export const TERMINAL_KINDS = keys<TerminalKind>({ smart_pos: true, tablet: true, phone: true, pos: true });

/**
 * The parameter allow-list in the server's order, with how the console edits each one. Money is
 * typed in yuan and sent as integer fen; the ranges repeat server/src/terminals/params.ts so the
 * form says what is wrong before the server has to.
 */
export type ParamSpec =
  | { name: ParamName; type: 'text'; max: number }
  | { name: ParamName; type: 'fen'; min: number; max: number }
  | { name: ParamName; type: 'seconds'; min: number; max: number };

export const PARAM_SPECS: readonly ParamSpec[] = [
  { name: 'receipt_header_zh', type: 'text', max: 64 },
  { name: 'receipt_header_en', type: 'text', max: 64 },
  { name: 'txn_limit_fen', type: 'fen', min: 1, max: 1_000_000_000 },
  { name: 'request_timeout_s', type: 'seconds', min: 5, max: 180 },
  { name: 'connect_timeout_s', type: 'seconds', min: 1, max: 60 },
  { name: 'idle_timeout_s', type: 'seconds', min: 60, max: 86_400 },
  { name: 'heartbeat_interval_s', type: 'seconds', min: 15, max: 3_600 },
  { name: 'poll_interval_s', type: 'seconds', min: 15, max: 86_400 },
];

export const STATUS_COLOUR: Record<TerminalStatus, string> = { registered: 'default', active: 'green', locked: 'orange', retired: 'red' };

/** Which remote actions a status allows (the server's state machine; retired is final). */
export const STATUS_ACTIONS: Record<TerminalStatus, StatusAction[]> = {
  registered: ['lock', 'retire'],
  active: ['lock', 'retire'],
  locked: ['unlock', 'retire'],
  retired: [],
};

/** Activation codes: the server accepts 10 minutes to 7 days (default 24 h). */
export const CODE_TTL_CHOICES_S = [3_600, 24 * 3_600, 3 * 24 * 3_600, 7 * 24 * 3_600] as const;

/** Coordinates travel as integer millionths of a degree; this is the only place they become text. */
export function formatE6(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const negative = value < 0;
  const abs = Math.abs(value);
  return `${negative ? '-' : ''}${Math.trunc(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

/** '36.067108' → 36067108 exactly (no floating point), or undefined for anything else. */
export function parseE6(text: string): number | undefined {
  const m = /^(-?)([0-9]{1,3})(?:\.([0-9]{1,6}))?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[2]) * 1_000_000 + Number((m[3] ?? '').padEnd(6, '0'));
  return m[1] === '-' ? -value : value;
}

/** Plain degrees for a chart axis (display only; the data stay integers). */
export function e6ToDegrees(value: number): number {
  return value / 1_000_000;
}

/** A terminal is offline after this many missed heartbeats, as the server counts. */
export const OFFLINE_AFTER_MISSED = 3;

export interface Timeline {
  /** [ms, battery %] points; a null battery breaks the line where the terminal was offline. */
  battery: [number, number | null][];
  /** [ms, 1 online | 0 offline] steps. */
  online: [number, number][];
}

/**
 * The heartbeat chart's series, oldest first. A gap longer than three heartbeat intervals is
 * drawn as offline from the moment the server would have called it so: the battery line breaks
 * and the presence step drops to 0 until the next heartbeat.
 */
export function heartbeatTimeline(items: readonly Pick<Heartbeat, 'ts' | 'battery'>[], intervalS: number): Timeline {
  const ordered = [...items].sort((a, b) => a.ts - b.ts);
  const gapUs = OFFLINE_AFTER_MISSED * intervalS * 1_000_000;
  const battery: Timeline['battery'] = [];
  const online: Timeline['online'] = [];
  let previous: Pick<Heartbeat, 'ts'> | undefined;
  for (const h of ordered) {
    if (previous && h.ts - previous.ts > gapUs) {
      const offAt = Math.floor((previous.ts + gapUs) / 1000);
      battery.push([offAt, null]);
      online.push([offAt, 0]);
    }
    const ms = Math.floor(h.ts / 1000);
    battery.push([ms, h.battery]);
    online.push([ms, 1]);
    previous = h;
  }
  return { battery, online };
}
