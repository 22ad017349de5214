/** A customer pays a merchant-presented code (static or dynamic) from an own deposit account. */
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { feeFor, type TxnReply } from './contracts.js';
import { ownAccount } from './customer-accounts.js';
import type { PaymentsDeps } from './deps.js';
import { openBatch } from './batches.js';
import type { EngineDb } from './engine-rows.js';
import { commitPayment } from './qr-commit.js';
import type { QrTables } from './qr-tables.js';
import { decodeQr, orderStatus, sha256 } from './qr.js';

export interface QrPayInput {
  clientId: string;
  payload: string;
  accountId: string;
  /** Fen; required for a static code, and must equal the order's for a dynamic one. */
  amount?: number | undefined;
}

export async function payQr(deps: PaymentsDeps, actor: Actor, input: QrPayInput): Promise<TxnReply> {
  const account = await ownAccount(deps, actor, input.accountId);
  const { face, amount: coded, order } = await decodeQr(deps, input.payload);
  const { merchant } = face;
  if (coded !== null && input.amount !== undefined && input.amount !== coded) throw new XiaoweiError('payment_qr_amount_mismatch');
  const amount = coded ?? input.amount;
  if (amount === undefined) throw new XiaoweiError('payment_qr_amount_required');
  const nowUs = deps.now();
  const requestHash = sha256({ t: 'qr_pay', payload: input.payload, accountId: input.accountId, amount });
  // An order no longer open is refused (409) inside the intent, which then stores nothing; a retry of
  // the request that did pay it never gets there: commitPayment answers its first reply.
  const claim = order
    ? async (trx: Kysely<QrTables>, txnId: string) => {
        const claimed = await trx
          .updateTable('pay_qr_orders')
          .set({ status: 'paid', txn_id: txnId, updated_at: nowUs })
          .where('id', '=', order.id)
          .where('status', '=', 'open')
          .where('expires_at', '>', nowUs)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 1) return null;
        const now = await trx.selectFrom('pay_qr_orders').select(['status', 'expires_at']).where('id', '=', order.id).executeTakeFirstOrThrow();
        throw new XiaoweiError('payment_qr_order_closed', orderStatus(now, nowUs));
      }
    : undefined;
  return commitPayment(deps, {
    type: 'qr_sale',
    scope: actor.user_id,
    clientId: input.clientId,
    requestHash,
    orgId: merchant.org_id,
    merchantPartyId: merchant.party_id,
    accountId: account.id,
    counterAccountId: null,
    amount,
    fee: feeFor(merchant.fee_plan, amount),
    terminalId: order?.terminal_id ?? null,
    // A dynamic order's payment counts in the batch of the terminal that showed it (see the report).
    batch: order ? await openBatch(deps.db as EngineDb, order.terminal_id, nowUs) : null,
    traceNo: null,
    decline: merchant.status === 'active' ? null : '03',
    risk: { type: 'qr_sale', amount, at: nowUs, org_id: merchant.org_id, merchant_party_id: merchant.party_id, terminal_id: order?.terminal_id ?? null, card_id: null, account_id: account.id },
    ...(claim ? { claim } : {}),
  });
}
