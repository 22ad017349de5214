import { Type, type TSchema } from '@sinclair/typebox';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { APP_CODE_PATTERN } from './apps.js';
import { MAX_VERSION_LENGTH } from './apps-semver.js';
import { PAUSE_REASONS, ROLLOUT_STATES, SCENARIOS, TARGET_STATUSES, UPDATE_STATUSES } from './apps-tables.js';
import { APP_SET_CODE_PATTERN } from './app-sets.js';
import { MAX_ROLLOUT_TERMINALS } from './rollouts.js';

/** Request and response schemas of the apps API: staff routes in snake_case, terminal routes in camelCase. */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const AppCode = Type.String({ pattern: APP_CODE_PATTERN, description: 'App code, e.g. cashier' });
/** The grammar is checked by the SemVer parser; the schema only bounds the characters. */
export const VersionText = Type.String({ minLength: 5, maxLength: MAX_VERSION_LENGTH, pattern: '^[0-9A-Za-z.+-]+$', description: 'Semantic version (SemVer 2.0.0)' });
const Scenario = StringEnum(SCENARIOS);
const NameZh = Type.String({ minLength: 1, maxLength: 100 });
const NameEn = Type.String({ minLength: 1, maxLength: 100 });
const Description = Type.String({ maxLength: 1000 });
const Notes = Type.String({ maxLength: 2000 });

export const IdParams = Type.Object({ id: Id });
export const VersionParams = Type.Object({ id: Id, version: VersionText });
export const SetItemParams = Type.Object({ id: Id, appId: Id });
export const AssignmentParams = Type.Object({ id: Id, assignmentId: Id });
export const TerminalBundleParams = Type.Object({ code: AppCode, version: VersionText });

// ————————————————————————————————————————— catalogue

export const AppView = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name_zh: Type.String(),
  name_en: Type.String(),
  scenario: Scenario,
  description_zh: Nullable(Type.String()),
  description_en: Nullable(Type.String()),
  created_at: Micros,
});

export const AppSummaryView = Type.Object({
  ...AppView.properties,
  latest_version: Nullable(Type.String()),
  latest_approved_version: Nullable(Type.String()),
  version_count: Type.Integer(),
});

export const AppQuery = Type.Object({ scenario: Type.Optional(Scenario) }, { additionalProperties: false });

export const NewAppBody = Type.Object({
  code: AppCode,
  name_zh: NameZh,
  name_en: NameEn,
  scenario: Scenario,
  description_zh: Type.Optional(Nullable(Description)),
  description_en: Type.Optional(Nullable(Description)),
}, { additionalProperties: false });

export const VersionView = Type.Object({
  id: Type.String(),
  app_id: Type.String(),
  version: Type.String(),
  digest: Type.String({ description: 'SHA-256 of the bundle bytes, hex' }),
  signature: Type.String({ description: 'Ed25519 over "XW1-BUNDLE\\n<app>\\n<version>\\n<digest>", base64url' }),
  size: Type.Integer({ description: 'Bundle size in bytes' }),
  entry: Type.String(),
  file_count: Type.Integer(),
  min_shell_version: Nullable(Type.String()),
  release_notes_zh: Nullable(Type.String()),
  release_notes_en: Nullable(Type.String()),
  approved: Type.Boolean(),
  approved_at: Nullable(Micros),
  approved_by: Nullable(Type.String()),
  created_by: Type.String(),
  created_at: Micros,
});

export const PublishedView = Type.Object({ ...VersionView.properties, created: Type.Boolean({ description: 'false when these exact bytes were already published' }) });

/** Documents the upload body: the bundle file's bytes. */
export const BundleUpload = Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The bundle file (xiaowei-bundle/1 JSON) 应用包文件' });

export const UploadQuery = Type.Object({
  version: Type.Optional(VersionText),
  min_shell_version: Type.Optional(VersionText),
  release_notes_zh: Type.Optional(Notes),
  release_notes_en: Type.Optional(Notes),
  approve: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

// ————————————————————————————————————————— app sets

export const SetItemView = Type.Object({
  app_id: Type.String(),
  app_code: Type.String(),
  version: Nullable(Type.String({ description: 'Pinned version; null = the latest approved' })),
  updated_at: Micros,
});

export const AssignmentView = Type.Object({
  id: Type.String(),
  set_id: Type.String(),
  terminal_id: Nullable(Type.String()),
  group_id: Nullable(Type.String()),
  created_by: Type.String(),
  created_at: Micros,
});

export const AppSetView = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name_zh: Type.String(),
  name_en: Type.String(),
  scenario: Scenario,
  created_at: Micros,
  items: Type.Array(SetItemView),
  assignment_count: Type.Integer({ description: 'All assignments, including those outside your scope' }),
});

export const AppSetDetail = Type.Object({ ...AppSetView.properties, assignments: Type.Array(AssignmentView, { description: 'Assignments within your scope' }) });

export const NewAppSetBody = Type.Object({ code: Type.String({ pattern: APP_SET_CODE_PATTERN }), name_zh: NameZh, name_en: NameEn, scenario: Scenario }, { additionalProperties: false });

