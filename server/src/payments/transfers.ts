/**
 * Account-to-account transfers by a customer: from an own deposit account to any open customer
 * deposit account (2001) of the bank, exactly once by client id, risk assessed, one ledger
 * transfer (code CUSTOMER_TRANSFER_CODE). Insufficient funds answer '51'; the same client id
 * with other fields answers '94', as the terminal engine does.
 */
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { toSafeInt } from '../platform/int.js';
import type { TxnReply } from './contracts.js';
import { CUSTOMER_DEPOSIT_CODE, ownAccount } from './customer-accounts.js';
import type { PaymentsDeps } from './deps.js';
import { commitPayment } from './qr-commit.js';
import type { QrTables } from './qr-tables.js';
import { sha256 } from './qr.js';

export interface TransferRequest {
  clientId: string;
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  memo?: string | undefined;
}

export async function customerTransfer(deps: PaymentsDeps, actor: Actor, input: TransferRequest): Promise<TxnReply> {
  const from = await ownAccount(deps, actor, input.fromAccountId);
  if (input.toAccountId === input.fromAccountId) throw new XiaoweiError('validation_failed', 'toAccountId must differ from fromAccountId');
  const to = await (deps.db as Kysely<QrTables>).selectFrom('ledger_accounts').select(['id', 'code', 'flags']).where('id', '=', input.toAccountId).executeTakeFirst();
  if (!to || toSafeInt(to.code) !== CUSTOMER_DEPOSIT_CODE || (toSafeInt(to.flags) & (1 << 4)) !== 0) throw new XiaoweiError('payment_transfer_target_invalid');
  const nowUs = deps.now();
  return commitPayment(deps, {
    type: 'transfer',
    scope: actor.user_id,
    clientId: input.clientId,
    requestHash: sha256({ t: 'transfer', from: from.id, to: to.id, amount: input.amount, memo: input.memo ?? null }),
    orgId: actor.org_id,
    merchantPartyId: null,
    accountId: from.id,
    counterAccountId: to.id,
    amount: input.amount,
    fee: 0,
    terminalId: null,
    batch: null,
    traceNo: null,
    risk: { type: 'transfer', amount: input.amount, at: nowUs, org_id: actor.org_id, merchant_party_id: null, terminal_id: null, card_id: null, account_id: from.id },
  });
}
