/**
 * Migration 0013-gateway-acquirer: the acquirer host's tables (owner: acquirer part).
 *
 * `pos_terminals` — a platform terminal of kind 'pos' registered for the ISO 8583 host:
 *   terminal_id         text PK   terminals.id
 *   tid                 text      ISO 8583 field 41, 8 characters, unique
 *   mid                 text      field 42, 15 characters (the merchant's acquirer-side number)
 *   owner_party_id      text      the terminal's owner (an enrolled merchant) at registration; refreshed at sign-on
 *   org_id              text      the terminal's organisation (staff scope of the list), refreshed likewise
 *   tmk                 text      the terminal master key: a crypto-service handle blob (sealed under the LMK)
 *   tmk_kcv             text      its check value, 6 hex
 *   status              text      'active' | 'disabled'
 *   current_session_id  text|null pos_sessions.id of the last sign-on; null until the first, and after a re-key
 *   pin_mode, bdk_name            added by 0017 (dukpt-migration.ts): how the terminal's PIN blocks are keyed
 *   created_at, updated_at bigint µs
 *
 * `pos_sessions` — one per sign-on (0800): the working keys the host generated and sent under the TMK.
 *   id text PK · terminal_id · tpk, tak text (handle blobs, TDES2) · batch_no integer (60.2 answered) ·
 *   signed_on_at bigint · closed_at bigint|null (the next sign-on, a sign-off or a re-key closes it)
 *
 * `pos_settlements` — the answer to a batch settlement (0500) per (terminal, batch number), so a
 * repeated 0500 for a closed batch gets the same answer and never closes another batch; the
 * upload (0320) outcome is added to it.
 *   terminal_id, batch_no (PK) · result 'balanced' | 'mismatch' · terminal_totals, host_totals
 *   text (JSON BatchTotals) · upload_exceptions integer|null · uploaded_at bigint|null · created_at bigint
 *
 * `pos_upload_lines` — batch-upload lines (0320) as they arrive, before the closing 0320 hands
 * them to the engine's upload; a repeated line (same STAN) replaces nothing.
 *   terminal_id, batch_no, stan (PK) · type text (TxnType) · amount bigint · received_at bigint
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';
import type { DukptTables, PinMode } from './dukpt-migration.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export interface AcquirerTables extends DukptTables {
  pos_terminals: {
    terminal_id: string;
    tid: string;
    mid: string;
    owner_party_id: string;
    org_id: string;
    tmk: string;
    tmk_kcv: string;
    status: 'active' | 'disabled';
    current_session_id: string | null;
    /** Added by 0017 (dukpt-migration.ts). */
    pin_mode: PinMode;
    bdk_name: string | null;
    created_at: number;
    updated_at: number;
  };
  pos_sessions: {
    id: string;
    terminal_id: string;
    tpk: string;
    tak: string;
    batch_no: number;
    signed_on_at: number;
    closed_at: number | null;
  };
  pos_settlements: {
    terminal_id: string;
    batch_no: number;
    result: 'balanced' | 'mismatch';
    terminal_totals: string;
    host_totals: string;
    upload_exceptions: number | null;
    uploaded_at: number | null;
    created_at: number;
  };
  pos_upload_lines: {
    terminal_id: string;
    batch_no: number;
    stan: string;
    type: string;
    amount: number;
    received_at: number;
  };
}

export function acquirerMigration(dialect: Dialect): Migration {
  // Byte order for ids on PostgreSQL, as the other parts do.
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pos_terminals')
        .addColumn('terminal_id', key, (c) => c.primaryKey())
        .addColumn('tid', key, (c) => c.notNull().unique())
        .addColumn('mid', 'text', (c) => c.notNull())
        .addColumn('owner_party_id', key, (c) => c.notNull())
        .addColumn('org_id', key, (c) => c.notNull())
        .addColumn('tmk', 'text', (c) => c.notNull())
        .addColumn('tmk_kcv', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('current_session_id', key)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pos_terminals_org').on('pos_terminals').columns(['org_id', 'created_at']).execute();

      await db.schema
        .createTable('pos_sessions')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('terminal_id', key, (c) => c.notNull())
        .addColumn('tpk', 'text', (c) => c.notNull())
        .addColumn('tak', 'text', (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('signed_on_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        .execute();
      await db.schema.createIndex('pos_sessions_terminal').on('pos_sessions').columns(['terminal_id', 'signed_on_at']).execute();

      await db.schema
        .createTable('pos_settlements')
        .addColumn('terminal_id', key, (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('terminal_totals', 'text', (c) => c.notNull())
        .addColumn('host_totals', 'text', (c) => c.notNull())
        .addColumn('upload_exceptions', 'integer')
        .addColumn('uploaded_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pos_settlements_pk', ['terminal_id', 'batch_no'])
        .execute();

      await db.schema
        .createTable('pos_upload_lines')
        .addColumn('terminal_id', key, (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('stan', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pos_upload_lines_pk', ['terminal_id', 'batch_no', 'stan'])
        .execute();
    },
  };
}
