import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/**
 * The fleet's tables: terminals, groups, group members (named and shaped as contracts.ts says,
 * because the protocol and apps parts read them) and one-time activation codes.
 * Timestamps are microseconds since the epoch; coordinates are millionths of a degree.
 */
export function terminalsMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createTable('terminals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('serial', 'text', (c) => c.notNull().unique())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('owner_party_id', 'text', (c) => c.notNull().references('parties.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('region_code', 'text')
        .addColumn('lat_e6', 'integer')
        .addColumn('lng_e6', 'integer')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('device_public_key', 'text')
        .addColumn('activated_at', 'bigint')
        .addColumn('last_seen_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // Fleet's own: the effective heartbeat interval when a group or the terminal sets one
        // (null = the default). Kept with the row so that "online" is a plain SQL condition for
        // lists and the fleet summary instead of merging every terminal's parameters in memory.
        .addColumn('heartbeat_interval_s', 'integer')
        .execute();
      await db.schema.createIndex('terminals_org').on('terminals').columns(['org_id', 'created_at']).execute();
      await db.schema.createIndex('terminals_owner').on('terminals').columns(['owner_party_id']).execute();
      await db.schema.createIndex('terminals_status').on('terminals').columns(['status']).execute();
      await db.schema.createIndex('terminals_region').on('terminals').columns(['region_code']).execute();

      await db.schema
        .createTable('terminal_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('maintenance_window', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Names are unique within an organisation, so staff can tell groups apart in a picker.
      await db.schema.createIndex('terminal_groups_name').on('terminal_groups').columns(['org_id', 'name']).unique().execute();

      await db.schema
        .createTable('terminal_group_members')
        .addColumn('group_id', 'text', (c) => c.notNull().references('terminal_groups.id'))
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        .addPrimaryKeyConstraint('terminal_group_members_pk', ['group_id', 'terminal_id'])
        .execute();
      await db.schema.createIndex('terminal_group_members_terminal').on('terminal_group_members').columns(['terminal_id']).execute();

      await db.schema
        .createTable('terminal_activation_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        // Only the keyed hash of the code is stored: whoever reads the table cannot activate.
        .addColumn('code_index', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        // Fleet's own: set when a newer code, a lock or retirement made this one void.
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('terminal_activation_codes_terminal')
        .on('terminal_activation_codes')
        .columns(['terminal_id', 'created_at'])
        .execute();
    },
  };
}
