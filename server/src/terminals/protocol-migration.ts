import { sql, type Generated, type Kysely, type Migration } from 'kysely';
import type { IdentityTables } from '../identity/tables.js';
import type { Dialect } from '../platform/db/database.js';
import type { TerminalSharedTables } from './contracts.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/** The protocol part's own tables (and the shared command queue), for Kysely. Times in µs. */
export interface ProtocolOwnTables {
  terminal_sessions: {
    id: string;
    terminal_id: string;
    /** Key handles (sealed under the LMK by the crypto service) and their check values. */
    pin_key: string;
    pin_kcv: string;
    mac_key: string;
    mac_kcv: string;
    data_key: string;
    data_kcv: string;
    lmk_version: number;
    /** The batch this sign-on opened, 1–999999 per terminal. */
    batch_no: number;
    /** Highest `X-Terminal-Seq` accepted under this session (0 = none yet). */
    last_seq: number;
    /** The sign-on message's own timestamp (ms): a later sign-on must carry a later one. */
    signed_at: number;
    opened_at: number;
    expires_at: number;
    closed_at: number | null;
  };
  terminal_operators: {
    id: string;
    owner_party_id: string;
    operator_no: string;
    name: string;
    role: string;
    password_hash: string;
    failed_attempts: number;
    locked_until: number;
    disabled: number;
    created_at: number;
  };
  terminal_operator_sessions: {
    /** SHA-256 of the operator token (base64url); the token itself is never stored. */
    token_hash: string;
    operator_id: string;
    session_id: string;
    terminal_id: string;
    created_at: number;
    closed_at: number | null;
  };
  terminal_heartbeats: {
    terminal_id: string;
    ts: number;
    app_versions: string | null;
    network: string | null;
    signal_dbm: number | null;
    battery: number | null;
    charging: number | null;
    lat_e6: number | null;
    lng_e6: number | null;
  };
}

/** The command queue with its cursor column (monotonic per database, for the wake poller). */
export interface CommandRow {
  terminal_commands: TerminalSharedTables['terminal_commands'] & { seq: Generated<number> };
}

export type ProtocolTables = ProtocolOwnTables & CommandRow & Omit<TerminalSharedTables, 'terminal_commands'> & Pick<IdentityTables, 'parties' | 'organisations'>;

/**
 * 0005-terminal-protocol: sign-on sessions, operators and their sign-ons, heartbeat history and the
 * durable command queue (`terminal_commands`, columns as contracts.ts fixes them, plus `seq`).
 */
export function terminalProtocolMigration(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  return {
    async up(db: Db) {
      await db.schema
        .createTable('terminal_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        .addColumn('pin_key', 'text', (c) => c.notNull())
        .addColumn('pin_kcv', 'text', (c) => c.notNull())
        .addColumn('mac_key', 'text', (c) => c.notNull())
        .addColumn('mac_kcv', 'text', (c) => c.notNull())
        .addColumn('data_key', 'text', (c) => c.notNull())
        .addColumn('data_kcv', 'text', (c) => c.notNull())
        .addColumn('lmk_version', 'integer', (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('signed_at', 'bigint', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        // Every terminal request moves last_seq: free room on each page keeps the update in place
        // (HOT) on PostgreSQL, since no index covers last_seq.
        .$call((t) => (pg ? t.modifyEnd(sql`with (fillfactor = 70)`) : t))
        .execute();
      await db.schema.createIndex('terminal_sessions_terminal').on('terminal_sessions').columns(['terminal_id', 'opened_at']).execute();
      // At most one open session per terminal: a sign-on closes the previous one in its transaction.
      await sql`create unique index terminal_sessions_open on terminal_sessions (terminal_id) where closed_at is null`.execute(db);

      await db.schema
        .createTable('terminal_operators')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_party_id', 'text', (c) => c.notNull().references('parties.id'))
        .addColumn('operator_no', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('terminal_operators_no').on('terminal_operators').columns(['owner_party_id', 'operator_no']).unique().execute();

      await db.schema
        .createTable('terminal_operator_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('operator_id', 'text', (c) => c.notNull().references('terminal_operators.id'))
        .addColumn('session_id', 'text', (c) => c.notNull().references('terminal_sessions.id'))
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        .execute();
      await db.schema.createIndex('terminal_operator_sessions_session').on('terminal_operator_sessions').columns(['session_id']).execute();

      await db.schema
        .createTable('terminal_heartbeats')
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('app_versions', 'text')
        .addColumn('network', 'text')
        .addColumn('signal_dbm', 'integer')
        .addColumn('battery', 'integer')
        .addColumn('charging', 'integer')
        .addColumn('lat_e6', 'integer')
        .addColumn('lng_e6', 'integer')
        .execute();
      await db.schema.createIndex('terminal_heartbeats_terminal').on('terminal_heartbeats').columns(['terminal_id', 'ts']).execute();
      await db.schema.createIndex('terminal_heartbeats_ts').on('terminal_heartbeats').columns(['ts']).execute();

      // The command queue. `seq` is a per-database counter in commit-ish order: terminals fetch
      // in seq order and every process's wake poller follows it as a cursor (push.ts).
      let commands = db.schema.createTable('terminal_commands');
      commands = pg
        ? commands.addColumn('id', 'text', (c) => c.primaryKey()).addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedByDefaultAsIdentity())
        : commands.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement()).addColumn('id', 'text', (c) => c.notNull().unique());
      await commands
        .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('not_before', 'bigint')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('acked_at', 'bigint')
        .addColumn('result', 'text')
        .execute();
      await db.schema.createIndex('terminal_commands_pending').on('terminal_commands').columns(['terminal_id', 'status', 'seq']).execute();
      await db.schema.createIndex('terminal_commands_terminal').on('terminal_commands').columns(['terminal_id', 'seq']).execute();
      // The sweep's and the wake poller's indexes are partial and lead with a time, so that no
      // planner (SQLite has no statistics here) prefers them to the per-terminal index above for a
      // terminal's own commands — (status, expires_at) made every fetch scan all pending commands.
      await sql`create index terminal_commands_expiry on terminal_commands (expires_at) where status = 'pending'`.execute(db);
      await sql`create index terminal_commands_not_before on terminal_commands (not_before) where status = 'pending' and not_before is not null`.execute(db);
    },
  };
}
