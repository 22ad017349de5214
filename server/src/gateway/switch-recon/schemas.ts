import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../platform/http/schema-helpers.js';
import { MAX_NOTE } from './exceptions.js';
import { EXCEPTION_KINDS, EXCEPTION_STATUSES, LINE_OUTCOMES, RECORD_TYPES, STAFF_ACTIONS } from './migration.js';

/** TypeBox schemas of the switch reconciliation staff API (snake_case, fen, µs). */
const Id = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9._:-]+$' });
export const IdParams = Type.Object({ id: Id });
const Fen = Type.Integer({ description: 'fen 分' });
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableFen = Type.Union([Fen, Type.Null()]);
const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
};

/** The largest settlement file accepted (about 300,000 lines). */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

export const ImportJson = Type.Object(
  { content: Type.String({ minLength: 1, maxLength: MAX_FILE_BYTES, description: 'The file text 结算文件内容' }) },
  { additionalProperties: false },
);

export const FileView = Type.Object({
  id: Type.String(),
  acquirer_id: Type.String(),
  settlement_date: Type.String({ description: 'Settlement date YYYY-MM-DD 清算日期' }),
  file_created_at: Type.String(),
  sha256: Type.String(),
  line_count: Type.Integer(),
  sale_count: Type.Integer(),
  sale_amount: Fen,
  refund_count: Type.Integer(),
  refund_amount: Fen,
  reversal_count: Type.Integer(),
  reversal_amount: Fen,
  debit_total: Fen,
  credit_total: Fen,
  net: Type.Integer({ description: 'D − C, fen; > 0 the switch pays the bank 净额，正数为转接方应付本行' }),
  matched_count: Type.Integer(),
  exception_count: Type.Integer(),
  paired_count: Type.Integer({ description: 'Lines or items that settled an earlier file’s exception 与此前文件差错相抵的笔数' }),
  transfer_id: NullableString,
  imported_by: Type.String(),
  imported_at: Micros,
  posted_at: Type.Union([Micros, Type.Null()]),
});

export const ImportResult = Type.Object({ file: FileView, created: Type.Boolean({ description: 'false: this exact file was imported before 重复导入' }) });

const ListedFile = Type.Intersect([FileView, Type.Object({ open_exceptions: Type.Integer() })]);
export const FileQuery = Type.Object(Paging, { additionalProperties: false });
export const FileList = Type.Object({ items: Type.Array(ListedFile), total: Type.Integer() });

export const ExceptionView = Type.Object({
  id: Type.String(),
  file_id: Type.String(),
  settlement_date: Type.String(),
  kind: StringEnum(EXCEPTION_KINDS, { description: 'missing_on_switch 转接方无此笔, missing_on_platform 本行无此笔, amount_mismatch 金额不符' }),
  type: StringEnum(RECORD_TYPES),
  rrn: Type.String(),
  platform_txn_id: NullableString,
  platform_state: NullableString,
  line_no: Type.Union([Type.Integer(), Type.Null()]),
  switch_amount: NullableFen,
  platform_amount: NullableFen,
  difference: Type.Integer({ description: 'Platform signed − switch signed (SALE +, REFUND/REVERSAL −): what it leaves on bank:switch-clearing 差额' }),
  status: StringEnum(EXCEPTION_STATUSES),
  action: Type.Union([StringEnum([...STAFF_ACTIONS, 'paired'] as const), Type.Null()]),
  note: NullableString,
  resolved_by: NullableString,
  resolved_at: Type.Union([Micros, Type.Null()]),
  transfer_id: NullableString,
  reversal_txn_id: NullableString,
  settled_file_id: NullableString,
  settled_date: NullableString,
  carried: Type.Boolean({ description: 'bank:switch-clearing still carries the difference 清算往来仍挂此差额' }),
  created_at: Micros,
});

export const FileDetail = Type.Object({
  file: ListedFile,
  summary: Type.Array(Type.Object({ type: StringEnum(RECORD_TYPES), outcome: StringEnum(LINE_OUTCOMES), count: Type.Integer(), amount: Fen })),
  exceptions: Type.Array(ExceptionView),
});

export const ExceptionQuery = Type.Object(
  { status: Type.Optional(StringEnum(['open', 'resolved'] as const)), file_id: Type.Optional(Id), ...Paging },
  { additionalProperties: false },
);
export const ExceptionList = Type.Object({ items: Type.Array(ExceptionView), total: Type.Integer() });

export const ResolveBody = Type.Object(
  {
    action: StringEnum(STAFF_ACTIONS, {
      description: 'write_off 核销至待处理挂账, reverse 冲正本行交易（仅转接方缺失的消费）, accept 接受（仅备注，差额仍挂清算往来）',
    }),
    note: Type.String({ maxLength: MAX_NOTE, description: 'Required 必填' }),
  },
  { additionalProperties: false },
);
