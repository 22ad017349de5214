import { Type } from '@sinclair/typebox';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { RECON_ACTIONS, RECON_KINDS, SETTLEMENT_STATUSES } from './settlement-migration.js';
import { PAYOUT_STATES } from './payout-migration.js';
import { DATE_PATTERN } from './settlement.js';

/** TypeBox schemas of the settlement and reconciliation staff API (snake_case, fen, µs). */
const Id = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9._:-]+$' });
export const IdParams = Type.Object({ id: Id });
const DateString = Type.String({ pattern: DATE_PATTERN, description: 'Business date YYYY-MM-DD 业务日期' });
const Fen = Type.Integer({ description: 'fen 分' });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

export const RunBody = Type.Object({ date: DateString }, { additionalProperties: false });

export const RunSummary = Type.Object({
  date: Type.String(),
  merchants: Type.Integer({ description: 'Settlements of the date 当日结算商户数' }),
  created: Type.Integer({ description: 'Of them created by this run 本次新建' }),
  settled: Type.Integer(),
  carried: Type.Integer({ description: 'Net below zero: carried to the next settlement 净额为负，顺延' }),
  pending: Type.Integer({ description: 'Ledger refused the transfer; retried by the next run 账务拒绝，待重试' }),
  transactions: Type.Integer(),
  gross: Fen,
  fees: Fen,
  refunds: Fen,
  net: Fen,
  reconciled_batches: Type.Integer(),
  failures: Type.Array(Type.Object({ settlement_id: Type.String(), merchant_party_id: Type.String(), error: Type.String() })),
});

export const SettlementView = Type.Object({
  id: Type.String(),
  merchant_party_id: Type.String(),
  merchant_name: Nullable(Type.String()),
  org_id: Type.String(),
  business_date: Type.String(),
  cycle: StringEnum(['T0', 'T1'] as const),
  due_date: Type.String({ description: 'Last business date included 纳入的最后业务日期' }),
  status: StringEnum(SETTLEMENT_STATUSES, { description: 'pending 待划款, settled 已结算, carried 顺延（净额为负）' }),
  sale_count: Type.Integer(),
  sale_amount: Fen,
  fee_amount: Fen,
  refund_count: Type.Integer(),
  refund_amount: Fen,
  refund_fee: Fen,
  reversal_count: Type.Integer(),
  reversal_amount: Fen,
  reversal_fee: Fen,
  net: Fen,
  transfer_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  created_at: Micros,
  settled_at: Nullable(Micros),
  payout_state: StringEnum(PAYOUT_STATES, {
    description: 'none 入结算账户（2002）, due 待入核心账户, sent 已发送待确认, done 已入核心账户',
  }),
  payout_id: Nullable(Type.String({ description: 'Core request id of the payout 核心系统入账请求号' })),
  payout_account: Nullable(Type.String({ description: 'Core account the payout id was sent to 入账的核心账号' })),
  payout_code: Nullable(Type.String({ description: 'The core’s last answer (00, 14, 91, unknown …) 核心系统最近应答码' })),
});

export const SettlementQuery = Type.Object(
  {
    date: Type.Optional(DateString),
    merchant_party_id: Type.Optional(Id),
    status: Type.Optional(StringEnum(SETTLEMENT_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const SettlementList = Type.Object({ items: Type.Array(SettlementView), total: Type.Integer() });

export const StatementLine = Type.Object({
  transaction_id: Type.String(),
  time: Micros,
  business_date: Type.String(),
  type: Type.String(),
  status: Type.String(),
  kind: Type.String({ description: 'sale 消费, refund 退货, reversal 撤销/冲正, none 无资金影响' }),
  card: Nullable(Type.String({ description: 'Card last 4 or QR 卡号后四位或二维码' })),
  amount: Fen,
  fee: Fen,
  net: Fen,
  terminal_serial: Nullable(Type.String()),
  trace_no: Nullable(Type.Integer()),
  auth_code: Nullable(Type.String()),
  original_id: Nullable(Type.String()),
});

export const Statement = Type.Object({ settlement: SettlementView, lines: Type.Array(StatementLine) });

export const ExceptionView = Type.Object({
  id: Type.String(),
  batch_id: Type.String(),
  batch_no: Type.Integer(),
  terminal_id: Type.String(),
  terminal_serial: Nullable(Type.String()),
  merchant_party_id: Nullable(Type.String()),
  org_id: Type.String(),
  kind: StringEnum(RECON_KINDS, { description: 'missing_on_host 主机无记录, missing_on_terminal 终端无记录, amount_differs 金额不符, status_differs 状态不符, void_reversal_unposted 撤销冲正未能扣款, void_reversal_offus 他行卡撤销已送出, refund_reversal_unposted 退货冲正未能扣款, refund_reversal_offus 他行卡退货已送出' }),
  client_id: Type.String(),
  host_txn_id: Nullable(Type.String()),
  terminal_type: Nullable(Type.String()),
  terminal_amount: Nullable(Fen),
  host_type: Nullable(Type.String()),
  host_amount: Nullable(Fen),
  host_status: Nullable(Type.String()),
  status: StringEnum(['open', 'resolved'] as const),
  resolution: Type.Union([StringEnum(RECON_ACTIONS), Type.Null()]),
  note: Nullable(Type.String()),
  resolved_by: Nullable(Type.String()),
  resolved_at: Nullable(Micros),
  created_at: Micros,
});

export const ExceptionQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(['open', 'resolved'] as const)),
    batch_id: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const ExceptionList = Type.Object({ items: Type.Array(ExceptionView), total: Type.Integer() });

export const ResolveBody = Type.Object(
  {
    action: StringEnum(RECON_ACTIONS, {
      description: 'accept_host 以主机为准, reverse_host 冲正主机交易, write_off 核销（须说明）, note 仅备注（须说明）',
    }),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
