/**
 * Migration 0016-payments-core-payout: merchant settlement paid into the merchant's account in the
 * bank's external core-banking system (settlement.ts, "payouts through the core").
 *
 * `pay_merchants.core_account` — the merchant's account number in the core (digits), or null: its
 * settlements go to its settlement account (2002) on the ledger as before.
 *
 * `pay_settlements.payout_state` — how the net reaches the merchant, fixed when the settlement is
 * claimed (never changed afterwards, so a ledger leg is never made twice to two places):
 *   none — the ledger transfer receivable → settlement account (2002); no core involved;
 *   due  — the ledger leg goes receivable → bank:core-clearing; the core credit under `payout_id`
 *          is still to be sent (first try, or the next id after a definite rejection);
 *   sent — the credit under `payout_id` to `payout_account` was (or may have been) sent and its
 *          outcome is not known: the next run asks the core's status of that id first, and never
 *          moves to a new id until the core says it was rejected;
 *   done — the core posted it (the settlement is settled).
 * `payout_id` — the core request id (idempotency key): `<settlement id>:payout`, then `:payout:2`, …
 * `payout_account` — the core account the current `payout_id` was sent to (kept so a repeat under
 * the same id carries the same fields); null until sent.
 * `payout_code` — the core's last answer for the payout ('00', '14', '91', … or 'unknown').
 * The payout's error text (zh / en) is in `error`, as a ledger refusal is.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export const PAYOUT_STATES = ['none', 'due', 'sent', 'done'] as const;
export type PayoutState = (typeof PAYOUT_STATES)[number];

/** Core account numbers a merchant may register: 8–32 digits. */
export const CORE_ACCOUNT_PATTERN = '^[0-9]{8,32}$';

/** The columns this migration adds (intersect with the tables' own types). */
export interface PayoutTables {
  pay_merchants: { core_account: string | null };
  pay_settlements: {
    payout_state: PayoutState;
    payout_id: string | null;
    payout_account: string | null;
    payout_code: string | null;
  };
}

export function payoutMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable('pay_merchants').addColumn('core_account', 'text').execute();
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema
        .alterTable('pay_settlements')
        .addColumn('payout_state', 'text', (c) => c.notNull().defaultTo('none'))
        .execute();
      await db.schema.alterTable('pay_settlements').addColumn('payout_id', 'text').execute();
      await db.schema.alterTable('pay_settlements').addColumn('payout_account', 'text').execute();
      await db.schema.alterTable('pay_settlements').addColumn('payout_code', 'text').execute();
    },
  };
}
