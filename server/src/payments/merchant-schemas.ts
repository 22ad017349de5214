import { Type } from '@sinclair/typebox';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { CARD_STATUSES, MAX_CARD_LIMIT } from './cards.js';
import { FEE_MAX, FEE_PLAN_NAME_MAX } from './fee-plans.js';
import { MCC_PATTERN, MERCHANT_STATUSES, SETTLEMENT_CYCLES } from './merchants.js';
import { CORE_ACCOUNT_PATTERN } from './payout-migration.js';

/** TypeBox schemas of the merchants, fee plans and cards API (staff; snake_case; µs). Bodies are strict. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
export const IdParams = Type.Object({ id: Id });
export const PartyParams = Type.Object({ party_id: Id });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const Fen = (description: string) => Type.Integer({ minimum: 0, maximum: FEE_MAX, description });
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });
const Offset = Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 });

const FeePlanStatus = StringEnum(['active', 'retired'] as const, { description: 'active 启用, retired 停用' });
const RateBp = Type.Integer({ minimum: 0, maximum: 10_000, description: 'Rate in basis points (38 = 0.38 %) 费率（万分之一）' });
const PlanName = Type.String({
  minLength: 1,
  maxLength: FEE_PLAN_NAME_MAX,
  description: 'Name, unique in the organisation 名称（机构内唯一）',
});

export const FeePlanView = Type.Object({
  id: Type.String(),
  org_id: Type.String(),
  name: Type.String(),
  rate_bp: Type.Integer(),
  min_fee: Type.Integer({ description: 'fen 分' }),
  max_fee: Type.Union([Type.Integer(), Type.Null()], { description: 'fen; null = no cap 封顶（分），null 为不封顶' }),
  fixed_fee: Type.Integer({ description: 'fen, added per transaction 每笔固定费用（分）' }),
  status: FeePlanStatus,
  created_at: Micros,
  updated_at: Micros,
});
export const FeePlanList = Type.Object({ items: Type.Array(FeePlanView) });
export const FeePlanQuery = Type.Object({ status: Type.Optional(FeePlanStatus) }, { additionalProperties: false });

export const NewFeePlanBody = Type.Object(
  {
    org_id: Type.Optional(Id),
    name: PlanName,
    rate_bp: RateBp,
    min_fee: Type.Optional(Fen('Minimum fee, fen 最低手续费（分）')),
    max_fee: Type.Optional(Type.Union([Fen('Maximum fee, fen 封顶手续费（分）'), Type.Null()])),
    fixed_fee: Type.Optional(Fen('Fixed fee per transaction, fen 每笔固定费用（分）')),
  },
  { additionalProperties: false },
);

export const FeePlanPatchBody = Type.Object(
  {
    name: Type.Optional(PlanName),
    rate_bp: Type.Optional(RateBp),
    min_fee: Type.Optional(Fen('Minimum fee, fen 最低手续费（分）')),
    max_fee: Type.Optional(Type.Union([Fen('Maximum fee, fen 封顶手续费（分）'), Type.Null()])),
    fixed_fee: Type.Optional(Fen('Fixed fee per transaction, fen 每笔固定费用（分）')),
    status: Type.Optional(FeePlanStatus),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Mcc = Type.String({ pattern: MCC_PATTERN, description: 'Merchant category code (ISO 18245) 商户类别码' });
const MerchantStatus = StringEnum(MERCHANT_STATUSES, { description: 'active 正常, suspended 暂停（终端交易返回 03）, closed 已解约' });
const Cycle = StringEnum(SETTLEMENT_CYCLES, { description: 'T0 当日结算, T1 次日结算' });
const CoreAccount = Type.String({
  pattern: CORE_ACCOUNT_PATTERN,
  description:
    'The merchant’s account number in the bank’s external core-banking system, 8–32 digits: with XIAOWEI_CORE=iso8583://… settlement pays into it 商户在核心系统的结算账号（8–32 位数字）；接入外部核心系统时结算资金划入该账号',
});

export const MerchantView = Type.Object({
  party_id: Type.String(),
  name: Type.String(),
  org_id: Type.String(),
  mcc: Type.String(),
  mcc_name: Type.Union([Type.Object({ zh: Type.String(), en: Type.String() }), Type.Null()]),
  fee_plan: FeePlanView,
  receivable_account_id: Type.String({ description: 'Ledger account 2004 商户待清算款账户' }),
  settlement_account_id: Type.String({ description: 'Ledger account 2002 商户结算账户' }),
  settlement_cycle: Cycle,
  status: MerchantStatus,
  core_account: Type.Union([CoreAccount, Type.Null()]),
  created_at: Micros,
  updated_at: Micros,
});
export const MerchantList = Type.Object({ items: Type.Array(MerchantView), total: Type.Integer() });
export const MerchantQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Name, party id or MCC 名称、客户编号或类别码' })),
    status: Type.Optional(MerchantStatus),
    limit: Limit,
    offset: Offset,
  },
  { additionalProperties: false },
);
export const NewMerchantBody = Type.Object(
  {
    party_id: Id,
    mcc: Mcc,
    fee_plan_id: Id,
    settlement_cycle: Cycle,
    settlement_account_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'An existing merchant settlement account (2002) of the party; absent = open one',
      }),
    ),
    core_account: Type.Optional(CoreAccount),
  },
  { additionalProperties: false },
);
export const MerchantPatchBody = Type.Object(
  {
    mcc: Type.Optional(Mcc),
    fee_plan_id: Type.Optional(Id),
    settlement_cycle: Type.Optional(Cycle),
    status: Type.Optional(MerchantStatus),
    core_account: Type.Optional(Type.Union([CoreAccount, Type.Null()], { description: 'null removes it 置空则取消' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const CategoryList = Type.Object({ items: Type.Array(Type.Object({ mcc: Type.String(), zh: Type.String(), en: Type.String() })) });

const CardStatus = StringEnum(CARD_STATUSES, { description: 'active 正常, blocked 冻结, lost 挂失, closed 注销' });
const CardLimit = (description: string) => Type.Integer({ minimum: 1, maximum: MAX_CARD_LIMIT, description });
const Pin = Type.String({
  pattern: '^[0-9]{4,6}$',
  description: 'The customer’s chosen PIN, 4–6 digits; never stored 客户设定的密码（不存储）',
});

export const CardView = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'Stands for the PAN outside the card table 卡号令牌' }),
  bin: Type.String(),
  last4: Type.String(),
  expiry: Type.String({ description: 'YYMM 有效期' }),
  status: CardStatus,
  party_id: Type.String(),
  org_id: Type.String(),
  account_id: Type.String(),
  pin_tries: Type.Integer({ description: 'Consecutive wrong PINs (3 = locked) 连续密码错误次数' }),
  daily_limit: Type.Integer({ description: 'fen per business day 日累计限额（分）' }),
  per_txn_limit: Type.Integer({ description: 'fen 单笔限额（分）' }),
  created_at: Micros,
  updated_at: Micros,
});
export const IssuedCard = Type.Composite([
  CardView,
  Type.Object({ pan: Type.String({ description: 'The full card number, answered this once only 完整卡号（仅此一次返回）' }) }),
]);
export const CardList = Type.Object({ items: Type.Array(CardView), total: Type.Integer() });
export const CardQuery = Type.Object(
  {
    party_id: Type.Optional(Id),
    last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
    status: Type.Optional(CardStatus),
    limit: Limit,
    offset: Offset,
  },
  { additionalProperties: false },
);
export const NewCardBody = Type.Object(
  {
    party_id: Id,
    account_id: Id,
    pin: Pin,
    daily_limit: Type.Optional(CardLimit('fen per business day; default ¥50,000 日累计限额（分）')),
    per_txn_limit: Type.Optional(CardLimit('fen; default ¥20,000 单笔限额（分）')),
  },
  { additionalProperties: false },
);
export const CardPatchBody = Type.Object(
  {
    status: Type.Optional(CardStatus),
    daily_limit: Type.Optional(CardLimit('fen per business day 日累计限额（分）')),
    per_txn_limit: Type.Optional(CardLimit('fen 单笔限额（分）')),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const PinBody = Type.Object({ pin: Pin }, { additionalProperties: false });
