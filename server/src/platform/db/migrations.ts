import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { acquirerMigration } from '../../gateway/acquirer/migration.js';
import { coreMigration } from '../../gateway/core/migration.js';
import { posDukptFloorsMigration, posDukptMigration } from '../../gateway/acquirer/dukpt-migration.js';
import { switchMigration } from '../../gateway/switch/migration.js';
import { safExceptionsMigration } from '../../gateway/switch/saf-migration.js';
import { switchReconMigration } from '../../gateway/switch-recon/migration.js';
import { engineMigration } from '../../payments/engine-migration.js';
import { cardRequestMigration } from '../../payments/card-request-migration.js';
import { paymentsMigration } from '../../payments/migration.js';
import { payoutMigration } from '../../payments/payout-migration.js';
import { qrMigration } from '../../payments/qr-migration.js';
import { riskAccountMigration, riskMigration } from '../../payments/risk-migration.js';
import { settlementMigration } from '../../payments/settlement-migration.js';
import { appsMigration } from '../../terminals/apps-migration.js';
import { terminalProtocolMigration } from '../../terminals/protocol-migration.js';
import { terminalsMigration } from '../../terminals/migration.js';
import type { Database, Dialect } from './database.js';

/**
 * All migrations of every domain, in order. One list for both dialects: where SQLite and
 * PostgreSQL must differ (the transfers table's key) the migration asks `dialect`.
 * Integers that hold fen or microsecond timestamps are `bigint` (SQLite gives them INTEGER affinity).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

function ledger(dialect: Dialect): Migration {
  // Ids are ASCII client ids: on PostgreSQL compare them bytewise. A locale collation (even
  // C.UTF-8 on PostgreSQL 15) costs a strcoll per comparison and no abbreviated keys, in every
  // id index the ledger writes.
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('ledger_accounts')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('ledger', 'integer', (c) => c.notNull())
        .addColumn('code', 'integer', (c) => c.notNull())
        .addColumn('flags', 'integer', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('name', 'text')
        .addColumn('reference', 'text')
        .addColumn('debits_pending', 'bigint', (c) => c.notNull())
        .addColumn('debits_posted', 'bigint', (c) => c.notNull())
        .addColumn('credits_pending', 'bigint', (c) => c.notNull())
        .addColumn('credits_posted', 'bigint', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('last_ts', 'bigint', (c) => c.notNull())
        // Every commit rewrites its accounts' balances: free room on each page lets PostgreSQL
        // update in place (HOT) instead of adding a tuple to every index of the table.
        .$call((t) => (dialect === 'postgres' ? t.modifyEnd(sql`with (fillfactor = 50)`) : t))
        .execute();
      await db.schema.createIndex('ledger_accounts_owner').on('ledger_accounts').columns(['owner_id']).execute();
      await db.schema.createIndex('ledger_accounts_code').on('ledger_accounts').columns(['ledger', 'code']).execute();

      // The journal. On SQLite the timestamp is the rowid so that appends stay sequential.
      let transfers = db.schema.createTable('ledger_transfers');
      transfers =
        dialect === 'sqlite'
          ? transfers.addColumn('ts', 'integer', (c) => c.primaryKey()).addColumn('id', 'text', (c) => c.notNull().unique())
          : transfers.addColumn('id', key, (c) => c.primaryKey()).addColumn('ts', 'bigint', (c) => c.notNull());
      await transfers
        .addColumn('debit_account_id', key, (c) => c.notNull())
        .addColumn('credit_account_id', key, (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('pending_id', key)
        .addColumn('ledger', 'integer', (c) => c.notNull())
        .addColumn('code', 'integer', (c) => c.notNull())
        .addColumn('flags', 'integer', (c) => c.notNull())
        .addColumn('timeout_s', 'integer', (c) => c.notNull())
        .addColumn('reference', 'text')
        // Posted balances of both accounts right after this transfer: statements and
        // balance-at-a-time read them instead of replaying.
        .addColumn('dr_debits_after', 'bigint', (c) => c.notNull())
        .addColumn('dr_credits_after', 'bigint', (c) => c.notNull())
        .addColumn('cr_debits_after', 'bigint', (c) => c.notNull())
        .addColumn('cr_credits_after', 'bigint', (c) => c.notNull())
        .execute();
      if (dialect === 'postgres') {
        await db.schema.createIndex('ledger_transfers_ts').on('ledger_transfers').columns(['ts', 'id']).execute();
      }

      // Per-account index of the journal: (account, ts). Written inline on PostgreSQL and by a
      // deferred bulk indexer on SQLite (see docs/adr/0003-ledger-design.md).
      await sql`create table ledger_account_entries (account_id ${key} not null, ts bigint not null, primary key (account_id, ts))${sql.raw(dialect === 'sqlite' ? ' without rowid' : '')}`.execute(db);

      // State of pending transfers (not part of the journal: the journal holds the pending,
      // post and void transfers themselves).
      await db.schema
        .createTable('ledger_pending')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('debit_account_id', key, (c) => c.notNull())
        .addColumn('credit_account_id', key, (c) => c.notNull())
        .addColumn('ledger', 'integer', (c) => c.notNull())
        .addColumn('code', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_pending_expiry').on('ledger_pending').columns(['status', 'expires_at']).execute();

      // First outcomes of rejected transfers, so that a retry returns the same answer.
      await db.schema
        .createTable('ledger_rejections')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('ledger_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('ledger_meta').values({ key: 'entries_watermark', value: 0 }).execute();

      // Per-day rollups maintained as transfers commit, for dashboards without full scans.
      await db.schema
        .createTable('ledger_daily')
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('ledger', 'integer', (c) => c.notNull())
        .addColumn('code', 'integer', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_daily_pk', ['day', 'ledger', 'code'])
        .execute();
    },
  };
}

const identity: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('organisations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('parent_id', 'text', (c) => c.references('organisations.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_en', 'text')
      .addColumn('region_code', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('organisations_parent').on('organisations').columns(['parent_id']).execute();

    await db.schema
      .createTable('parties')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('national_id_enc', 'text')
      .addColumn('national_id_hmac', 'text')
      .addColumn('national_id_last4', 'text')
      .addColumn('phone', 'text')
      .addColumn('region_code', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('parties_org').on('parties').columns(['org_id', 'created_at']).execute();
    await db.schema.createIndex('parties_national_id').on('parties').columns(['national_id_hmac']).unique().execute();
    await db.schema.createIndex('parties_name').on('parties').columns(['name']).execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id'))
      .addColumn('merchant_id', 'text', (c) => c.references('parties.id'))
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('totp_secret_enc', 'text')
      .addColumn('totp_enabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_login_at', 'bigint')
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_name', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('detail', 'text')
      .addColumn('ip', 'text')
      .addColumn('request_id', 'text')
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').columns(['at']).execute();
  },
};

/** Reference data: administrative divisions (city → district → town → village), filled by seed/reference.ts. */
const reference: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('regions')
      .addColumn('code', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_en', 'text')
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('parent_code', 'text')
      .execute();
    await db.schema.createIndex('regions_parent').on('regions').columns(['parent_code']).execute();
  },
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001-ledger': ledger(this.dialect),
      '0002-identity': identity,
      '0003-reference': reference,
      '0004-terminals': terminalsMigration(this.dialect),
      '0005-terminal-protocol': terminalProtocolMigration(this.dialect),
      '0006-apps': appsMigration(this.dialect),
      '0007-payments': paymentsMigration(this.dialect),
      '0008-payments-risk': riskMigration(this.dialect),
      '0009-payments-qr': qrMigration(this.dialect),
      '0010-payments-settlement': settlementMigration(this.dialect),
      '0011-payments-engine': engineMigration(this.dialect),
      '0012-gateway-switch': switchMigration(this.dialect),
      '0013-gateway-acquirer': acquirerMigration(this.dialect),
      '0014-gateway-switch-recon': switchReconMigration(this.dialect),
      '0015-gateway-core': coreMigration(this.dialect),
      '0016-payments-core-payout': payoutMigration(this.dialect),
      '0017-gateway-pos-dukpt': posDukptMigration(this.dialect),
      '0018-payments-card-requests': cardRequestMigration(this.dialect),
      '0019-gateway-saf-exceptions': safExceptionsMigration(),
      '0020-gateway-dukpt-floors': posDukptFloorsMigration(this.dialect),
      '0021-payments-risk-account': riskAccountMigration(),
    };
  }
}

/** Brings the schema up to date; safe to run on every start and from several processes in turn. */
export async function migrate(database: Database): Promise<string[]> {
  const migrator = new Migrator({ db: database.kysely, provider: new StaticProvider(database.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
