/**
 * A customer's own deposit accounts, as the mobile page sees them. A customer user is bound to
 * its party by `users.merchant_id` (the identity domain's "party the user acts for"); the
 * accounts are the ledger accounts of that party with code 2001 (customer deposit).
 */
import type { Kysely } from 'kysely';
import type { Actor } from '../platform/http/actor.js';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt } from '../platform/int.js';
import type { PaymentsDeps } from './deps.js';
import type { QrTables } from './qr-tables.js';

export const CUSTOMER_DEPOSIT_CODE = 2001;
/** AccountFlags.closed (ledger/types.ts). */
const CLOSED = 1 << 4;

export interface CustomerAccount {
  id: string;
  name: string;
  /** Available balance, fen: posted credits − posted debits − pending debits. */
  balance: number;
}

/** The party a customer user acts for; anyone else is refused. */
export function customerParty(actor: Actor): string {
  if (actor.role !== 'customer' || !actor.merchant_id) throw new XiaoweiError('payment_customer_required');
  return actor.merchant_id;
}

export async function listOwnAccounts(deps: PaymentsDeps, actor: Actor): Promise<CustomerAccount[]> {
  const party = customerParty(actor);
  const { items } = await deps.ledger.listAccounts({ owners: [party], code: CUSTOMER_DEPOSIT_CODE, limit: 100, offset: 0 });
  return items
    .filter((a) => (a.flags & CLOSED) === 0)
    .map((a) => ({ id: a.id, name: a.name ?? a.id, balance: a.credits_posted - a.debits_posted - a.debits_pending }));
}

/** The account, if it is an open deposit account of the actor's own party; 403 otherwise. */
export async function ownAccount(deps: PaymentsDeps, actor: Actor, accountId: string): Promise<{ id: string; party: string }> {
  const party = customerParty(actor);
  const account = await (deps.db as Kysely<QrTables>).selectFrom('ledger_accounts').select(['id', 'code', 'flags', 'owner_id']).where('id', '=', accountId).executeTakeFirst();
  if (!account || account.owner_id !== party || toSafeInt(account.code) !== CUSTOMER_DEPOSIT_CODE || (toSafeInt(account.flags) & CLOSED) !== 0) {
    throw new XiaoweiError('payment_account_not_own');
  }
  return { id: account.id, party };
}
