import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/**
 * The risk part's tables: rules (one row each, with its mode and current version), every version
 * of every rule (never changed once written), the decisions of assessments that hit at least one
 * rule (with one row per hit, for the per-rule summaries) and the reviewers' decisions on held
 * transactions. Plus an index on pay_transactions for per-terminal velocity and daily totals.
 */
export function riskMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createTable('risk_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        // Bumped on every change (version or mode): the sum over all rules is the cache's key.
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('risk_rules_org').on('risk_rules').columns(['org_id']).execute();

      await db.schema
        .createTable('risk_rule_versions')
        .addColumn('rule_id', 'text', (c) => c.notNull().references('risk_rules.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('risk_rule_versions_pk', ['rule_id', 'version'])
        .execute();

      await db.schema
        .createTable('risk_decisions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('merchant_party_id', 'text')
        .addColumn('terminal_id', 'text')
        .addColumn('card_id', 'text')
        .addColumn('account_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('hits', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('risk_decisions_org_at').on('risk_decisions').columns(['org_id', 'at']).execute();

      await db.schema
        .createTable('risk_hits')
        .addColumn('decision_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('shadow', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('risk_hits_pk', ['decision_id', 'rule_id'])
        .execute();
      await db.schema.createIndex('risk_hits_rule_at').on('risk_hits').columns(['rule_id', 'at']).execute();

      await db.schema
        .createTable('risk_reviews')
        .addColumn('txn_id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('actor_name', 'text', (c) => c.notNull())
        .addColumn('status_after', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('risk_reviews_decision').on('risk_reviews').columns(['decision', 'decided_at']).execute();

      // Velocity and daily totals per terminal (per card and per merchant use the shared indexes).
      await db.schema.createIndex('risk_txn_terminal_created').on('pay_transactions').columns(['terminal_id', 'created_at']).execute();
    },
  };
}

/**
 * Migration 0021-payments-risk-account: velocity and daily totals per payer account (scope
 * `account`, the only subject a customer transfer has) count by (account_id, created_at).
 */
export function riskAccountMigration(): Migration {
  return {
    async up(db: Db) {
      await db.schema.createIndex('risk_txn_account_created').on('pay_transactions').columns(['account_id', 'created_at']).execute();
    },
  };
}
