/**
 * Merchant-presented QR codes of the bank's merchants: the static code of a merchant (the payer
 * types the amount) and dynamic orders a terminal creates for one amount, plus reading a payload
 * back to the merchant and order it names. Payload layout (docs in the QR report):
 *   00 "01" · 01 "11" static / "12" dynamic · 26 { 00 "CN.XIAOWEI", 01 merchant party id, 02 order id }
 *   · 52 MCC · 53 "156" · 54 amount (dynamic) · 58 "CN" · 59 name (ASCII) · 60 city (ASCII)
 *   · 64 { 00 "ZH", 01 name, 02 city } · 63 CRC.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { TxnReply } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { amountToFen, buildMpm, EmvQrError, fenToAmount, parseMpm } from './emv-qr.js';
import { loadMerchant, type LoadedMerchant } from './merchants.js';
import { settledReply } from './qr-commit.js';
import type { QrTables } from './qr-tables.js';

/** Globally unique identifier of our merchant account template (26.00), reverse-domain style. */
export const QR_GUI = 'CN.XIAOWEI';
/** A dynamic order can be paid for five minutes (a customer at the counter, not a bill). */
export const ORDER_TTL_S = 300;
export const CNY_NUMERIC = '156';

type Db = Kysely<QrTables>;
export type OrderRow = QrTables['pay_qr_orders'];
export type OrderStatus = 'open' | 'paid' | 'expired' | 'cancelled';

export const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** Keeps printable ASCII (59/60 are in the common character set), cut to `max` characters. */
function ascii(text: string, max: number): string | null {
  const kept = text.replace(/[^\x20-\x7e]/g, '').replace(/\s+/g, ' ').trim().slice(0, max).trim();
  return kept.length > 0 ? kept : null;
}

export interface MerchantFace {
  merchant: LoadedMerchant;
  name: string;
  city: string;
}

/** The merchant as a customer sees it: the party's name and its organisation's name as the city. */
export async function merchantFace(deps: PaymentsDeps, partyId: string): Promise<MerchantFace | undefined> {
  const merchant = await loadMerchant(deps.db, partyId);
  if (!merchant) return undefined;
  const db = deps.db as Db;
  const party = await db.selectFrom('parties').select(['name']).where('id', '=', partyId).executeTakeFirst();
  const org = await db.selectFrom('organisations').select(['name', 'name_en']).where('id', '=', merchant.org_id).executeTakeFirst();
  return { merchant, name: party?.name ?? partyId, city: org?.name ?? '' };
}

function payloadFor(face: MerchantFace, order: { id: string; amount: number } | null): string {
  return buildMpm({
    initiation: order ? 'dynamic' : 'static',
    accounts: [{ id: '26', fields: [{ id: '00', value: QR_GUI }, { id: '01', value: face.merchant.party_id }, ...(order ? [{ id: '02', value: order.id }] : [])] }],
    mcc: face.merchant.mcc,
    currency: CNY_NUMERIC,
    amount: order ? fenToAmount(order.amount) : null,
    country: 'CN',
    merchantName: ascii(face.name, 25) ?? 'XIAOWEI MERCHANT',
    merchantCity: ascii(face.city, 15) ?? 'CN',
    language: { preference: 'ZH', name: Array.from(face.name).slice(0, 25).join(''), city: face.city ? Array.from(face.city).slice(0, 15).join('') : null },
  });
}

async function activeFace(deps: PaymentsDeps, partyId: string): Promise<MerchantFace> {
  const face = await merchantFace(deps, partyId);
  if (!face || face.merchant.status !== 'active') throw new XiaoweiError('payment_qr_merchant_inactive');
  return face;
}

/** The static code of a merchant (no amount; the payer enters it). */
export async function staticPayload(deps: PaymentsDeps, partyId: string): Promise<string> {
  return payloadFor(await activeFace(deps, partyId), null);
}

export function orderStatus(row: Pick<OrderRow, 'status' | 'expires_at'>, nowUs: number): OrderStatus {
  if (row.status === 'open' && toSafeInt(row.expires_at) <= nowUs) return 'expired';
  return row.status;
}

export interface OrderView {
  orderId: string;
  payload: string;
  expiresAt: number;
}

/**
 * A terminal's dynamic order, exactly once per (terminal, client id): the same request again
 * answers the same order; other fields under that client id are refused.
 */
