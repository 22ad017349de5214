import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { requireActor } from '../platform/http/actor.js';
import { TERMINAL_HEADERS } from '../terminals/canonical.js';
import { requireOperator } from '../terminals/operators.js';
import { requireTerminal } from '../terminals/terminal-auth.js';
import { listOwnAccounts } from './customer-accounts.js';
import type { PaymentsDeps } from './deps.js';
import { issueCode, scanCode } from './qr-codes.js';
import { payQr } from './qr-pay.js';
import * as S from './qr-schemas.js';
import { createOrder, decodeQr, orderState, staticPayload } from './qr.js';
import { customerTransfer } from './transfers.js';

const TERMINAL_TAGS = ['terminal payments'];
const CUSTOMER_TAGS = ['customer payments'];

/** The trace number of a terminal request: its protocol sequence number (already verified). */
const traceNo = (request: FastifyRequest): number | null => {
  const seq = Number(request.headers[TERMINAL_HEADERS.seq]);
  return Number.isSafeInteger(seq) ? seq : null;
};

/**
 * QR payments: the terminal side (dynamic orders, the static code, scanning a customer's payment
 * code) and the customer side (accounts, decoding and paying a code, one-time payment codes,
 * account-to-account transfers). Terminal replies and bodies are camelCase with ms times.
 */
export const qrRoutes: FastifyPluginAsyncTypebox<PaymentsDeps> = async (app, deps) => {
  const mac = { terminalAuth: true };
  const pay = { permission: 'payment:pay' };

  app.post('/terminal/pay/qr/orders', {
    config: mac,
    schema: { tags: TERMINAL_TAGS, summary: 'Create a dynamic QR order 生成动态收款码', body: S.OrderBody, response: { 200: S.OrderReply } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    requireOperator(request);
    return createOrder(deps, terminal, request.body);
  });

  app.get('/terminal/pay/qr/orders/:id', {
    config: mac,
    schema: { tags: TERMINAL_TAGS, summary: 'QR order status 收款订单状态', params: S.OrderParams, response: { 200: S.OrderStateReply } },
  }, async (request) => orderState(deps, requireTerminal(request).terminal_id, request.params.id));

  app.get('/terminal/pay/qr/static', {
    config: mac,
    schema: { tags: TERMINAL_TAGS, summary: 'The merchant’s static QR code 商户静态收款码', response: { 200: S.StaticReply } },
  }, async (request) => ({ payload: await staticPayload(deps, requireTerminal(request).owner_party_id) }));

  app.post('/terminal/pay/qr/scan', {
    config: mac,
    schema: { tags: TERMINAL_TAGS, summary: 'Take a customer’s payment code 扫付款码收款', body: S.ScanBody, response: { 200: S.TxnReplySchema } },
  }, async (request) => {
    const terminal = requireTerminal(request);
    requireOperator(request);
    return scanCode(deps, terminal, request.body, traceNo(request));
  });

  app.get('/pay/accounts', {
    config: pay,
    schema: { tags: CUSTOMER_TAGS, summary: 'My deposit accounts 我的账户', response: { 200: S.AccountsReply } },
  }, async (request) => ({ items: await listOwnAccounts(deps, requireActor(request)) }));

  app.post('/pay/qr/decode', {
    config: pay,
    schema: { tags: CUSTOMER_TAGS, summary: 'Read a merchant QR code 识别收款码', body: S.DecodeBody, response: { 200: S.DecodeReply } },
  }, async (request) => {
    requireActor(request);
    const { face, amount, order } = await decodeQr(deps, request.body.payload);
    return { merchantName: face.name, merchantCity: face.city, mcc: face.merchant.mcc, amount, orderId: order?.id ?? null };
  });

  app.post('/pay/qr/pay', {
    config: pay,
    schema: { tags: CUSTOMER_TAGS, summary: 'Pay a merchant QR code 扫码付款', body: S.PayBody, response: { 200: S.TxnReplySchema } },
  }, async (request) => payQr(deps, requireActor(request), request.body));

  app.post('/pay/codes', {
    config: pay,
    schema: { tags: CUSTOMER_TAGS, summary: 'A one-time payment code 付款码', body: S.CodeBody, response: { 200: S.CodeReply } },
  }, async (request) => issueCode(deps, requireActor(request), request.body.accountId));

  app.post('/pay/transfers', {
    config: pay,
    schema: { tags: CUSTOMER_TAGS, summary: 'Transfer between accounts 转账', body: S.TransferBody, response: { 200: S.TxnReplySchema } },
  }, async (request) => customerTransfer(deps, requireActor(request), request.body));
};
