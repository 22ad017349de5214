import type { TerminalSharedTables } from './contracts.js';

/** The five scenarios of the issue, each with its app set; 'common' apps serve every scenario. */
export const SCENARIO_SETS = [
  { code: 'produce_buying', name_zh: '农产品收购', name_en: 'Produce buying' },
  { code: 'convenience_store', name_zh: '便利店', name_en: 'Convenience store' },
  { code: 'village_service_point', name_zh: '村级服务点', name_en: 'Village service point' },
  { code: 'restaurant', name_zh: '餐饮', name_en: 'Restaurant' },
  { code: 'community_mall', name_zh: '社区商城', name_en: 'Community mall' },
] as const;

export const SCENARIOS = [...SCENARIO_SETS.map((s) => s.code), 'common'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const ROLLOUT_STATES = ['created', 'running', 'paused', 'finished', 'cancelled', 'rolled_back'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const PAUSE_REASONS = ['manual', 'error_threshold', 'deadline'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** Where one terminal of a rollout stands; exclusive, so a stage's counts add up to its total. */
export const TARGET_STATUSES = ['pending', 'notified', 'downloading', 'installed', 'failed'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export const UPDATE_STATUSES = ['downloading', 'installed', 'failed'] as const;
export type UpdateStatus = (typeof UPDATE_STATUSES)[number];

/** The apps part's own tables, for Kysely. Integers are read through platform/int. */
export interface AppOwnTables {
  apps: {
    id: string;
    code: string;
    name_zh: string;
    name_en: string;
    scenario: string;
    description_zh: string | null;
    description_en: string | null;
    created_at: number;
  };
  app_versions: {
    id: string;
    app_id: string;
    version: string;
    digest: string;
    signature: string;
    size: number;
    entry: string;
    file_count: number;
    min_shell_version: string | null;
    release_notes_zh: string | null;
    release_notes_en: string | null;
    approved_at: number | null;
    approved_by: string | null;
    created_by: string;
    created_at: number;
  };
  app_version_bundles: { version_id: string; bytes: Buffer };
  app_sets: { id: string; code: string; name_zh: string; name_en: string; scenario: string; created_at: number };
  app_set_items: { set_id: string; app_id: string; version_id: string | null; updated_at: number };
  app_set_assignments: { id: string; set_id: string; terminal_id: string | null; group_id: string | null; created_by: string; created_at: number };
  rollouts: {
    id: string;
    app_id: string;
    version_id: string;
    name: string;
    group_id: string | null;
    terminal_ids: string | null;
    org_id: string;
    state: string;
    pause_reason: string | null;
    current_stage: number;
    success_threshold: number;
    error_threshold: number;
    auto_advance: number;
    stage_deadline_s: number;
    ignore_window: number;
    created_by: string;
    approved_by: string | null;
    created_at: number;
    started_at: number | null;
    ended_at: number | null;
    updated_at: number;
  };
  rollout_stages: {
    rollout_id: string;
    stage_no: number;
    percent: number;
    total: number;
    notified: number;
    downloading: number;
    installed: number;
    failed: number;
    started_at: number | null;
    deadline_at: number | null;
    completed_at: number | null;
  };
  rollout_targets: { rollout_id: string; terminal_id: string; stage_no: number; status: string; updated_at: number };
  app_update_reports: {
    id: string;
    dedupe_key: string;
    terminal_id: string;
    app_id: string;
    version: string;
    status: string;
    detail: string | null;
    rollout_id: string | null;
    reported_at: number;
  };
}

/** Everything the apps part reads or writes. */
export type AppsDb = AppOwnTables & TerminalSharedTables;
