/**
 * Migration 0014-gateway-switch-recon: reconciliation against the card switch's settlement file.
 *
 * `gw_recon_files` — one imported file per (acquirer id, settlement date), unique. `sha256` of the
 * text makes a repeated import answer the first result; another text for the same date is refused.
 * `transfer_id` is the one ledger transfer of the file's net (null when the net is 0); `posted_at`
 * is set once the ledger confirmed it (an import whose ledger call failed is completed by importing
 * the same file again).
 *
 * `gw_recon_lines` — the file's D lines with their outcome: matched (a platform item of the same
 * type and RRN with the same amount), amount_mismatch, missing_on_platform (both with an exception),
 * or paired (it cancels an earlier file's exception of the same RRN: the switch put the item in
 * another day's file than we expected). `platform_txn_id` names the platform row it matched, or,
 * for an unexpected line, the journal row with that RRN if there is one.
 *
 * `gw_recon_exceptions` — a difference for staff. `difference` is the platform's signed amount minus
 * the switch's (sign: SALE +, REFUND and REVERSAL −), which is exactly what the item leaves on
 * bank:switch-clearing. status open → resolving (an action claimed it; its ledger or engine call
 * is under way, and only the same action may complete it) → resolved. `settled_file_id`: a later
 * file paired it (the item arrived after all), so clearing no longer carries it.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';
import type { SwitchTables } from '../switch/tables.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export const RECORD_TYPES = ['SALE', 'REFUND', 'REVERSAL'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export const LINE_OUTCOMES = ['matched', 'amount_mismatch', 'missing_on_platform', 'paired'] as const;
export type LineOutcome = (typeof LINE_OUTCOMES)[number];
export const EXCEPTION_KINDS = ['missing_on_switch', 'missing_on_platform', 'amount_mismatch'] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];
export const EXCEPTION_STATUSES = ['open', 'resolving', 'resolved'] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];
/** Staff actions; `paired` is set by an import when a later file settles an open exception. */
export const STAFF_ACTIONS = ['write_off', 'reverse', 'accept'] as const;
export type StaffAction = (typeof STAFF_ACTIONS)[number];
export type ExceptionAction = StaffAction | 'paired';

export interface SwitchReconTables {
  gw_recon_files: {
    id: string;
    acquirer_id: string;
    settlement_date: string;
    /** The header's creation time, as written by the switch. */
    file_created_at: string;
    sha256: string;
    line_count: number;
    sale_count: number;
    sale_amount: number;
    refund_count: number;
    refund_amount: number;
    reversal_count: number;
    reversal_amount: number;
    debit_total: number;
    credit_total: number;
    /** debit_total − credit_total: > 0 the switch pays the bank. */
    net: number;
    matched_count: number;
    exception_count: number;
    paired_count: number;
    transfer_id: string | null;
    imported_by: string;
    imported_at: number;
    posted_at: number | null;
  };
  gw_recon_lines: {
    id: string;
    file_id: string;
    line_no: number;
    rrn: string;
    type: RecordType;
    amount: number;
    sign: 'D' | 'C';
    stan: string;
    transmitted_at: string;
    terminal_ref: string;
    merchant_ref: string;
    pan_masked: string;
    auth_code: string | null;
    original_rrn: string | null;
    outcome: LineOutcome;
    platform_txn_id: string | null;
    platform_amount: number | null;
    exception_id: string | null;
  };
  gw_recon_exceptions: {
    id: string;
    file_id: string;
    kind: ExceptionKind;
    type: RecordType;
    rrn: string;
    /** The platform row: the sale's pay_transactions.id (SALE) or the advice's txn id (REFUND, REVERSAL). */
    platform_txn_id: string | null;
    /** What the platform's journal says of it (e.g. 'approved', 'unknown', 'rejected 13'). */
    platform_state: string | null;
    line_no: number | null;
    switch_amount: number | null;
    platform_amount: number | null;
    difference: number;
    status: ExceptionStatus;
    action: ExceptionAction | null;
    note: string | null;
    resolved_by: string | null;
    resolved_at: number | null;
    transfer_id: string | null;
    reversal_txn_id: string | null;
    settled_file_id: string | null;
    created_at: number;
  };
}

/** The switch link's journal (switch/tables.ts, migration 0012), which reconciliation reads. */
export type SwitchJournalTables = Pick<SwitchTables, 'gw_switch_txns' | 'gw_saf'>;

