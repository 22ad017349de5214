import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/** The QR part's tables (qr-tables.ts says what each column means). */
export function qrMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      // Dynamic merchant-presented orders, created by a terminal for one amount.
      await db.schema
        .createTable('pay_qr_orders')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('merchant_party_id', 'text', (c) => c.notNull())
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('client_id', key, (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        // The payment that claimed the order (pay_transactions.id).
        .addColumn('txn_id', key)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_qr_orders_client').on('pay_qr_orders').columns(['terminal_id', 'client_id']).unique().execute();
      await db.schema.createIndex('pay_qr_orders_txn').on('pay_qr_orders').columns(['txn_id']).execute();

      // Customer-presented one-time payment codes: only the blind index of the code is kept.
      await db.schema
        .createTable('pay_payment_codes')
        .addColumn('code_index', key, (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text', (c) => c.notNull())
        .addColumn('account_id', key, (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('txn_id', key)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_payment_codes_user').on('pay_payment_codes').columns(['user_id', 'created_at']).execute();
    },
  };
}
