import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';
import { newId } from '../platform/ids.js';
import { SCENARIO_SETS } from './apps-tables.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/**
 * The apps part: catalogue (apps, versions, signed bundles), scenario app sets and their
 * assignments, rollouts with their stages and per-terminal targets, and update reports.
 * Timestamps are microseconds since the epoch.
 *
 * No foreign keys point at the fleet's tables (terminals, groups): their life cycle is the fleet's
 * to decide, so ids are checked when written instead.
 */
export function appsMigration(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('name_zh', 'text', (c) => c.notNull())
        .addColumn('name_en', 'text', (c) => c.notNull())
        .addColumn('scenario', 'text', (c) => c.notNull())
        .addColumn('description_zh', 'text')
        .addColumn('description_en', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('app_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('min_shell_version', 'text')
        .addColumn('release_notes_zh', 'text')
        .addColumn('release_notes_en', 'text')
        // Approval is the only thing that changes on a version; its bundle never does.
        .addColumn('approved_at', 'bigint')
        .addColumn('approved_by', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('app_versions_app_version', ['app_id', 'version'])
        .execute();

      // The bundle bytes live in the database so every server process (on any machine) serves
      // the same bytes; kept apart from the version row so listings never drag them along.
      await db.schema
        .createTable('app_version_bundles')
        .addColumn('version_id', 'text', (c) => c.primaryKey().references('app_versions.id'))
        .addColumn('bytes', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('app_sets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('name_zh', 'text', (c) => c.notNull())
        .addColumn('name_en', 'text', (c) => c.notNull())
        .addColumn('scenario', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('app_set_items')
        .addColumn('set_id', 'text', (c) => c.notNull().references('app_sets.id'))
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        // null = the app's latest approved version.
        .addColumn('version_id', 'text', (c) => c.references('app_versions.id'))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('app_set_items_pk', ['set_id', 'app_id'])
        .execute();

      await db.schema
        .createTable('app_set_assignments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('set_id', 'text', (c) => c.notNull().references('app_sets.id'))
        .addColumn('terminal_id', 'text')
        .addColumn('group_id', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('app_set_assignments_one_target', sql`(terminal_id is null) <> (group_id is null)`)
        .execute();
      // NULLs are distinct in unique indexes, so each kind of target gets its own partial index.
      await db.schema.createIndex('app_set_assignments_terminal').on('app_set_assignments').columns(['terminal_id', 'set_id']).unique().where(sql.ref('terminal_id'), 'is not', null).execute();
      await db.schema.createIndex('app_set_assignments_group').on('app_set_assignments').columns(['group_id', 'set_id']).unique().where(sql.ref('group_id'), 'is not', null).execute();

      await db.schema
        .createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('version_id', 'text', (c) => c.notNull().references('app_versions.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text')
        // For a rollout to chosen terminals: their ids (JSON) until the rollout starts.
        .addColumn('terminal_ids', 'text')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('pause_reason', 'text')
        .addColumn('current_stage', 'integer', (c) => c.notNull())
        .addColumn('success_threshold', 'integer', (c) => c.notNull())
        .addColumn('error_threshold', 'integer', (c) => c.notNull())
        .addColumn('auto_advance', 'integer', (c) => c.notNull())
        .addColumn('stage_deadline_s', 'integer', (c) => c.notNull())
        .addColumn('ignore_window', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('approved_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rollouts_org').on('rollouts').columns(['org_id', 'created_at']).execute();
      await db.schema.createIndex('rollouts_app').on('rollouts').columns(['app_id', 'state']).execute();
      await db.schema.createIndex('rollouts_state').on('rollouts').columns(['state']).execute();

      // Per-stage counters, kept current in the same transaction as each update report, so the
      // progress chart and the threshold checks never count rows.
      await db.schema
        .createTable('rollout_stages')
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
        .addColumn('stage_no', 'integer', (c) => c.notNull())
        .addColumn('percent', 'integer', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('notified', 'integer', (c) => c.notNull())
        .addColumn('downloading', 'integer', (c) => c.notNull())
        .addColumn('installed', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('deadline_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .addPrimaryKeyConstraint('rollout_stages_pk', ['rollout_id', 'stage_no'])
        .execute();

      await db.schema
        .createTable('rollout_targets')
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('stage_no', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('rollout_targets_pk', ['rollout_id', 'terminal_id'])
        .execute();
      // A terminal's app list asks which rollouts reach it.
      await db.schema.createIndex('rollout_targets_terminal').on('rollout_targets').columns(['terminal_id']).execute();
      await db.schema.createIndex('rollout_targets_stage').on('rollout_targets').columns(['rollout_id', 'stage_no', 'status']).execute();

      await db.schema
        .createTable('app_update_reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // terminal + rollout + status (or terminal + app@version + status without a rollout):
        // a repeated report is recorded once and moves no counter twice.
        .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('rollout_id', 'text')
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('app_update_reports_terminal').on('app_update_reports').columns(['terminal_id', 'reported_at']).execute();
      await db.schema.createIndex('app_update_reports_rollout').on('app_update_reports').columns(['rollout_id', 'reported_at']).execute();

      // The five scenario sets exist from the start; apps are added as their bundles are published.
      const now = Date.now() * 1000;
      await db
        .insertInto('app_sets')
        .values(SCENARIO_SETS.map((s) => ({ id: newId(), code: s.code, name_zh: s.name_zh, name_en: s.name_en, scenario: s.code, created_at: now })))
        .execute();
    },
  };
}
