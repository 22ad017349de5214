import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { XiaoweiError } from '../platform/errors.js';
import { requireActor } from '../platform/http/actor.js';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { CLIENT_ID_PATTERN } from '../platform/ids.js';
import { requireOperator, requireSupervisor } from '../terminals/operators.js';
import { readAuthHeaders, requireTerminal } from '../terminals/terminal-auth.js';
import { closeBatch, hostTotals, openBatch, uploadBatch } from './batches.js';
import { luhnValid } from './cards.js';
import { reconcileBatch } from './reconciliation.js';
import { RESPONSE_CODES, TXN_STATUSES, TXN_TYPES, type BatchTotals } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import * as E from './engine.js';
import { settleBatchInFlight } from './engine-ledger.js';
import type { EngineDb } from './engine-rows.js';
import { searchTransactions, transactionDetail } from './transactions.js';

const TAGS = ['payments: terminal'];
const STAFF_TAGS = ['payments'];
const MAX_AMOUNT = 100_000_000_000; // 10 亿元 in fen: far above any card limit, far below 2^53.

const ClientId = Type.String({ pattern: CLIENT_ID_PATTERN, description: 'Client-chosen id of the request (idempotency key) 客户端请求号' });
const TxnId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Amount = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT, description: 'Fen 分' });
const Card = Type.Object(
  {
    pan: Type.String({ pattern: '^[0-9]{13,19}$', description: 'Card number (Luhn) 卡号' }),
    expiry: Type.String({ pattern: '^[0-9]{2}(0[1-9]|1[0-2])$', description: 'YYMM 有效期' }),
  },
  { additionalProperties: false },
);
const PinBlock = Type.String({ pattern: '^[0-9A-Fa-f]{32}$', description: 'ISO 9564 format 4 PIN block under the session PIN key, hex 密码块' });
const Ms = Type.Integer({ minimum: 0, description: 'Milliseconds since the Unix epoch' });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

const TxnReplySchema = Type.Object({
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
  cardLast4: NullableString,
  batchNo: NullableInt,
  traceNo: NullableInt,
  authCode: NullableString,
  originalId: NullableString,
  at: Ms,
});

const Totals = Type.Object(
  {
    saleCount: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    saleAmount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    refundCount: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    refundAmount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: false });

const SaleBody = obj({
  clientId: ClientId,
  amount: Amount,
  card: Card,
  pinBlock: Type.Optional(PinBlock),
  lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
  lng: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
});
const PreauthBody = obj({ clientId: ClientId, amount: Amount, card: Card, pinBlock: Type.Optional(PinBlock) });
const BalanceBody = obj({ clientId: ClientId, card: Card, pinBlock: PinBlock });
const OriginalBody = obj({ clientId: ClientId, originalId: TxnId });
const OriginalAmountBody = obj({ clientId: ClientId, originalId: TxnId, amount: Amount });
const ReversalBody = obj({ clientId: ClientId, originalClientId: ClientId });
const CloseBody = obj({ clientId: ClientId, totals: Totals });
const UploadBody = obj({
  clientId: ClientId,
  batchNo: Type.Integer({ minimum: 1, maximum: 999_999 }),
  transactions: Type.Array(obj({ clientId: ClientId, type: StringEnum(TXN_TYPES), amount: Type.Integer({ minimum: 0, maximum: MAX_AMOUNT }) }), { maxItems: 10_000 }),
});

const CloseReply = Type.Object({
  batchNo: Type.Integer(),
  result: StringEnum(['balanced', 'mismatch'] as const),
  terminalTotals: Totals,
  hostTotals: Totals,
  nextBatchNo: Type.Integer(),
});
const UploadReply = Type.Object({ batchNo: Type.Integer(), result: StringEnum(['uploaded'] as const), exceptions: Type.Integer() });
const BatchReply = Type.Object({ batchNo: Type.Integer(), openedAt: Ms, totals: Totals, transactions: Type.Array(TxnReplySchema) });

