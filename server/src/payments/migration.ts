import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/**
 * The payments domain's shared tables (contracts.ts says what each column means): fee plans,
 * acquiring merchants, the bank's own cards, card usage, keys, terminal batches and transactions.
 * The risk, QR and settlement parts add their own tables in their own migrations.
 */
export function paymentsMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pay_fee_plans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('rate_bp', 'integer', (c) => c.notNull())
        .addColumn('min_fee', 'bigint', (c) => c.notNull())
        .addColumn('max_fee', 'bigint')
        .addColumn('fixed_fee', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_fee_plans_name').on('pay_fee_plans').columns(['org_id', 'name']).unique().execute();

      await db.schema
        .createTable('pay_merchants')
        .addColumn('party_id', 'text', (c) => c.primaryKey().references('parties.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('mcc', 'text', (c) => c.notNull())
        .addColumn('fee_plan_id', 'text', (c) => c.notNull().references('pay_fee_plans.id'))
        .addColumn('receivable_account_id', key, (c) => c.notNull())
        .addColumn('settlement_account_id', key, (c) => c.notNull())
        .addColumn('settlement_cycle', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_merchants_org').on('pay_merchants').columns(['org_id']).execute();

      await db.schema
        .createTable('pay_keys')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('blob', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('kcv', 'text', (c) => c.notNull())
        .addColumn('lmk_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('pay_cards')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token', 'text', (c) => c.notNull().unique())
        .addColumn('pan_index', 'text', (c) => c.notNull().unique())
        .addColumn('pan_sealed', 'text', (c) => c.notNull())
        .addColumn('bin', 'text', (c) => c.notNull())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('expiry', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text', (c) => c.notNull().references('parties.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('account_id', key, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('pin_method', 'text', (c) => c.notNull())
        .addColumn('pin_offset', 'text', (c) => c.notNull())
        .addColumn('pvki', 'integer', (c) => c.notNull())
        .addColumn('pvk_name', 'text', (c) => c.notNull().references('pay_keys.name'))
        .addColumn('pin_tries', 'integer', (c) => c.notNull())
        .addColumn('daily_limit', 'bigint', (c) => c.notNull())
        .addColumn('per_txn_limit', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_cards_party').on('pay_cards').columns(['party_id']).execute();
      await db.schema.createIndex('pay_cards_org').on('pay_cards').columns(['org_id', 'created_at']).execute();

      await db.schema
        .createTable('pay_card_usage')
        .addColumn('card_id', 'text', (c) => c.notNull())
        .addColumn('business_date', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('pay_card_usage_pk', ['card_id', 'business_date'])
        .execute();

      await db.schema
        .createTable('pay_batches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        .addColumn('terminal_totals', 'text')
        .addColumn('host_totals', 'text')
        .addColumn('result', 'text')
        .execute();
      await db.schema.createIndex('pay_batches_no').on('pay_batches').columns(['terminal_id', 'batch_no']).unique().execute();
      await db.schema.createIndex('pay_batches_status').on('pay_batches').columns(['status', 'closed_at']).execute();

      await db.schema
        .createTable('pay_transactions')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('response_code', 'text', (c) => c.notNull())
        .addColumn('client_scope', key, (c) => c.notNull())
        .addColumn('client_id', key, (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('reply', 'text', (c) => c.notNull())
        .addColumn('terminal_id', 'text')
        .addColumn('merchant_party_id', 'text')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text')
        .addColumn('operator_id', 'text')
        .addColumn('card_id', 'text')
        .addColumn('card_last4', 'text')
        .addColumn('account_id', key)
        .addColumn('counter_account_id', key)
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('fee', 'bigint', (c) => c.notNull())
        .addColumn('refunded_amount', 'bigint', (c) => c.notNull())
        .addColumn('refunded_fee', 'bigint', (c) => c.notNull())
        .addColumn('original_id', key)
        .addColumn('trace_no', 'bigint')
        .addColumn('auth_code', 'text')
        .addColumn('pending_transfer_id', key)
        .addColumn('hold_expires_at', 'bigint')
        .addColumn('risk', 'text')
        .addColumn('business_date', 'text', (c) => c.notNull())
        .addColumn('settlement_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // Exactly once: one transaction per client id of a terminal (or a mobile user).
      await db.schema.createIndex('pay_txn_client').on('pay_transactions').columns(['client_scope', 'client_id']).unique().execute();
      await db.schema.createIndex('pay_txn_merchant_date').on('pay_transactions').columns(['merchant_party_id', 'business_date']).execute();
      await db.schema.createIndex('pay_txn_batch').on('pay_transactions').columns(['batch_id']).execute();
      await db.schema.createIndex('pay_txn_card').on('pay_transactions').columns(['card_id', 'created_at']).execute();
      await db.schema.createIndex('pay_txn_original').on('pay_transactions').columns(['original_id']).execute();
      await db.schema.createIndex('pay_txn_org_created').on('pay_transactions').columns(['org_id', 'created_at']).execute();
      await db.schema.createIndex('pay_txn_status').on('pay_transactions').columns(['status', 'type']).execute();
    },
  };
}

