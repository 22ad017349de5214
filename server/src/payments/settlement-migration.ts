/**
 * The settlement part's tables.
 *
 * `pay_settlements` — one row per merchant per settlement date (unique). Its id is deterministic,
 * `stl:<date>:<merchant party id>`, and it is also the id the included `pay_transactions` rows are
 * stamped with (`settlement_id`) and the stem of the ledger transfer id (`<id>:settle`), so a run
 * that crashed anywhere completes on the next run without doing anything twice.
 * status: open (claimed, rows not stamped yet; a crashed run leaves it and the next run stamps it
 * first; never shown) → pending (totals fixed, rows stamped, ledger transfer not yet confirmed) →
 * settled; or carried
 * (net < 0: no transfer, rows left unstamped so the next settlement nets them).
 *
 * `pay_recon_exceptions` — what reconciliation found when it compared a closed batch's uploaded
 * lines (`pay_batch_lines`, engine part) with the host's transactions of that batch.
 * `pay_recon_batches` — which closed batches were reconciled (once each).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export const SETTLEMENT_STATUSES = ['open', 'pending', 'settled', 'carried'] as const;
export type SettlementStatus = (typeof SETTLEMENT_STATUSES)[number];
/**
 * The last four are recorded by the engine, not by comparing a batch: a terminal reversed a void
 * that could not be undone — the customer could not be charged again (`void_reversal_unposted`),
 * or an off-us void's advice had already gone to the switch (`void_reversal_offus`). The void stands.
 * Likewise for a refund a terminal reversed (`refund_reversal_unposted`, `refund_reversal_offus`):
 * the refund stands.
 */
export const RECON_KINDS = [
  'missing_on_host',
  'missing_on_terminal',
  'amount_differs',
  'status_differs',
  'void_reversal_unposted',
  'void_reversal_offus',
  'refund_reversal_unposted',
  'refund_reversal_offus',
] as const;
export type ReconKind = (typeof RECON_KINDS)[number];
export const RECON_ACTIONS = ['accept_host', 'reverse_host', 'write_off', 'note'] as const;
export type ReconAction = (typeof RECON_ACTIONS)[number];

export interface SettlementTables {
  pay_settlements: {
    id: string;
    merchant_party_id: string;
    org_id: string;
    /** The settlement date (the run's date). */
    business_date: string;
    cycle: 'T0' | 'T1';
    /** The last business date whose transactions were due (T0: the date itself, T1: the day before). */
    due_date: string;
    status: SettlementStatus;
    sale_count: number;
    sale_amount: number;
    fee_amount: number;
    refund_count: number;
    refund_amount: number;
    /** Fees returned with the refunds. */
    refund_fee: number;
    /** Voids, completion voids and reversals that moved money back (amount, and the fee returned with it). */
    reversal_count: number;
    reversal_amount: number;
    reversal_fee: number;
    /** sale_amount − fee_amount − refund_amount + refund_fee − reversal_amount + reversal_fee. */
    net: number;
    transfer_id: string | null;
    /** The ledger's refusal of the transfer, when it refused (the row stays pending). */
    error: string | null;
    created_at: number;
    settled_at: number | null;
  };
  pay_recon_exceptions: {
    id: string;
    batch_id: string;
    terminal_id: string;
    merchant_party_id: string | null;
    org_id: string;
    batch_no: number;
    kind: ReconKind;
    client_id: string;
    host_txn_id: string | null;
    terminal_type: string | null;
    terminal_amount: number | null;
    host_type: string | null;
    host_amount: number | null;
    host_status: string | null;
    status: 'open' | 'resolved';
    resolution: ReconAction | null;
    note: string | null;
    resolved_by: string | null;
    resolved_at: number | null;
    created_at: number;
  };
  pay_recon_batches: { batch_id: string; exceptions: number; reconciled_at: number };
}

/** Transaction statuses after which a sale-type row's transfers stand (or stood, before a void/reversal). */
export const POSTED_SALE_STATUSES = ['approved', 'refunded', 'voided', 'reversed'] as const;

export function settlementMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pay_settlements')
        .addColumn('id', key, (c) => c.primaryKey())
        .addColumn('merchant_party_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('business_date', 'text', (c) => c.notNull())
        .addColumn('cycle', 'text', (c) => c.notNull())
        .addColumn('due_date', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('sale_count', 'bigint', (c) => c.notNull())
        .addColumn('sale_amount', 'bigint', (c) => c.notNull())
        .addColumn('fee_amount', 'bigint', (c) => c.notNull())
        .addColumn('refund_count', 'bigint', (c) => c.notNull())
        .addColumn('refund_amount', 'bigint', (c) => c.notNull())
        .addColumn('refund_fee', 'bigint', (c) => c.notNull())
        .addColumn('reversal_count', 'bigint', (c) => c.notNull())
        .addColumn('reversal_amount', 'bigint', (c) => c.notNull())
        .addColumn('reversal_fee', 'bigint', (c) => c.notNull())
        .addColumn('net', 'bigint', (c) => c.notNull())
        .addColumn('transfer_id', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('settled_at', 'bigint')
        .execute();
      await db.schema.createIndex('pay_settlements_merchant_date').on('pay_settlements').columns(['merchant_party_id', 'business_date']).unique().execute();
      await db.schema.createIndex('pay_settlements_date').on('pay_settlements').columns(['business_date', 'status']).execute();
      await db.schema.createIndex('pay_settlements_status').on('pay_settlements').columns(['status']).execute();

      // Statements and totals read a settlement's rows by its id.
      await db.schema.createIndex('pay_txn_settlement').on('pay_transactions').columns(['settlement_id']).execute();
      // The rows a run may claim: small (only what is not yet settled), so a run never scans history.
      await sql`create index pay_txn_unsettled on pay_transactions (merchant_party_id, business_date) where settlement_id is null and status in ('approved', 'refunded', 'voided', 'reversed')`.execute(
        db,
      );

      await db.schema
        .createTable('pay_recon_exceptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('merchant_party_id', 'text')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('host_txn_id', 'text')
        .addColumn('terminal_type', 'text')
        .addColumn('terminal_amount', 'bigint')
        .addColumn('host_type', 'text')
        .addColumn('host_amount', 'bigint')
        .addColumn('host_status', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('resolution', 'text')
        .addColumn('note', 'text')
        .addColumn('resolved_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_recon_exc_key').on('pay_recon_exceptions').columns(['batch_id', 'client_id', 'kind']).unique().execute();
      await db.schema.createIndex('pay_recon_exc_status').on('pay_recon_exceptions').columns(['status', 'created_at']).execute();

      await db.schema
        .createTable('pay_recon_batches')
        .addColumn('batch_id', 'text', (c) => c.primaryKey())
        .addColumn('exceptions', 'integer', (c) => c.notNull())
        .addColumn('reconciled_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