// Staff
const TxnView = Type.Object({
  id: Type.String(),
  type: StringEnum(TXN_TYPES),
  status: StringEnum(TXN_STATUSES),
  response_code: Type.String(),
  client_id: Type.String(),
  terminal_id: NullableString,
  merchant_party_id: NullableString,
  org_id: Type.String(),
  batch_id: NullableString,
  operator_id: NullableString,
  card_id: NullableString,
  card_last4: NullableString,
  account_id: NullableString,
  counter_account_id: NullableString,
  amount: Type.Integer(),
  fee: Type.Integer(),
  refunded_amount: Type.Integer(),
  refunded_fee: Type.Integer(),
  original_id: NullableString,
  trace_no: NullableInt,
  auth_code: NullableString,
  pending_transfer_id: NullableString,
  hold_expires_at: Type.Union([Micros, Type.Null()]),
  business_date: Type.String(),
  settlement_id: NullableString,
  in_flight: Type.Boolean(),
  created_at: Micros,
  updated_at: Micros,
});
const RiskHit = Type.Object({
  rule_id: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  outcome: Type.String(),
  shadow: Type.Boolean(),
  reason: Type.Object({ zh: Type.String(), en: Type.String() }),
});
const TxnDetail = Type.Composite([
  TxnView,
  Type.Object({
    risk: Type.Union([Type.Object({ outcome: Type.String(), code: Type.String(), hits: Type.Array(RiskHit) }), Type.Null()]),
    related: Type.Array(TxnView),
    ledger_transfer_ids: Type.Array(Type.String()),
  }),
]);
const DateOrMicros = Type.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,16})$', description: 'Business date YYYY-MM-DD (inclusive) or µs since the epoch 营业日期或微秒时间戳' });
const TxnQuery = Type.Object(
  {
    merchant_party_id: Type.Optional(TxnId),
    terminal_id: Type.Optional(TxnId),
    type: Type.Optional(StringEnum(TXN_TYPES)),
    status: Type.Optional(StringEnum(TXN_STATUSES)),
    from: Type.Optional(DateOrMicros),
    to: Type.Optional(DateOrMicros),
    last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
    before: Type.Optional(TxnId),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);

const ms = (us: number): number => Math.floor(us / 1000);

/** Diagnostic: XIAOWEI_DURABLE_SEQ=1 waits for the sequence check's own sync before the handler runs, as before (for `BENCH_PAY_VARIANT` comparisons). */
const DURABLE_SEQ = process.env.XIAOWEI_DURABLE_SEQ === '1';

/** The request's terminal, its operator and its sequence number (the trace number). */
function terminalRequest(request: FastifyRequest, supervisor = false): E.TerminalRequest {
  const terminal = requireTerminal(request);
  const operator = supervisor ? requireSupervisor(request) : requireOperator(request);
  return { terminal, operatorId: operator.id, seq: readAuthHeaders(request).seq };
}

function checkCardShape(card: { pan: string }): void {
  if (!luhnValid(card.pan)) throw new XiaoweiError('validation_failed', 'card.pan fails the Luhn check');
}

const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * The terminal transaction set (`/terminal/pay/...`, MAC-signed, camelCase, ms) and the staff
 * transaction views (`/payments/transactions`, snake_case, µs). Declines are 200 answers with a
 * response code; HTTP errors are for requests refused outright.
 */
export const engineRoutes: FastifyPluginAsyncTypebox<PaymentsDeps> = async (app, deps) => {
  // The sequence check is committed, not synced, before the handler runs: every money-moving answer
  // comes after a durable commit of the handler's own (the ledger's, the final update's) whose sync
  // covers the check, and the answer waits for the check's sync anyway (terminal-auth.ts, onSend).
  const mac = { terminalAuth: DURABLE_SEQ ? true : 'ordered-seq' } as const;
  const db = deps.db as EngineDb;
  const reply200 = { 200: TxnReplySchema };

  // Settles claims whose process died and marks lapsed holds expired, every 15 s in every process.
  let sweeping: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    sweeping = setInterval(() => void E.sweepEngine(deps).catch(() => undefined), 15_000);
    sweeping.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeping));

  app.post('/terminal/pay/sale', { config: mac, schema: { tags: TAGS, summary: 'Sale 消费', body: SaleBody, response: reply200 } }, async (request) => {
    checkCardShape(request.body.card);
    return E.sale(deps, terminalRequest(request), request.body);
  });

  app.post('/terminal/pay/balance', { config: mac, schema: { tags: TAGS, summary: 'Balance inquiry 余额查询', body: BalanceBody, response: reply200 } }, async (request) => {
    checkCardShape(request.body.card);
    return E.balance(deps, terminalRequest(request), request.body);
  });

  app.post('/terminal/pay/void', { config: mac, schema: { tags: TAGS, summary: 'Sale void 消费撤销 (supervisor)', body: OriginalBody, response: reply200 } }, async (request) =>
    E.voidSale(deps, terminalRequest(request, true), request.body),
  );

  app.post('/terminal/pay/refund', { config: mac, schema: { tags: TAGS, summary: 'Refund 退货 (supervisor)', body: OriginalAmountBody, response: reply200 } }, async (request) =>
    E.refund(deps, terminalRequest(request, true), request.body),
  );

  app.post('/terminal/pay/preauth', { config: mac, schema: { tags: TAGS, summary: 'Pre-authorisation 预授权', body: PreauthBody, response: reply200 } }, async (request) => {
    checkCardShape(request.body.card);
    return E.preauth(deps, terminalRequest(request), request.body);
  });

  app.post('/terminal/pay/preauth-void', { config: mac, schema: { tags: TAGS, summary: 'Pre-auth void 预授权撤销 (supervisor)', body: OriginalBody, response: reply200 } }, async (request) =>
    E.preauthVoid(deps, terminalRequest(request, true), request.body),
  );

  app.post('/terminal/pay/completion', { config: mac, schema: { tags: TAGS, summary: 'Pre-auth completion 预授权完成', body: OriginalAmountBody, response: reply200 } }, async (request) =>
    E.completion(deps, terminalRequest(request), request.body),
  );

  app.post('/terminal/pay/completion-void', { config: mac, schema: { tags: TAGS, summary: 'Completion void 预授权完成撤销 (supervisor)', body: OriginalBody, response: reply200 } }, async (request) =>
    E.completionVoid(deps, terminalRequest(request, true), request.body),
  );

  app.post('/terminal/pay/reversal', { config: mac, schema: { tags: TAGS, summary: 'Reversal 冲正', body: ReversalBody, response: reply200 } }, async (request) =>
    E.reversal(deps, terminalRequest(request), request.body),
  );

  app.get('/terminal/pay/transactions/:id', {
    config: mac,
    schema: { tags: TAGS, summary: 'One transaction (reprint, status) 交易查询', params: Type.Object({ id: TxnId }), response: reply200 },
  }, async (request) => {
    const terminal = requireTerminal(request);
    const found = await E.terminalTransaction(deps, terminal.terminal_id, request.params.id);
    if (!found) throw new XiaoweiError('payment_transaction_not_found');
    return found;
  });

  app.get('/terminal/pay/batch', { config: mac, schema: { tags: TAGS, summary: 'The open batch 当前批次', response: { 200: BatchReply } } }, async (request) => {
    const terminal = requireTerminal(request);
    const batch = await openBatch(db, terminal.terminal_id, deps.now());
    return { batchNo: batch.batch_no, openedAt: ms(batch.opened_at), totals: await hostTotals(db, batch.id), transactions: await E.batchTransactions(deps, batch) };
  });

  /** Exactly once for batch close and upload: the first reply under (terminal, clientId). */
  const once = async <T>(terminalId: string, clientId: string, kind: 'batch_close' | 'batch_upload', body: unknown, act: () => Promise<T>): Promise<T> => {
    const hash = hashOf([kind, body]);
    const known = await db.selectFrom('pay_engine_requests').selectAll().where('terminal_id', '=', terminalId).where('client_id', '=', clientId).executeTakeFirst();
    if (known) {
      if (known.request_hash !== hash) throw new XiaoweiError('payment_request_reused');
      return JSON.parse(known.reply) as T;
    }
    const result = await act();
    try {
      await db.insertInto('pay_engine_requests').values({ terminal_id: terminalId, client_id: clientId, kind, request_hash: hash, reply: JSON.stringify(result), created_at: deps.now() }).execute();
    } catch {
      const again = await db.selectFrom('pay_engine_requests').selectAll().where('terminal_id', '=', terminalId).where('client_id', '=', clientId).executeTakeFirst();
      if (again) return JSON.parse(again.reply) as T;
    }
    return result;
  };

  app.post('/terminal/pay/batch/close', { config: mac, schema: { tags: TAGS, summary: 'Batch settlement 批结算', body: CloseBody, response: { 200: CloseReply } } }, async (request) => {
    const { terminal } = terminalRequest(request);
    const totals: BatchTotals = request.body.totals;
    return once(terminal.terminal_id, request.body.clientId, 'batch_close', request.body, () =>
      closeBatch(db, terminal.terminal_id, totals, deps.now(), (batchId) => settleBatchInFlight(deps, batchId)),
    );
  });

  app.post('/terminal/pay/batch/upload', { config: mac, schema: { tags: TAGS, summary: 'Batch upload 批上送', body: UploadBody, response: { 200: UploadReply } } }, async (request) => {
    const { terminal } = terminalRequest(request);
    const { batchNo, transactions } = request.body;
    return once(terminal.terminal_id, request.body.clientId, 'batch_upload', request.body, async () => {
      const uploaded = await uploadBatch(db, terminal.terminal_id, batchNo, transactions, deps.now());
      const exceptions = await reconcileAfterUpload(deps, uploaded.batchId, uploaded.exceptions, request.log);
      return { batchNo, result: 'uploaded' as const, exceptions };
    });
  });

  // ─── Staff ───────────────────────────────────────────────────────────────────────────────────

  app.get('/payments/transactions', {
    config: { permission: 'payment:read' },
    schema: {
      tags: STAFF_TAGS,
      summary: 'Payment transactions 交易查询',
      description: 'Newest first; pass next_before as before for the next page. 按时间倒序；翻页传 next_before。',
      querystring: TxnQuery,
      response: { 200: Type.Object({ items: Type.Array(TxnView), next_before: NullableString }) },
    },
  }, async (request) => searchTransactions(db, requireActor(request), request.query));

  app.get('/payments/transactions/:id', {
    config: { permission: 'payment:read' },
    schema: { tags: STAFF_TAGS, summary: 'One payment transaction 交易详情', params: Type.Object({ id: TxnId }), response: { 200: TxnDetail } },
  }, async (request) => {
    const detail = await transactionDetail(db, deps.ledger, requireActor(request), request.params.id);
    if (!detail) throw new XiaoweiError('payment_transaction_not_found');
    return detail;
  });
};

/**
 * Hands an uploaded batch to reconciliation (settlement part), which records its exceptions and
 * answers how many; if it fails, the upload stands (the settle run reconciles batches not yet
 * reconciled) and the engine's own count answers.
 */
async function reconcileAfterUpload(deps: PaymentsDeps, batchId: string, own: number, log: FastifyBaseLogger): Promise<number> {
  try {
    return await reconcileBatch(deps, batchId);
  } catch (error) {
    log.error({ err: error, batchId }, 'reconciliation after batch upload failed');
    return own;
  }
}
