/**
 * Staff API of the card-switch link: status, the zone master key ceremony, the store-and-forward
 * queue. The switch is the bank's, not an organisation's: any staff user holding the permission
 * sees it all. The ZMK components are accepted once and never echoed, logged or stored.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { XiaoweiError } from '../../platform/errors.js';
import { requireActor, type Actor } from '../../platform/http/actor.js';
import { StringEnum } from '../../platform/http/schema-helpers.js';
import type { GatewayDeps } from '../deps.js';
import { closeSaf, findSaf, retrySaf, safRow } from './journal.js';
import { importZmk } from './keys.js';
import { dbStatus, type SwitchLink } from './link.js';
import { SAF_STATES, type SafRow, type SwitchDb } from './tables.js';

const TAGS = ['gateway: card switch'];
const Micros = Type.Integer({ minimum: 0, description: 'Microseconds since the Unix epoch' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const SafStateEnum = StringEnum(SAF_STATES, {
  description:
    'held 待定（交易未完成）, queued 待发送, acknowledged 已确认, rejected 被拒（退货超额或原交易不存在）, dropped 已撤销（交易未成功）, failed 被永久拒绝（不再发送，待处理）, closed 已人工关闭',
});
const SafExceptionEnum = StringEnum(['refused', 'retries'] as const, {
  description: 'refused 被转接方永久拒绝（不再发送） refused for good, no longer sent; retries 多次重发失败（仍在重发） too many failed attempts, still retried',
});

const StatusView = Type.Object({
  state: StringEnum(['connecting', 'no_zmk', 'signed_on', 'down', 'closed', 'not_configured'] as const, {
    description:
      'connecting 连接/签到中, no_zmk 未导入区域主密钥, signed_on 已签到, down 链路中断, closed 已关闭, not_configured 未配置转接地址',
  }),
  settlement_date: Nullable(Type.String({ description: "The switch's settlement date 清算日期 YYYY-MM-DD" })),
  zmk_kcv: Nullable(Type.String({ description: 'Check value of the zone master key 区域主密钥校验值' })),
  zpk_kcv: Nullable(Type.String()),
  zak_kcv: Nullable(Type.String()),
  saf_depth: Type.Integer({ description: 'Entries waiting to be sent 待发送笔数' }),
  saf_counts: Type.Record(Type.String(), Type.Integer()),
  saf_exceptions: Type.Object(
    { refused: Type.Integer(), retries: Type.Integer() },
    { description: 'Open store-and-forward exceptions for staff 待处理的存储转发异常' },
  ),
  last_echo_at: Nullable(Micros),
  signed_on_at: Nullable(Micros),
  peer: Nullable(Type.String()),
  acquirer_id: Type.String(),
  outstanding: Type.Integer({ description: 'Requests awaiting an answer on this server process 本进程在途请求数' }),
});

const ZmkBody = Type.Object(
  {
    components: Type.Array(Type.String({ minLength: 32, maxLength: 32, pattern: '^[0-9A-Fa-f]{32}$' }), {
      minItems: 2,
      maxItems: 3,
      description: 'Clear key components, 32 hex digits each, from different custodians 密钥成分（各 32 位十六进制，由不同保管人输入）',
    }),
  },
  { additionalProperties: false },
);

const SafView = Type.Object({
  id: Type.String(),
  txn_id: Type.String({ description: 'The payments row that caused it, or <sale>:rev for a timeout reversal 引起该通知的交易' }),
  kind: StringEnum(['reversal', 'refund'] as const, { description: 'reversal 冲正, refund 退货通知' }),
  original_txn_id: Type.String(),
  rrn: Type.String(),
  reason: Nullable(Type.String({ description: "'98' no answer in time 超时, '17' cancelled by us 撤销" })),
  amount: Type.Integer({ description: 'fen 分' }),
  state: SafStateEnum,
  attempts: Type.Integer(),
  next_attempt_at: Micros,
  response_code: Nullable(Type.String()),
  settlement_date: Nullable(Type.String()),
  last_error: Nullable(Type.String()),
  pan_masked: Nullable(Type.String()),
  created_at: Micros,
  updated_at: Micros,
  acknowledged_at: Nullable(Micros),
  exception: Nullable(SafExceptionEnum),
  exception_at: Nullable(Micros),
  note: Nullable(Type.String({ description: 'Staff note when closed 关闭说明' })),
  closed_by: Nullable(Type.String()),
  closed_at: Nullable(Micros),
});

const SafQuery = Type.Object(
  {
    state: Type.Optional(SafStateEnum),
    exception: Type.Optional(Type.Boolean({ description: 'Only open exceptions (failed, or queued with too many attempts) 仅待处理异常' })),
    before: Type.Optional(Type.String({ maxLength: 64, description: 'Cursor: the next_before of the previous page 翻页游标' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }) });

const CloseBody = Type.Object(
  { note: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S', description: 'Why it is closed 关闭说明（必填）' }) },
  { additionalProperties: false },
);

function requireStaff(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

const safView = (r: SafRow & { pan_masked: string | null }) => ({
  id: r.id,
  txn_id: r.txn_id,
  kind: r.kind,
  original_txn_id: r.original_txn_id,
  rrn: r.rrn,
  reason: r.reason,
  amount: r.amount,
  state: r.state,
  attempts: r.attempts,
  next_attempt_at: r.next_attempt_at,
  response_code: r.response_code,
  settlement_date: r.settlement_date,
  last_error: r.last_error,
  pan_masked: r.pan_masked,
  created_at: r.created_at,
  updated_at: r.updated_at,
  acknowledged_at: r.acknowledged_at,
  exception: r.exception,
  exception_at: r.exception_at,
  note: r.note,
  closed_by: r.closed_by,
  closed_at: r.closed_at,
});

export const switchRoutes: FastifyPluginAsyncTypebox<GatewayDeps & { link: SwitchLink | null }> = async (app, deps) => {
  const db = deps.db as SwitchDb;
  const { link } = deps;

  const status = async () => {
    const s = link
      ? await link.status()
      : { ...(await dbStatus(db, deps.config.XIAOWEI_ACQUIRER_ID)), state: 'not_configured' as const, settlementDate: null, lastEchoAt: null, signedOnAt: null, peer: null, outstanding: 0 };
    return {
      state: s.state,
      settlement_date: s.settlementDate,
      zmk_kcv: s.keys.zmk,
      zpk_kcv: s.keys.zpk,
      zak_kcv: s.keys.zak,
      saf_depth: s.safDepth,
      saf_counts: s.safCounts,
      saf_exceptions: s.safExceptions,
      last_echo_at: s.lastEchoAt,
      signed_on_at: s.signedOnAt,
      peer: s.peer,
      acquirer_id: s.acquirerId,
      outstanding: s.outstanding,
    };
  };

  const safWithPan = async (id: string) => {
    const row = await db
      .selectFrom('gw_saf')
      .leftJoin('gw_switch_txns', 'gw_switch_txns.txn_id', 'gw_saf.original_txn_id')
      .selectAll('gw_saf')
      .select('gw_switch_txns.pan_masked')
      .where('gw_saf.id', '=', id)
      .executeTakeFirst();
    return row ? safView({ ...safRow(row), pan_masked: row.pan_masked }) : undefined;
  };

  app.get(
    '/gateway/switch',
    {
      config: { permission: 'gateway:read' },
      schema: { tags: TAGS, summary: 'Card switch link status 转接链路状态', response: { 200: StatusView } },
    },
    async (request) => {
      requireStaff(requireActor(request));
      return status();
    },
  );

  app.post(
    '/gateway/switch/zmk',
    {
      config: { permission: 'gateway:write', audit: 'gateway.switch_zmk_import' },
      schema: {
        tags: TAGS,
        summary: 'Import the zone master key from components 导入区域主密钥',
        description:
          'Key ceremony: the components are XORed into the ZMK shared with the switch; only its check value is answered. The link signs on again with new zone keys. ' +
          '密钥仪式：各成分异或合成与转接机构共享的区域主密钥，仅返回校验值；链路随即重新签到并交换工作密钥。',
        body: ZmkBody,
        response: { 200: Type.Object({ kcv: Type.String({ description: 'Key check value 校验值' }) }) },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const result = await importZmk(deps, request.body.components, actor);
      request.auditTarget = `zmk:${result.kcv}`;
      if (link) void link.rekey().catch(() => undefined);
      return result;
    },
  );

  app.get(
    '/gateway/switch/saf',
    {
      config: { permission: 'gateway:read' },
      schema: {
        tags: TAGS,
        summary: 'Store-and-forward queue 存储转发队列',
        description: 'Reversals and refund advices for the switch, newest first. 发往转接机构的冲正与退货通知，按时间倒序。',
        querystring: SafQuery,
        response: { 200: Type.Object({ items: Type.Array(SafView), next_before: Nullable(Type.String()) }) },
      },
    },
    async (request) => {
      requireStaff(requireActor(request));
      const { state, exception, before, limit = 50 } = request.query;
      let q = db
        .selectFrom('gw_saf')
        .leftJoin('gw_switch_txns', 'gw_switch_txns.txn_id', 'gw_saf.original_txn_id')
        .selectAll('gw_saf')
        .select('gw_switch_txns.pan_masked')
        .orderBy('gw_saf.id', 'desc')
        .limit(limit + 1);
      if (state) q = q.where('gw_saf.state', '=', state);
      if (exception === true) q = q.where('gw_saf.exception', 'is not', null).where('gw_saf.state', 'in', ['queued', 'failed']);
      if (before) q = q.where('gw_saf.id', '<', before);
      const rows = await q.execute();
      const page = rows.slice(0, limit).map((r) => safView({ ...safRow(r), pan_masked: r.pan_masked }));
      return { items: page, next_before: rows.length > limit ? page[page.length - 1]!.id : null };
    },
  );

  app.post(
    '/gateway/switch/saf/:id/retry',
    {
      config: { permission: 'gateway:write', audit: 'gateway.switch_saf_retry' },
      schema: {
        tags: TAGS,
        summary: 'Send a queued or failed entry now 立即重发',
        description:
          'Makes the entry due now (a failed one is queued again and its exception cleared) and, when the link is signed on, sends it before answering. ' +
          '立即到期（被拒的记录重新排队并清除异常）；链路已签到时发送后再应答。',
        params: IdParams,
        response: { 200: SafView },
      },
    },
    async (request) => {
      requireStaff(requireActor(request));
      const row = await findSaf(db, request.params.id);
      if (!row) throw new XiaoweiError('switch_saf_not_found');
      if (row.state !== 'queued' && row.state !== 'failed') throw new XiaoweiError('switch_saf_not_queued', row.state);
      if (link) await link.retry(row.id);
      else await retrySaf(db, row.id, deps.now());
      return (await safWithPan(row.id))!;
    },
  );

  app.post(
    '/gateway/switch/saf/:id/close',
    {
      config: { permission: 'gateway:write', audit: 'gateway.switch_saf_close' },
      schema: {
        tags: TAGS,
        summary: 'Close a store-and-forward exception with a note 关闭存储转发异常',
        description:
          'For an entry the switch refused for good (failed) or one raised for too many attempts: it is no longer sent. Records the note and who closed it; nothing is posted — the next settlement file\'s reconciliation lists it as an exception (missing on the switch). ' +
          'An acknowledgement of an attempt already under way still wins. ' +
          '用于被永久拒绝或多次重发失败的记录：不再发送，记录说明与操作人，不记账（下一份清算文件对账时列为差错：转接方无此笔）；正在进行的发送若获确认，仍以确认为准。',
        params: IdParams,
        body: CloseBody,
        response: { 200: SafView },
      },
    },
    async (request) => {
      const actor = requireActor(request);
      requireStaff(actor);
      const row = await findSaf(db, request.params.id);
      if (!row) throw new XiaoweiError('switch_saf_not_found');
      request.auditTarget = `saf:${row.id}`;
      if (!(await closeSaf(db, row.id, { note: request.body.note.trim(), by: actor.user_id }, deps.now()))) {
        const now = await findSaf(db, row.id);
        throw new XiaoweiError('switch_saf_not_closable', now?.exception ? `${now.state} ${now.exception}` : (now?.state ?? row.state));
      }
      return (await safWithPan(row.id))!;
    },
  );
};
