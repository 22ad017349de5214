/**
 * Migration 0012-gateway-switch: the card-switch link's journal, its store and forward, its zone
 * keys and its counters. Column meanings are in `tables.ts`.
 */
import { randomInt } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/** Four base-36 digits: 36^4 installation prefixes for RRNs (see `counters.ts`). */
const RRN_PREFIX_SPACE = 36 ** 4;

export function switchMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('gw_switch_txns')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('txn_id', key, (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('mti', 'text', (c) => c.notNull())
        .addColumn('processing_code', 'text', (c) => c.notNull())
        .addColumn('acquirer_id', 'text', (c) => c.notNull())
        .addColumn('stan', 'text', (c) => c.notNull())
        .addColumn('rrn', key, (c) => c.notNull().unique())
        .addColumn('transmitted_at', 'text', (c) => c.notNull())
        .addColumn('terminal_ref', 'text', (c) => c.notNull())
        .addColumn('merchant_ref', 'text', (c) => c.notNull())
        .addColumn('terminal_id', 'text')
        .addColumn('merchant_party_id', 'text')
        .addColumn('pan_sealed', 'text')
        .addColumn('pan_masked', 'text')
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_code', 'text')
        .addColumn('auth_code', 'text')
        .addColumn('balance', 'bigint')
        .addColumn('settlement_date', 'text')
        .addColumn('late_response_code', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('gw_switch_txns_settlement').on('gw_switch_txns').columns(['settlement_date', 'state']).execute();
      await db.schema.createIndex('gw_switch_txns_created').on('gw_switch_txns').columns(['created_at']).execute();

      await db.schema
        .createTable('gw_saf')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('txn_id', key, (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('original_txn_id', key, (c) => c.notNull())
        .addColumn('rrn', key, (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('response_code', 'text')
        .addColumn('settlement_date', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('acknowledged_at', 'bigint')
        .execute();
      // The forwarder's scan: queued rows that are due, oldest first.
      await db.schema.createIndex('gw_saf_due').on('gw_saf').columns(['state', 'next_attempt_at', 'created_at']).execute();
      await db.schema.createIndex('gw_saf_original').on('gw_saf').columns(['original_txn_id']).execute();
      await db.schema.createIndex('gw_saf_created').on('gw_saf').columns(['created_at']).execute();
      // A refund's own RRN is unique like every RRN we assign; a reversal repeats its original's.
      await db.schema.createIndex('gw_saf_rrn').on('gw_saf').columns(['rrn', 'kind']).execute();

      await db.schema
        .createTable('gw_switch_keys')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('blob', 'text', (c) => c.notNull())
        .addColumn('kcv', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('gw_switch_counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db
        .insertInto('gw_switch_counters')
        .values([
          { name: 'stan', value: 0 },
          { name: 'rrn', value: 0 },
          // Random per installation, so that a database rebuilt from scratch does not hand the
          // switch RRNs it already saw from us.
          { name: 'rrn_prefix', value: randomInt(RRN_PREFIX_SPACE) },
        ])
        .execute();
    },
  };
}