export function switchReconMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('gw_recon_files')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('acquirer_id', 'text', (c) => c.notNull())
        .addColumn('settlement_date', 'text', (c) => c.notNull())
        .addColumn('file_created_at', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('line_count', 'integer', (c) => c.notNull())
        .addColumn('sale_count', 'integer', (c) => c.notNull())
        .addColumn('sale_amount', 'bigint', (c) => c.notNull())
        .addColumn('refund_count', 'integer', (c) => c.notNull())
        .addColumn('refund_amount', 'bigint', (c) => c.notNull())
        .addColumn('reversal_count', 'integer', (c) => c.notNull())
        .addColumn('reversal_amount', 'bigint', (c) => c.notNull())
        .addColumn('debit_total', 'bigint', (c) => c.notNull())
        .addColumn('credit_total', 'bigint', (c) => c.notNull())
        .addColumn('net', 'bigint', (c) => c.notNull())
        .addColumn('matched_count', 'integer', (c) => c.notNull())
        .addColumn('exception_count', 'integer', (c) => c.notNull())
        .addColumn('paired_count', 'integer', (c) => c.notNull())
        .addColumn('transfer_id', 'text')
        .addColumn('imported_by', 'text', (c) => c.notNull())
        .addColumn('imported_at', 'bigint', (c) => c.notNull())
        .addColumn('posted_at', 'bigint')
        .execute();
      await db.schema.createIndex('gw_recon_files_date').on('gw_recon_files').columns(['acquirer_id', 'settlement_date']).unique().execute();
      await db.schema.createIndex('gw_recon_files_listed').on('gw_recon_files').columns(['settlement_date']).execute();

      await db.schema
        .createTable('gw_recon_lines')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('file_id', key, (c) => c.notNull().references('gw_recon_files.id'))
        .addColumn('line_no', 'integer', (c) => c.notNull())
        .addColumn('rrn', key, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('sign', 'text', (c) => c.notNull())
        .addColumn('stan', 'text', (c) => c.notNull())
        .addColumn('transmitted_at', 'text', (c) => c.notNull())
        .addColumn('terminal_ref', 'text', (c) => c.notNull())
        .addColumn('merchant_ref', 'text', (c) => c.notNull())
        .addColumn('pan_masked', 'text', (c) => c.notNull())
        .addColumn('auth_code', 'text')
        .addColumn('original_rrn', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('platform_txn_id', key)
        .addColumn('platform_amount', 'bigint')
        .addColumn('exception_id', key)
        .execute();
      await db.schema.createIndex('gw_recon_lines_file').on('gw_recon_lines').columns(['file_id', 'line_no']).unique().execute();
      await db.schema.createIndex('gw_recon_lines_rrn').on('gw_recon_lines').columns(['rrn']).execute();
      await db.schema.createIndex('gw_recon_lines_platform').on('gw_recon_lines').columns(['platform_txn_id']).execute();

      await db.schema
        .createTable('gw_recon_exceptions')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('file_id', key, (c) => c.notNull().references('gw_recon_files.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('rrn', key, (c) => c.notNull())
        .addColumn('platform_txn_id', key)
        .addColumn('platform_state', 'text')
        .addColumn('line_no', 'integer')
        .addColumn('switch_amount', 'bigint')
        .addColumn('platform_amount', 'bigint')
        .addColumn('difference', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('action', 'text')
        .addColumn('note', 'text')
        .addColumn('resolved_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('transfer_id', 'text')
        .addColumn('reversal_txn_id', 'text')
        .addColumn('settled_file_id', key)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // One exception per item of a file (an item is a type and an RRN).
      await db.schema.createIndex('gw_recon_exc_item').on('gw_recon_exceptions').columns(['file_id', 'type', 'rrn']).unique().execute();
      await db.schema.createIndex('gw_recon_exc_status').on('gw_recon_exceptions').columns(['status', 'created_at']).execute();
      await db.schema.createIndex('gw_recon_exc_rrn').on('gw_recon_exceptions').columns(['rrn']).execute();
      await db.schema.createIndex('gw_recon_exc_platform').on('gw_recon_exceptions').columns(['platform_txn_id']).execute();

      // Reconciliation reads the link's advices by the date the switch acknowledged them (0012 made
      // the table; this read is ours, so is the index).
      await db.schema.createIndex('gw_recon_saf_date').on('gw_saf').columns(['settlement_date', 'kind', 'state']).execute();
    },
  };
}
