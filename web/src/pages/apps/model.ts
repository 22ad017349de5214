import type { paths } from '../../api/schema';

/* Types of the apps, app sets and rollouts API (server/src/terminals/app-schemas.ts). */
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;

export type AppSummary = Reply<'/api/v1/apps', 'get', 200>[number];
export type AppInfo = Reply<'/api/v1/apps/{id}', 'get', 200>;
export type NewApp = Body<'/api/v1/apps', 'post'>;
export type AppVersion = Reply<'/api/v1/apps/{id}/versions', 'get', 200>[number];
export type Published = Reply<'/api/v1/apps/{id}/versions', 'post', 201>;
export type UploadQuery = NonNullable<paths['/api/v1/apps/{id}/versions']['post']['parameters']['query']>;
export type Scenario = AppSummary['scenario'];
export type AppSet = Reply<'/api/v1/app-sets', 'get', 200>[number];
export type AppSetDetail = Reply<'/api/v1/app-sets/{id}', 'get', 200>;
export type Assignment = AppSetDetail['assignments'][number];
export type SetItem = AppSet['items'][number];
export type NewAppSet = Body<'/api/v1/app-sets', 'post'>;
export type Rollout = Reply<'/api/v1/rollouts/{id}', 'get', 200>;
export type RolloutList = Reply<'/api/v1/rollouts', 'get', 200>;
export type RolloutQuery = NonNullable<paths['/api/v1/rollouts']['get']['parameters']['query']>;
export type NewRollout = Body<'/api/v1/rollouts', 'post'>;
export type Stage = Rollout['stages'][number];
export type RolloutState = Rollout['state'];
export type RolloutAction = 'approve' | 'pause' | 'resume' | 'cancel' | 'rollback';
export type TargetList = Reply<'/api/v1/rollouts/{id}/targets', 'get', 200>;
export type Target = TargetList['items'][number];
export type TargetStatus = Target['status'];

const keys = <K extends string>(record: Record<K, true>): K[] => Object.keys(record) as K[];

export const SCENARIOS = keys<Scenario>({
  produce_buying: true,
  convenience_store: true,
  village_service_point: true,
  restaurant: true,
  community_mall: true,
  common: true,
});
export const ROLLOUT_STATES = keys<RolloutState>({
  created: true,
  running: true,
  paused: true,
  finished: true,
  cancelled: true,
  rolled_back: true,
});
export const TARGET_STATUSES = keys<TargetStatus>({ pending: true, notified: true, downloading: true, installed: true, failed: true });

export const STATE_COLOUR: Record<RolloutState, string> = {
  created: 'default',
  running: 'processing',
  paused: 'warning',
  finished: 'success',
  cancelled: 'default',
  rolled_back: 'error',
};

/** What staff may do in each state (server/src/terminals/rollouts.ts, its state machine). */
export function rolloutActions(r: Pick<Rollout, 'state' | 'current_stage' | 'stages'>): RolloutAction[] {
  switch (r.state) {
    case 'created':
      return ['approve', 'cancel'];
    case 'running':
      // approve here starts the next stage (the server refuses it below the success threshold).
      return [...(r.current_stage < r.stages.length - 1 ? (['approve'] as const) : []), 'pause', 'cancel', 'rollback'];
    case 'paused':
      return ['resume', 'cancel', 'rollback'];
    case 'finished':
    case 'cancelled':
      return ['rollback'];
    case 'rolled_back':
      return [];
  }
}

/** Bytes as "1.2 MB"; bundle sizes only. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** What the console can tell of a bundle file before uploading it (the server checks it all again). */
export interface BundlePreview {
  app: string;
  version: string;
  entry: string;
  files: number;
}

/** Reads the bundle's own app and version, or says why the file is not a bundle. */
export function previewBundle(bytes: Uint8Array): BundlePreview | { problem: 'not_json' | 'not_bundle' } {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { problem: 'not_json' };
  }
  if (typeof doc !== 'object' || doc === null) return { problem: 'not_bundle' };
  const d = doc as Record<string, unknown>;
  if (d.format !== 'xiaowei-bundle/1' || typeof d.app !== 'string' || typeof d.version !== 'string' || typeof d.entry !== 'string')
    return { problem: 'not_bundle' };
  const files = typeof d.files === 'object' && d.files !== null ? Object.keys(d.files).length : 0;
  return { app: d.app, version: d.version, entry: d.entry, files };
}

/** '1, 10, 100' → [1, 10, 100] when the stages are valid for the server: increasing, ending at 100. */
export function parseStages(text: string): number[] | undefined {
  const parts = text.split(/[\s,，/%]+/).filter(Boolean);
  if (parts.length === 0 || parts.length > 10 || parts.some((p) => !/^[0-9]{1,3}$/.test(p))) return undefined;
  const stages = parts.map(Number);
  for (let i = 0; i < stages.length; i++)
    if (stages[i]! < 1 || stages[i]! > 100 || (i > 0 && stages[i]! <= stages[i - 1]!)) return undefined;
  return stages.at(-1) === 100 ? stages : undefined;
}
