/**
 * One registry of every error the API can return: a stable code, an HTTP status and a message in
 * zh-CN and en. Codes never change meaning once published; add new ones instead.
 */
export interface ErrorDef {
  readonly status: number;
  readonly zh: string;
  readonly en: string;
}

export const ERRORS = {
  validation_failed: { status: 400, zh: '请求参数无效：{detail}', en: 'Invalid request: {detail}' },
  malformed_json: { status: 400, zh: '请求体不是有效的 JSON', en: 'The request body is not valid JSON' },
  payload_too_large: { status: 413, zh: '请求体过大', en: 'The request body is too large' },
  unsupported_media_type: { status: 415, zh: '不支持的内容类型', en: 'Unsupported content type' },
  not_found: { status: 404, zh: '资源不存在', en: 'Not found' },
  route_not_found: { status: 404, zh: '接口不存在：{detail}', en: 'No such endpoint: {detail}' },
  unauthenticated: { status: 401, zh: '请先登录', en: 'Please sign in' },
  forbidden: { status: 403, zh: '无权执行此操作', en: 'You are not allowed to do this' },
  invalid_credentials: { status: 401, zh: '用户名或密码错误', en: 'Wrong username or password' },
  account_locked: {
    status: 423,
    zh: '登录失败次数过多，账户已锁定，请 {detail} 分钟后重试',
    en: 'Too many failed sign-ins; the user is locked for {detail} minutes',
  },
  totp_required: { status: 401, zh: '需要动态口令', en: 'A one-time code is required' },
  totp_invalid: { status: 401, zh: '动态口令错误', en: 'The one-time code is wrong' },
  totp_enrolment_required: {
    status: 403,
    zh: '此角色必须先绑定动态口令',
    en: 'This role must enrol a one-time-code authenticator first',
  },
  user_disabled: { status: 403, zh: '用户已停用', en: 'The user is disabled' },
  conflict: { status: 409, zh: '数据冲突：{detail}', en: 'Conflict: {detail}' },
  idempotency_key_required: {
    status: 400,
    zh: '转账请求必须带 Idempotency-Key 请求头',
    en: 'A transfer request needs an Idempotency-Key header',
  },
  idempotency_key_invalid: {
    status: 400,
    zh: 'Idempotency-Key 必须为 16–64 位字母、数字、下划线或连字符',
    en: 'Idempotency-Key must be 16–64 letters, digits, underscores or hyphens',
  },
  transfer_rejected: { status: 422, zh: '转账被拒绝：{detail}', en: 'Transfer rejected: {detail}' },
  transfer_exists_with_different_fields: {
    status: 409,
    zh: '该幂等键已用于另一笔不同的转账',
    en: 'This idempotency key was already used for a different transfer',
  },
  account_rejected: { status: 422, zh: '开户被拒绝：{detail}', en: 'Account rejected: {detail}' },
  batch_too_large: { status: 400, zh: '批量过大（上限 {detail}）', en: 'Batch too large (limit {detail})' },
  overloaded: { status: 503, zh: '系统繁忙，请稍后重试', en: 'The system is busy; retry shortly' },
  shutting_down: { status: 503, zh: '服务正在停止', en: 'The server is shutting down' },
  rate_limited: { status: 429, zh: '请求过于频繁', en: 'Too many requests' },
  // terminals (fleet, activation, sign-on, request MACs, apps, rollouts)
  // — fleet (terminal records, groups, import, parameters, lock/unlock/retire, activation codes)
  terminal_serial_exists: { status: 409, zh: '终端序列号已存在：{detail}', en: 'A terminal with this serial exists: {detail}' },
  terminal_serial_repeated: { status: 400, zh: '序列号在文件中重复（首次出现于第 {detail} 行）', en: 'The serial is repeated in the file (first on row {detail})' },
  terminal_owner_invalid: {
    status: 400,
    zh: '终端归属方必须是您所服务的商户、服务点代理或收购商：{detail}',
    en: 'The owner must be a merchant, service-point agent or buyer you serve: {detail}',
  },
  terminal_region_unknown: { status: 400, zh: '行政区划代码不存在：{detail}', en: 'No such administrative division code: {detail}' },
  terminal_status_conflict: {
    status: 409,
    zh: '终端当前状态（{detail}）不允许此操作',
    en: 'The terminal’s current status ({detail}) does not allow this',
  },
  terminal_group_name_exists: { status: 409, zh: '该机构下已有同名终端分组：{detail}', en: 'This organisation already has a terminal group named {detail}' },
  terminal_group_member_invalid: {
    status: 400,
    zh: '终端不存在、不可见或不属于该分组的机构：{detail}',
    en: 'The terminal does not exist, is not visible to you or is outside the group’s organisation: {detail}',
  },
  terminal_import_invalid: { status: 400, zh: 'CSV 文件无效：{detail}', en: 'The CSV file is invalid: {detail}' },
  // — protocol (activation, sign-on, request MACs, operators, commands)
  terminal_activation_invalid: { status: 403, zh: '激活码错误、已使用或已过期', en: 'The activation code is wrong, used or expired' },
  terminal_serial_mismatch: { status: 403, zh: '序列号与该激活码对应的终端不符', en: 'The serial does not match the terminal of this activation code' },
  terminal_locked: { status: 423, zh: '终端已被锁定，请联系开户行', en: 'The terminal is locked; contact your bank' },
  terminal_retired: { status: 403, zh: '终端已停用', en: 'The terminal is retired' },
  terminal_not_activated: { status: 403, zh: '终端尚未激活', en: 'The terminal is not activated' },
  terminal_signature_invalid: { status: 401, zh: '签到签名无法用终端设备公钥验证', en: 'The sign-on signature does not verify with the device key' },
  terminal_auth_malformed: { status: 401, zh: '终端请求头缺失或格式错误：{detail}', en: 'Missing or ill-formed terminal request header: {detail}' },
  terminal_unknown: { status: 401, zh: '终端不存在', en: 'Unknown terminal' },
  terminal_session_unknown: { status: 401, zh: '签到会话不存在，请重新签到', en: 'Unknown sign-on session; sign on again' },
  terminal_session_closed: { status: 401, zh: '签到会话已签退，请重新签到', en: 'The session was signed off; sign on again' },
  terminal_session_expired: { status: 401, zh: '签到会话已过期，请重新签到', en: 'The session has expired; sign on again' },
  terminal_mac_invalid: { status: 401, zh: '报文 MAC 校验失败', en: 'The request MAC is wrong' },
  terminal_request_stale: { status: 401, zh: '请求时间与服务器时间相差超过 5 分钟', en: 'The request time is more than 5 minutes off the server’s' },
  terminal_request_replayed: {
    status: 409,
    zh: '请求序号不大于上一笔已接受的序号（重放或乱序）',
    en: 'The sequence number is not greater than the last accepted one (replayed or out of sequence)',
  },
  terminal_wrong_owner: { status: 403, zh: '终端只能为其所属商户办理业务', en: 'A terminal acts only for its own merchant' },
  terminal_operator_required: { status: 401, zh: '请先进行操作员签到', en: 'An operator must sign on first' },
  terminal_operator_invalid: { status: 401, zh: '操作员令牌无效或已签退', en: 'The operator token is invalid or signed off' },
  terminal_operator_credentials: { status: 401, zh: '操作员号或密码错误', en: 'Wrong operator number or password' },
  terminal_operator_locked: {
    status: 423,
    zh: '操作员密码错误次数过多，已锁定，请 {detail} 分钟后重试',
    en: 'Too many wrong passwords; the operator is locked for {detail} minutes',
  },
  terminal_operator_disabled: { status: 403, zh: '操作员已停用', en: 'The operator is disabled' },
  terminal_supervisor_required: { status: 403, zh: '此操作需要主管签到', en: 'A supervisor must be signed on for this' },
  terminal_command_not_pending: { status: 409, zh: '指令已不在待处理状态（{detail}）', en: 'The command is no longer pending ({detail})' },
  // — apps (catalogue, bundles, app sets, rollouts, update reports)
  app_not_found: { status: 404, zh: '应用不存在', en: 'No such app' },
  app_exists: { status: 409, zh: '应用代码已存在：{detail}', en: 'An app with this code exists: {detail}' },
  app_version_not_found: { status: 404, zh: '应用版本不存在', en: 'No such app version' },
  app_version_exists: { status: 409, zh: '该应用版本已存在且内容不同：{detail}', en: 'This app version exists with different content: {detail}' },
  app_version_invalid: { status: 400, zh: '不是有效的语义化版本号（SemVer 2.0.0）：{detail}', en: 'Not a valid semantic version (SemVer 2.0.0): {detail}' },
  bundle_invalid: { status: 400, zh: '应用包格式无效：{detail}', en: 'Invalid app bundle: {detail}' },
  bundle_too_large: { status: 413, zh: '应用包超过 {detail} 字节的上限', en: 'The app bundle exceeds the limit of {detail} bytes' },
  bundle_mismatch: { status: 400, zh: '应用包与请求不符：{detail}', en: 'The app bundle does not match the request: {detail}' },
  app_outside_maintenance_window: {
    status: 409,
    zh: '不在终端分组的维护时段（{detail}，北京时间）内，请在时段内下载',
    en: 'Outside the terminal group’s maintenance window ({detail}, Beijing time); download within it',
  },
  app_set_not_found: { status: 404, zh: '应用组合不存在', en: 'No such app set' },
  app_set_exists: { status: 409, zh: '应用组合代码已存在：{detail}', en: 'An app set with this code exists: {detail}' },
  app_target_not_found: { status: 404, zh: '终端或终端分组不存在或不在您的管辖范围内', en: 'No such terminal or terminal group within your scope' },
  rollout_not_found: { status: 404, zh: '发布计划不存在', en: 'No such rollout' },
  rollout_invalid: { status: 400, zh: '发布计划无效：{detail}', en: 'Invalid rollout: {detail}' },
  rollout_illegal_transition: { status: 409, zh: '发布计划当前状态（{detail}）不允许此操作', en: 'The rollout’s state ({detail}) does not allow this' },
  rollout_stage_incomplete: {
    status: 409,
    zh: '当前阶段尚未达到成功阈值（{detail}），不能进入下一阶段',
    en: 'The current stage has not reached its success threshold ({detail}); it cannot advance',
  },
  rollout_no_targets: {
    status: 422,
    zh: '目标中没有可升级的终端（须已激活且已授权该应用）',
    en: 'No terminal in the target can take this update (it must be active and authorised for the app)',
  },

  // payments (declines are answers with response codes, not errors; these are for requests refused outright)
  // — payments: merchants, fee plans, cards (owner: merchants/cards part)
  fee_plan_not_found: { status: 404, zh: '费率方案不存在', en: 'No such fee plan' },
  fee_plan_exists: { status: 409, zh: '本机构已有同名费率方案：{detail}', en: 'A fee plan of this name exists in the organisation: {detail}' },
  fee_plan_invalid: { status: 400, zh: '费率方案无效：{detail}', en: 'Invalid fee plan: {detail}' },
  fee_plan_retired: { status: 409, zh: '费率方案已停用，不能用于新商户', en: 'The fee plan is retired and cannot be given to merchants' },
  merchant_not_found: { status: 404, zh: '收单商户不存在', en: 'No such acquiring merchant' },
  merchant_party_invalid: {
    status: 422,
    zh: '该客户不能签约为收单商户（须为您管辖范围内、角色为商户或代理点的客户）',
    en: 'This party cannot be enrolled as a merchant (it must be a merchant or agent party within your scope)',
  },
  merchant_settlement_account_invalid: {
    status: 400,
    zh: '结算账户必须是该商户名下的商户结算账户（2002）：{detail}',
    en: 'The settlement account must be a merchant settlement account (2002) of this party: {detail}',
  },
  merchant_exists: { status: 409, zh: '该客户已签约为收单商户，且签约信息不同', en: 'The party is already an acquiring merchant with other terms' },
  card_not_found: { status: 404, zh: '银行卡不存在', en: 'No such card' },
  card_account_invalid: {
    status: 422,
    zh: '卡片须绑定该客户名下的个人存款账户（2001）',
    en: 'A card must draw on a customer deposit account (2001) of the same party',
  },
  card_party_invalid: { status: 422, zh: '持卡人须为您管辖范围内的客户', en: 'The cardholder must be a customer party within your scope' },
  card_pin_weak: { status: 400, zh: '密码过于简单：{detail}', en: 'The PIN is too easy to guess: {detail}' },
  card_request_conflict: {
    status: 409,
    zh: '该请求号已用于另一次发卡（持卡人、账户或限额不同）',
    en: 'This request key was used for another card issue (other holder, account or limits)',
  },
  card_status_invalid: { status: 409, zh: '卡片当前状态（{detail}）不允许此操作', en: 'The card’s state ({detail}) does not allow this' },
  // — payments: terminal transaction engine, batches (owner: engine part)
  payment_transaction_not_found: { status: 404, zh: '交易不存在', en: 'No such transaction' },
  payment_batch_not_found: { status: 404, zh: '批次不存在：{detail}', en: 'No such batch: {detail}' },
  payment_batch_not_uploadable: {
    status: 409,
    zh: '该批次不需要或不能再上送（{detail}）；只有结算不平的已结批次可上送一次',
    en: 'This batch cannot be uploaded ({detail}); only a closed batch whose totals did not balance is uploaded, once',
  },
  payment_batch_busy: { status: 409, zh: '批次正在结算，请稍后重试', en: 'The batch is being closed; try again' },
  payment_request_reused: {
    status: 409,
    zh: '此客户端请求号已用于另一笔不同的请求',
    en: 'This client id was already used for a different request',
  },
  // — payments: risk rules and reviews (owner: risk part)
  risk_rule_not_found: { status: 404, zh: '风控规则不存在', en: 'No such risk rule' },
  risk_rule_invalid: { status: 400, zh: '风控规则无效：{detail}', en: 'Invalid risk rule: {detail}' },
  risk_review_not_found: { status: 404, zh: '待审核交易不存在', en: 'No such transaction for review' },
  risk_review_not_pending: { status: 409, zh: '该交易已不在待审核状态（{detail}）', en: 'The transaction is no longer waiting for review ({detail})' },
  // — payments: QR, payment codes, customer transfers (owner: QR part)
  payment_qr_invalid: { status: 400, zh: '二维码无效：{detail}', en: 'Invalid QR code: {detail}' },
  payment_qr_not_ours: { status: 422, zh: '该二维码不是本行商户的收款码', en: 'This QR code is not a merchant code of this bank' },
  payment_qr_order_unknown: { status: 404, zh: '收款订单不存在', en: 'No such QR order' },
  payment_qr_order_closed: { status: 409, zh: '收款订单已{detail}，不能再付款', en: 'The QR order is {detail}; it cannot be paid' },
  payment_qr_amount_required: { status: 400, zh: '静态收款码须输入金额', en: 'A static QR code needs the amount to be entered' },
  payment_qr_amount_mismatch: { status: 400, zh: '金额与收款订单不符', en: 'The amount differs from the QR order' },
  payment_account_not_own: { status: 403, zh: '只能使用本人的存款账户', en: 'Only your own deposit account can be used' },
  payment_transfer_target_invalid: { status: 422, zh: '收款账户不存在或不能收款', en: 'The receiving account does not exist or cannot receive' },
  payment_customer_required: { status: 403, zh: '此用户未关联客户', en: 'This user is not linked to a customer' },
  payment_qr_client_id_reused: { status: 409, zh: '该客户端编号已用于另一笔不同的请求', en: 'This client id was already used for a different request' },
  payment_qr_merchant_inactive: { status: 422, zh: '商户未开通收单或已停用', en: 'The merchant is not enrolled for acquiring or is suspended' },
  // — payments: settlement and reconciliation (owner: settlement part)
  recon_exception_resolved: { status: 409, zh: '该对账差错已处理（{detail}）', en: 'This reconciliation exception is already resolved ({detail})' },
  recon_note_required: { status: 400, zh: '核销或备注处理必须填写说明', en: 'A write-off or a note needs a note' },
  recon_action_unavailable: {
    status: 422,
    zh: '此差错不能用该方式处理：{detail}',
    en: 'This exception cannot be resolved this way: {detail}',
  },

  // gateway (ISO 8583, channels, card switch)
  // — gateway: switch link, zone keys, store-and-forward (owner: switch part)
  switch_zmk_invalid: {
    status: 400,
    zh: '区域主密钥成分无效：{detail}（须为 2–3 个成分，每个 32 位十六进制数）',
    en: 'Invalid zone master key components: {detail} (2–3 components of 32 hex digits each)',
  },
  switch_saf_not_found: { status: 404, zh: '存储转发记录不存在', en: 'No such store-and-forward entry' },
  switch_saf_not_queued: {
    status: 409,
    zh: '该存储转发记录当前状态（{detail}）不能重发；只有待发送或被拒绝的记录可以立即重发',
    en: 'This store-and-forward entry is {detail}; only a queued or failed entry can be sent now',
  },
  switch_saf_not_closable: {
    status: 409,
    zh: '该存储转发记录当前状态（{detail}）不能关闭；只有被永久拒绝或多次重发失败的记录可以关闭',
    en: 'This store-and-forward entry is {detail}; only an entry refused for good or raised for too many attempts can be closed',
  },

  // — gateway: acquirer host, conventional POS terminals and their keys (owner: acquirer part)
  pos_terminal_not_found: { status: 404, zh: '传统POS终端未登记', en: 'No such registered POS terminal' },
  pos_terminal_exists: { status: 409, zh: '该终端已登记为传统POS终端', en: 'This terminal is already registered as a POS terminal' },
  pos_tid_exists: { status: 409, zh: '终端号（41域）{detail} 已被其他终端使用', en: 'Terminal id (field 41) {detail} is used by another terminal' },
  pos_terminal_invalid: {
    status: 422,
    zh: '只能登记本机构范围内、类型为传统POS（pos）且未退役的终端（{detail}）',
    en: 'Only a terminal of kind pos within your scope, not retired, can be registered ({detail})',
  },
  pos_owner_not_merchant: {
    status: 422,
    zh: '终端所属客户须为已签约且未解约的收单商户',
    en: 'The terminal’s owner must be an enrolled acquiring merchant that is not closed',
  },
  pos_tmk_invalid: { status: 400, zh: '终端主密钥分量无效：{detail}', en: 'Invalid terminal master key components: {detail}' },
  // DUKPT PIN pads (owner: dukpt part, inside the acquirer's files)
  pos_bdk_invalid: {
    status: 400,
    zh: '基础派生密钥（BDK）无效：{detail}（TDES2 / AES128 为 2–3 个 32 位十六进制成分，AES256 为 64 位）',
    en: 'Invalid base derivation key (BDK): {detail} (2–3 components of 32 hex digits for TDES2 / AES128, 64 for AES256)',
  },
  pos_bdk_exists: { status: 409, zh: '已有名为 {detail} 的基础派生密钥；新密钥须使用新名称', en: 'A BDK named {detail} exists already; a new key needs a new name' },
  pos_bdk_not_found: { status: 404, zh: '没有该基础派生密钥（BDK）', en: 'No such base derivation key (BDK)' },
  pos_pin_mode_invalid: {
    status: 422,
    zh: 'PIN 加密方式与密钥不符：{detail}（tpk 不带 BDK；dukpt-tdes 须用 TDES2 BDK；dukpt-aes 须用 AES BDK）',
    en: 'PIN mode and key do not fit: {detail} (tpk takes no BDK; dukpt-tdes needs a TDES2 BDK, dukpt-aes an AES BDK)',
  },

  // — gateway: core-banking adapter (owner: core part)
  core_request_invalid: { status: 400, zh: '核心系统请求无效：{detail}', en: 'Invalid core-banking request: {detail}' },
  core_account_not_found: { status: 404, zh: '核心系统中没有该账户', en: 'The core-banking system has no such account' },
  core_unavailable: { status: 503, zh: '核心系统暂不可用，请稍后重试', en: 'The core-banking system is unavailable; retry shortly' },

  // — gateway: switch settlement file and reconciliation (owner: switch-recon part)
  // The file errors' {detail} is the line number; `data` names the line and the field (never a value).
  switch_recon_file_header: { status: 400, zh: '结算文件第 {detail} 行：文件头（H 记录）无效', en: 'Settlement file line {detail}: invalid header (H record)' },
  switch_recon_file_record: {
    status: 400,
    zh: '结算文件第 {detail} 行：记录无效（记录类型未知、字段个数不对、空行或非 LF 换行）',
    en: 'Settlement file line {detail}: invalid record (unknown record type, wrong number of fields, empty line or not LF line ending)',
  },
  switch_recon_file_type: { status: 400, zh: '结算文件第 {detail} 行：交易类型未知', en: 'Settlement file line {detail}: unknown transaction type' },
  switch_recon_file_amount: { status: 400, zh: '结算文件第 {detail} 行：金额无效（须为正整数，单位分）', en: 'Settlement file line {detail}: invalid amount (a positive whole number of fen)' },
  switch_recon_file_field: { status: 400, zh: '结算文件第 {detail} 行：字段格式无效', en: 'Settlement file line {detail}: a field is malformed' },
  switch_recon_file_duplicate: { status: 400, zh: '结算文件第 {detail} 行：同类型交易的检索参考号重复', en: 'Settlement file line {detail}: the RRN repeats for the same type' },
  switch_recon_file_trailer: { status: 400, zh: '结算文件第 {detail} 行：缺少或无效的文件尾（T 记录）', en: 'Settlement file line {detail}: missing or invalid trailer (T record)' },
  switch_recon_file_totals: { status: 400, zh: '结算文件第 {detail} 行：文件尾的笔数或合计与明细不符', en: 'Settlement file line {detail}: the trailer’s count or totals do not match the lines' },
  switch_recon_file_acquirer: { status: 422, zh: '结算文件第 {detail} 行：收单机构代码不是本行的', en: 'Settlement file line {detail}: the acquirer id is not ours' },
  switch_recon_date_imported: {
    status: 409,
    zh: '清算日期 {detail} 已导入另一份不同的结算文件',
    en: 'A different settlement file for {detail} has already been imported',
  },
  switch_recon_exception_resolved: { status: 409, zh: '该对账差错已处理或正在处理（{detail}）', en: 'This reconciliation exception is resolved or being resolved ({detail})' },
  switch_recon_note_required: { status: 400, zh: '处理对账差错必须填写说明', en: 'Resolving a reconciliation exception needs a note' },
  switch_recon_action_unavailable: { status: 422, zh: '此差错不能用该方式处理：{detail}', en: 'This exception cannot be resolved this way: {detail}' },


  internal: { status: 500, zh: '系统内部错误，请联系管理员（{detail}）', en: 'Internal error; contact support ({detail})' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export type Locale = 'zh-CN' | 'en';

/** The error every domain throws for a known failure; the HTTP layer renders it. */
export class XiaoweiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, data?: Record<string, unknown>) {
    super(renderMessage(code, 'en', detail));
    this.name = 'XiaoweiError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
    this.data = data;
  }
}

export function renderMessage(code: ErrorCode, locale: Locale, detail?: string): string {
  const def: ErrorDef = ERRORS[code];
  const template = locale === 'en' ? def.en : def.zh;
  return template.replace('{detail}', detail ?? '');
}

/** Picks zh-CN unless the client clearly prefers English. */
export function localeFrom(acceptLanguage: string | undefined): Locale {
  if (!acceptLanguage) return 'zh-CN';
  const first = acceptLanguage.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'zh-CN';
}
