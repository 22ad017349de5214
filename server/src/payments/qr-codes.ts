/**
 * Customer-presented payment codes: the mobile page shows an 18-digit one-time code ("62" + 16
 * random digits, the shape of UnionPay's 付款码), valid 60 s, bound to one own deposit account.
 * Only its blind index is stored. A terminal scans or types it with an amount: a QR sale from
 * that account to the terminal's merchant, exactly once by the terminal's client id; a code that
 * is unknown, used or expired is declined 'A0'.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { toSafeInt } from '../platform/int.js';
import type { TerminalPrincipal } from '../terminals/contracts.js';
import { feeFor, type TxnReply } from './contracts.js';
import { ownAccount } from './customer-accounts.js';
import type { PaymentsDeps } from './deps.js';
import { loadMerchant } from './merchants.js';
import { openBatch } from './batches.js';
import type { EngineDb } from './engine-rows.js';
import { commitPayment } from './qr-commit.js';
import type { QrTables } from './qr-tables.js';
import { sha256 } from './qr.js';

export const CODE_TTL_S = 60;
/** Codes one user may take per TTL: a page refreshing its code, not a loop minting them. */
export const MAX_CODES_PER_TTL = 5;
/** A user's own codes are deleted a day after they expired, when the user takes a new one. */
const KEEP_EXPIRED_US = 86_400_000_000;
export const CODE_PREFIX = '62';
export const CODE_PATTERN = '^[0-9]{18}$';
const CODE_PURPOSE = 'pay-code';

type Db = Kysely<QrTables>;

function newCode(): string {
  let digits = CODE_PREFIX;
  while (digits.length < 18) digits += String(randomInt(10));
  return digits;
}

/** Issues a one-time code for an own account; the code itself is answered once and never stored. */
export async function issueCode(deps: PaymentsDeps, actor: Actor, accountId: string): Promise<{ code: string; expiresAt: number }> {
  const account = await ownAccount(deps, actor, accountId);
  const nowUs = deps.now();
  const expiresUs = nowUs + CODE_TTL_S * 1_000_000;
  const db = deps.db as Db;
  const recent = await db.selectFrom('pay_payment_codes').select('code_index').where('user_id', '=', actor.user_id).where('created_at', '>', nowUs - CODE_TTL_S * 1_000_000).limit(MAX_CODES_PER_TTL).execute();
  if (recent.length >= MAX_CODES_PER_TTL) throw new XiaoweiError('rate_limited');
  await db.deleteFrom('pay_payment_codes').where('user_id', '=', actor.user_id).where('expires_at', '<', nowUs - KEEP_EXPIRED_US).execute();
  // 10^16 codes: a collision with a live one is astronomically unlikely; the primary key would refuse it.
  const code = newCode();
  await db
    .insertInto('pay_payment_codes')
    .values({ code_index: deps.secrets.blindIndex(CODE_PURPOSE, code), user_id: actor.user_id, party_id: account.party, account_id: account.id, org_id: actor.org_id, expires_at: expiresUs, used_at: null, txn_id: null, created_at: nowUs })
    .execute();
  return { code, expiresAt: Math.floor(expiresUs / 1000) };
}

export interface ScanInput {
  clientId: string;
  amount: number;
  code: string;
}

/** A terminal takes a customer's code for `amount`. */
export async function scanCode(deps: PaymentsDeps, terminal: TerminalPrincipal, input: ScanInput, traceNo: number | null): Promise<TxnReply> {
  const db = deps.db as Db;
  const nowUs = deps.now();
  const merchant = await loadMerchant(deps.db, terminal.owner_party_id);
  const index = /^[0-9]{18}$/.test(input.code) ? deps.secrets.blindIndex(CODE_PURPOSE, input.code) : null;
  const found = index ? await db.selectFrom('pay_payment_codes').selectAll().where('code_index', '=', index).executeTakeFirst() : undefined;
  const usable = found && found.used_at === null && toSafeInt(found.expires_at) > nowUs;
  const decline = !merchant || merchant.status !== 'active' ? '03' : usable ? null : 'A0';
  const orgId = merchant?.org_id ?? terminal.org_id;
  return commitPayment(deps, {
    type: 'qr_sale',
    scope: terminal.terminal_id,
    clientId: input.clientId,
    // The blind index, not the code: the hash must not let anyone test codes.
    requestHash: sha256({ t: 'qr_scan', amount: input.amount, code: index ?? input.code.length }),
    orgId,
    merchantPartyId: terminal.owner_party_id,
    accountId: found?.account_id ?? null,
    counterAccountId: null,
    amount: input.amount,
    fee: merchant ? feeFor(merchant.fee_plan, input.amount) : 0,
    terminalId: terminal.terminal_id,
    operatorId: terminal.operator?.id ?? null,
    batch: await openBatch(deps.db as EngineDb, terminal.terminal_id, nowUs),
    traceNo,
    decline,
    risk: { type: 'qr_sale', amount: input.amount, at: nowUs, org_id: orgId, merchant_party_id: terminal.owner_party_id, terminal_id: terminal.terminal_id, card_id: null, account_id: found?.account_id ?? null },
    claim: async (trx, txnId) => {
      const claimed = await trx
        .updateTable('pay_payment_codes')
        .set({ used_at: nowUs, txn_id: txnId })
        .where('code_index', '=', index!)
        .where('used_at', 'is', null)
        .where('expires_at', '>', nowUs)
        .executeTakeFirst();
      return Number(claimed.numUpdatedRows) === 1 ? null : 'A0';
    },
  });
}
