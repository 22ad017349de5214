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
