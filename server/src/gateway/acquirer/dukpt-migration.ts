/**
 * Migration 0017-gateway-pos-dukpt: DUKPT PIN pads on the acquirer host (owner: DUKPT part;
 * the logic is in dukpt.ts, the wire layout in messages.ts).
 *
 * `pos_bdks` — base derivation keys, formed at a staff key ceremony from 2–3 clear components
 * (never stored or logged). Names are permanent: a new BDK gets a new name.
 *   name        text PK   letters, digits, '.', '_', '-' (1–32)
 *   algorithm   text      'TDES2' (TDES DUKPT, X9.24-1) | 'AES128' | 'AES256' (AES DUKPT, X9.24-3)
 *   bdk         text      the key: a crypto-service handle blob (type 'BDK', sealed under the LMK)
 *   kcv         text      its check value, 6 hex
 *   created_by  text|null the staff user of the ceremony
 *   created_at  bigint µs
 *
 * `pos_terminals` gains
 *   pin_mode    text      'tpk' (default: format 0 under the session TPK) | 'dukpt-tdes' | 'dukpt-aes'
 *   bdk_name    text|null pos_bdks.name for the two DUKPT modes, null for 'tpk'
 *
 * `pos_dukpt_ksns` — every KSN a PIN block was accepted under, so a KSN is used for one request
 * only (a replayed PIN block is refused '63'); a retry of the same request (same terminal and
 * client id) passes. Rows older than XIAOWEI_DUKPT_KSN_KEEP_DAYS are pruned into `pos_dukpt_floors`
 * (migration 0020, below; the rule in dukpt.ts).
 *   bdk_name, ksn (PK)    ksn as upper-case hex (20 digits TDES, 24 AES)
 *   terminal_id           the terminal that used it
 *   client_id             the engine client id of the request (`iso:<batch>:<stan>`)
 *   created_at            bigint µs
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export type PinMode = 'tpk' | 'dukpt-tdes' | 'dukpt-aes';
export type BdkAlgorithm = 'TDES2' | 'AES128' | 'AES256';

export interface DukptTables {
  pos_bdks: {
    name: string;
    algorithm: BdkAlgorithm;
    bdk: string;
    kcv: string;
    created_by: string | null;
    created_at: number;
  };
  pos_dukpt_ksns: {
    bdk_name: string;
    ksn: string;
    terminal_id: string;
    client_id: string;
    created_at: number;
  };
  pos_dukpt_floors: {
    bdk_name: string;
    device: string;
    counter: number;
    updated_at: number;
  };
}

/**
 * Migration 0020-gateway-dukpt-floors: pruning of the KSN replay table.
 *
 * `pos_dukpt_floors` — per PIN pad (its initial KSN: the KSN with the counter bits zero) under a
 * BDK, the highest transaction counter among the KSNs pruned from `pos_dukpt_ksns`. A KSN of that
 * pad whose counter is at or below the floor and that is not in `pos_dukpt_ksns` was used (and
 * pruned) or skipped long ago: it is refused as a replay.
 *   bdk_name, device (PK)  device as upper-case hex, the KSN's length
 *   counter                bigint
 *   updated_at             bigint µs
 * Plus an index on `pos_dukpt_ksns.created_at` for the pruning scan.
 */
export function posDukptFloorsMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pos_dukpt_floors')
        .addColumn('bdk_name', key, (c) => c.notNull())
        .addColumn('device', key, (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pos_dukpt_floors_pk', ['bdk_name', 'device'])
        .execute();
      await db.schema.createIndex('pos_dukpt_ksns_created').on('pos_dukpt_ksns').columns(['created_at']).execute();
    },
  };
}

export function posDukptMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pos_bdks')
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('bdk', 'text', (c) => c.notNull())
        .addColumn('kcv', 'text', (c) => c.notNull())
        .addColumn('created_by', key)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema
        .alterTable('pos_terminals')
        .addColumn('pin_mode', 'text', (c) => c.notNull().defaultTo('tpk'))
        .execute();
      await db.schema.alterTable('pos_terminals').addColumn('bdk_name', key).execute();

      await db.schema
        .createTable('pos_dukpt_ksns')
        .addColumn('bdk_name', key, (c) => c.notNull())
        .addColumn('ksn', key, (c) => c.notNull())
        .addColumn('terminal_id', key, (c) => c.notNull())
        .addColumn('client_id', key, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pos_dukpt_ksns_pk', ['bdk_name', 'ksn'])
        .execute();
    },
  };
}