export async function createOrder(deps: PaymentsDeps, terminal: { terminal_id: string; owner_party_id: string }, input: { clientId: string; amount: number }): Promise<OrderView> {
  const db = deps.db as Db;
  const hash = sha256({ amount: input.amount });
  const view = (r: OrderRow): OrderView => {
    if (r.request_hash !== hash) throw new XiaoweiError('payment_qr_client_id_reused');
    return { orderId: r.id, payload: r.payload, expiresAt: Math.floor(toSafeInt(r.expires_at) / 1000) };
  };
  const find = () => db.selectFrom('pay_qr_orders').selectAll().where('terminal_id', '=', terminal.terminal_id).where('client_id', '=', input.clientId).executeTakeFirst();
  const existing = await find();
  if (existing) return view(existing);

  const face = await activeFace(deps, terminal.owner_party_id);
  const nowUs = deps.now();
  const id = newId();
  const row: OrderRow = {
    id,
    merchant_party_id: face.merchant.party_id,
    terminal_id: terminal.terminal_id,
    org_id: face.merchant.org_id,
    client_id: input.clientId,
    request_hash: hash,
    amount: input.amount,
    payload: payloadFor(face, { id, amount: input.amount }),
    status: 'open',
    expires_at: nowUs + ORDER_TTL_S * 1_000_000,
    txn_id: null,
    created_at: nowUs,
    updated_at: nowUs,
  };
  await db.insertInto('pay_qr_orders').values(row).onConflict((oc) => oc.columns(['terminal_id', 'client_id']).doNothing()).execute();
  return view((await find())!);
}

/** An order's status for the terminal that created it, with the payment once there is one. */
export async function orderState(deps: PaymentsDeps, terminalId: string, orderId: string): Promise<{ orderId: string; status: OrderStatus; transaction: TxnReply | null }> {
  const db = deps.db as Db;
  const order = await db.selectFrom('pay_qr_orders').selectAll().where('id', '=', orderId).executeTakeFirst();
  if (!order || order.terminal_id !== terminalId) throw new XiaoweiError('payment_qr_order_unknown');
  let transaction: TxnReply | null = null;
  if (order.txn_id) {
    const txn = await db.selectFrom('pay_transactions').selectAll().where('id', '=', order.txn_id).executeTakeFirst();
    // An in-flight payment is rolled forward here, so a crash mid-payment cannot leave it unknown.
    if (txn) transaction = await settledReply(deps, txn);
  }
  const again = transaction && !transaction.approved ? await db.selectFrom('pay_qr_orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow() : order;
  const status = orderStatus(again, deps.now());
  return { orderId, status, transaction: status === 'paid' ? transaction : null };
}

/** What a payload names, checked against our records. */
export interface DecodedQr {
  face: MerchantFace;
  /** Fen, from the payload (dynamic codes). */
  amount: number | null;
  order: OrderRow | null;
}

/** Reads a payload (CRC and structure verified) and finds its merchant and order. */
export async function decodeQr(deps: PaymentsDeps, payload: string): Promise<DecodedQr> {
  let qr;
  try {
    qr = parseMpm(payload);
  } catch (error) {
    if (error instanceof EmvQrError) throw new XiaoweiError('payment_qr_invalid', `${error.problem}${error.id ? ` (${error.id})` : ''}`);
    throw error;
  }
  const ours = qr.accounts.find((a) => a.gui === QR_GUI);
  const partyId = ours?.fields['01'];
  if (!ours || !partyId || qr.currency !== CNY_NUMERIC) throw new XiaoweiError('payment_qr_not_ours');
  const face = await merchantFace(deps, partyId);
  if (!face) throw new XiaoweiError('payment_qr_not_ours');
  const amount = qr.amount === null ? null : amountToFen(qr.amount);
  const orderId = ours.fields['02'] ?? null;
  let order: OrderRow | null = null;
  if (orderId !== null) {
    order = (await (deps.db as Db).selectFrom('pay_qr_orders').selectAll().where('id', '=', orderId).executeTakeFirst()) ?? null;
    // The order must be the one the payload was made for: same merchant, same amount.
    if (!order || order.merchant_party_id !== partyId || toSafeInt(order.amount) !== amount) throw new XiaoweiError('payment_qr_order_unknown');
  } else if (qr.initiation === 'dynamic' && amount === null) {
    throw new XiaoweiError('payment_qr_invalid', 'a dynamic code needs an amount');
  }
  return { face, amount, order };
}
