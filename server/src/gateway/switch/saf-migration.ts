/**
 * Migration 0019-gateway-saf-exceptions: store-and-forward entries the switch keeps refusing become
 * exceptions staff see and act on (column meanings in `tables.ts`).
 *
 * `gw_saf` gains
 *   exception     text|null  'refused' (a permanent refusal: the entry is 'failed', no longer sent) |
 *                            'retries' (still 'queued', but XIAOWEI_SAF_ALERT_ATTEMPTS attempts failed)
 *   exception_at  bigint µs  when it was raised
 *   note          text|null  staff's note when they closed it
 *   closed_by     text|null  the staff user who closed it
 *   closed_at     bigint µs
 * and two states: 'failed' (refused for good; staff retry it or close it) and 'closed' (staff
 * closed it with a note). An index serves the console's "exceptions" filter and the status count.
 */
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export function safExceptionsMigration(): Migration {
  return {
    async up(db: Db) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('gw_saf').addColumn('exception', 'text').execute();
      await db.schema.alterTable('gw_saf').addColumn('exception_at', 'bigint').execute();
      await db.schema.alterTable('gw_saf').addColumn('note', 'text').execute();
      await db.schema.alterTable('gw_saf').addColumn('closed_by', 'text').execute();
      await db.schema.alterTable('gw_saf').addColumn('closed_at', 'bigint').execute();
      await db.schema.createIndex('gw_saf_exception').on('gw_saf').columns(['exception', 'state']).execute();
    },
  };
}
