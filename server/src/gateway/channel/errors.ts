/**
 * Typed failures of the TCP channel layer. Codes are stable: callers (the acquirer host, the
 * switch client) branch on them, e.g. `channel_timeout` on a financial request means "outcome
 * unknown, send a reversal". A detail names sizes, addresses or phases only — never frame bytes,
 * which may carry a PIN block or a card number.
 */
export const CHANNEL_ERRORS = {
  channel_closed: { zh: '通道已关闭', en: 'The channel is closed' },
  channel_timeout: { zh: '通道超时', en: 'The channel timed out' },
  frame_too_large: { zh: '报文超过长度上限', en: 'The frame is larger than allowed' },
  frame_invalid: { zh: '报文长度头无效', en: 'The frame length prefix is invalid' },
  queue_full: { zh: '发送队列已满', en: 'The outgoing queue is full' },
  not_connected: { zh: '通道未连接', en: 'The channel is not connected' },
  duplicate_request: { zh: '相同匹配键的请求仍在等待应答', en: 'A request with the same match key is still awaiting its response' },
} as const satisfies Record<string, { zh: string; en: string }>;

export type ChannelErrorCode = keyof typeof CHANNEL_ERRORS;

export class ChannelError extends Error {
  readonly code: ChannelErrorCode;
  readonly detail: string | undefined;
  /**
   * True when a request failed after it was handed to the socket (a timeout, or the link lost
   * while awaiting the answer): the peer may have acted on it, so a financial request needs a
   * reversal or a status query. False when it provably never left this process.
   */
  readonly outcomeUnknown: boolean;

  constructor(code: ChannelErrorCode, detail?: string, options: { cause?: unknown; outcomeUnknown?: boolean } = {}) {
    super(
      detail ? `${CHANNEL_ERRORS[code].en}: ${detail}` : CHANNEL_ERRORS[code].en,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ChannelError';
    this.code = code;
    this.detail = detail;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }

  /** The message for an operator screen. */
  localized(locale: 'zh-CN' | 'en'): string {
    if (locale === 'en') return this.message;
    const text = CHANNEL_ERRORS[this.code].zh;
    return this.detail ? `${text}（${this.detail}）` : text;
  }
}

export function isChannelError(error: unknown, code?: ChannelErrorCode): error is ChannelError {
  return error instanceof ChannelError && (code === undefined || error.code === code);
}

/** Wraps a socket error keeping only its errno-style code (ECONNRESET, CERT_HAS_EXPIRED…) as detail. */
export function socketError(error: unknown, code: ChannelErrorCode = 'channel_closed'): ChannelError {
  if (error instanceof ChannelError) return error;
  const errno = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'socket error';
  return new ChannelError(code, errno, { cause: error });
}
