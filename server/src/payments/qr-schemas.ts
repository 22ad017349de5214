/** TypeBox schemas of the QR, payment-code and transfer routes (terminal and customer: camelCase, ms). */
import { Type } from '@sinclair/typebox';
import { CLIENT_ID_PATTERN } from '../platform/ids.js';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { RESPONSE_CODES, TXN_STATUSES, TXN_TYPES } from './contracts.js';
import { CODE_PATTERN } from './qr-codes.js';

/** ¥100,000,000.00: far above any limit, far below what a safe integer or field 54 can carry. */
export const MAX_AMOUNT = 10_000_000_000;

const Ms = Type.Integer({ minimum: 0, description: 'Milliseconds since the Unix epoch' });
const ClientId = Type.String({ pattern: CLIENT_ID_PATTERN, description: 'Idempotency key chosen by the caller 客户端流水号' });
const Amount = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT, description: 'Fen 金额（分）' });
const AccountId = Type.String({ minLength: 1, maxLength: 128 });
const Payload = Type.String({ minLength: 1, maxLength: 512, description: 'EMVCo MPM payload 二维码内容' });

export const TxnReplySchema = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  type: StringEnum(TXN_TYPES),
  status: StringEnum(TXN_STATUSES),
  approved: Type.Boolean(),
  responseCode: StringEnum(Object.keys(RESPONSE_CODES) as (keyof typeof RESPONSE_CODES)[]),
  message: Type.Object({ zh: Type.String(), en: Type.String() }),
  amount: Type.Integer(),
  fee: Type.Integer(),
  balance: Type.Optional(Type.Integer()),
  cardLast4: Type.Union([Type.String(), Type.Null()]),
  batchNo: Type.Union([Type.Integer(), Type.Null()]),
  traceNo: Type.Union([Type.Integer(), Type.Null()]),
  authCode: Type.Union([Type.String(), Type.Null()]),
  originalId: Type.Union([Type.String(), Type.Null()]),
  at: Ms,
});

export const OrderBody = Type.Object({ clientId: ClientId, amount: Amount }, { additionalProperties: false });
export const OrderReply = Type.Object({ orderId: Type.String(), payload: Type.String(), expiresAt: Ms });
export const OrderParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) });
export const OrderStateReply = Type.Object({
  orderId: Type.String(),
  status: StringEnum(['open', 'paid', 'expired', 'cancelled'] as const),
  transaction: Type.Union([TxnReplySchema, Type.Null()]),
});
export const StaticReply = Type.Object({ payload: Type.String() });
export const ScanBody = Type.Object(
  { clientId: ClientId, amount: Amount, code: Type.String({ pattern: CODE_PATTERN, description: 'The customer’s 18-digit payment code 付款码' }) },
  { additionalProperties: false },
);

export const AccountsReply = Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), balance: Type.Integer() })) });
export const DecodeBody = Type.Object({ payload: Payload }, { additionalProperties: false });
export const DecodeReply = Type.Object({
  merchantName: Type.String(),
  merchantCity: Type.String(),
  mcc: Type.String(),
  amount: Type.Union([Type.Integer(), Type.Null()]),
  orderId: Type.Union([Type.String(), Type.Null()]),
});
export const PayBody = Type.Object({ clientId: ClientId, payload: Payload, accountId: AccountId, amount: Type.Optional(Amount) }, { additionalProperties: false });
export const CodeBody = Type.Object({ accountId: AccountId }, { additionalProperties: false });
export const CodeReply = Type.Object({ code: Type.String(), expiresAt: Ms });
export const TransferBody = Type.Object(
  { clientId: ClientId, fromAccountId: AccountId, toAccountId: AccountId, amount: Amount, memo: Type.Optional(Type.String({ maxLength: 60 })) },
  { additionalProperties: false },
);