export const SetItemBody = Type.Object({ version: Nullable(VersionText) }, { additionalProperties: false });

export const AssignBody = Type.Union([
  Type.Object({ terminal_id: Id }, { additionalProperties: false }),
  Type.Object({ group_id: Id }, { additionalProperties: false }),
], { description: 'Exactly one of terminal_id and group_id' });

// ————————————————————————————————————————— rollouts

export const StageView = Type.Object({
  stage_no: Type.Integer(),
  percent: Type.Integer(),
  total: Type.Integer(),
  pending: Type.Integer(),
  notified: Type.Integer(),
  downloading: Type.Integer(),
  installed: Type.Integer(),
  failed: Type.Integer(),
  started_at: Nullable(Micros),
  deadline_at: Nullable(Micros),
  completed_at: Nullable(Micros),
});

export const RolloutView = Type.Object({
  id: Type.String(),
  app_id: Type.String(),
  app_code: Type.String(),
  version_id: Type.String(),
  version: Type.String(),
  name: Type.String(),
  group_id: Nullable(Type.String()),
  org_id: Type.String(),
  state: StringEnum(ROLLOUT_STATES),
  pause_reason: Type.Union([StringEnum(PAUSE_REASONS), Type.Null()]),
  current_stage: Type.Integer({ description: '-1 before the rollout starts' }),
  awaiting_approval: Type.Boolean(),
  success_threshold: Type.Integer(),
  error_threshold: Type.Integer(),
  auto_advance: Type.Boolean(),
  stage_deadline_s: Type.Integer(),
  ignore_maintenance_window: Type.Boolean(),
  created_by: Type.String(),
  approved_by: Nullable(Type.String()),
  created_at: Micros,
  started_at: Nullable(Micros),
  ended_at: Nullable(Micros),
  updated_at: Micros,
  stages: Type.Array(StageView),
  totals: Type.Object({ total: Type.Integer(), pending: Type.Integer(), notified: Type.Integer(), downloading: Type.Integer(), installed: Type.Integer(), failed: Type.Integer() }),
});

export const RollbackView = Type.Object({ ...RolloutView.properties, notified: Type.Integer({ description: 'Terminals sent the previous version' }) });

export const NewRolloutBody = Type.Object({
  app_id: Id,
  version: VersionText,
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  group_id: Type.Optional(Id),
  terminal_ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: MAX_ROLLOUT_TERMINALS })),
  stages: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 1, maxItems: 10, description: 'Cumulative percentages, increasing, ending at 100; default [1, 10, 100]' })),
  success_threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Installed % that completes a stage; default 95' })),
  error_threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Failed % above which the rollout pauses; default 5' })),
  auto_advance: Type.Optional(Type.Boolean({ description: 'Start the next stage when one completes (default true); false waits for approve' })),
  stage_deadline_s: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600, description: 'A stage not complete by then pauses the rollout; default 3 days' })),
  ignore_maintenance_window: Type.Optional(Type.Boolean({ description: 'Let terminals download outside their groups’ maintenance windows' })),
}, { additionalProperties: false });

export const RolloutQuery = Type.Object({
  state: Type.Optional(StringEnum(ROLLOUT_STATES)),
  app_id: Type.Optional(Id),
  group_id: Type.Optional(Id),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
}, { additionalProperties: false });

export const RolloutList = Type.Object({ items: Type.Array(RolloutView), total: Type.Integer() });

export const ApproveQuery = Type.Object({ force: Type.Optional(Type.Boolean({ description: 'Start the next stage even if the current one is below its success threshold' })) }, { additionalProperties: false });

export const TargetQuery = Type.Object({
  stage: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
  status: Type.Optional(StringEnum(TARGET_STATUSES)),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
}, { additionalProperties: false });

export const TargetList = Type.Object({
  items: Type.Array(Type.Object({ terminal_id: Type.String(), stage_no: Type.Integer(), status: StringEnum(TARGET_STATUSES), updated_at: Micros })),
  total: Type.Integer(),
});

// ————————————————————————————————————————— terminal-facing

export const TerminalAppView = Type.Object({
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  scenario: Scenario,
  version: Type.String(),
  entry: Type.String(),
  digest: Type.String(),
  signature: Type.String(),
  size: Type.Integer(),
  minShellVersion: Nullable(Type.String()),
  releaseNotesZh: Nullable(Type.String()),
  releaseNotesEn: Nullable(Type.String()),
  downloadPath: Type.String(),
  rolloutId: Nullable(Type.String()),
});

export const TerminalAppsReply = Type.Object({ apps: Type.Array(TerminalAppView) });

export const UpdateReportBody = Type.Object({
  app: AppCode,
  version: VersionText,
  status: StringEnum(UPDATE_STATUSES),
  detail: Type.Optional(Type.String({ maxLength: 500 })),
  rolloutId: Type.Optional(Id),
}, { additionalProperties: false });

export const UpdateReportReply = Type.Object({
  recorded: Type.Boolean({ description: 'false when the same report was already recorded' }),
  rolloutId: Nullable(Type.String()),
});
