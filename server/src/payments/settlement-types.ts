import type { PaymentsDeps } from './deps.js';

/** What settlement and reconciliation need of the payments deps (the CLI and the bench build just this). */
export type SettlementDeps = Pick<PaymentsDeps, 'db' | 'database' | 'ledger' | 'now'>;

/** Whose settlements a reader sees: staff by organisation subtree, a merchant owner its own. */
export type SettlementScope = { kind: 'staff'; orgIds: readonly string[] } | { kind: 'owner'; partyId: string | null };
