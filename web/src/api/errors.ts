/** Server languages of an error message (the API's `messages` keys). */
export type ServerLocale = 'zh-CN' | 'en';

/** The body of every error the API returns (platform/errors.ts). */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    messages: Record<ServerLocale, string>;
    data?: Record<string, unknown>;
  };
  request_id?: string;
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * A failed API call. `code` is the server's stable error code, or `network` / `http_<status>`
 * when no typed error body came back (proxy down, connection lost).
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly messages: Partial<Record<ServerLocale, string>>;
  readonly data: Record<string, unknown> | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, body: unknown) {
    const typed = isErrorBody(body) ? body : undefined;
    super(typed?.error.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = typed?.error.code ?? (status === 0 ? 'network' : `http_${status}`);
    this.messages = typed?.error.messages ?? {};
    this.data = typed?.error.data;
    this.requestId = typed?.request_id;
  }

  /** The server's message in the console's language, if the server sent one. */
  messageFor(locale: ServerLocale): string | undefined {
    return this.messages[locale] ?? this.messages['zh-CN'];
  }

  /** True when the request may or may not have reached the server (retry with the same key). */
  get outcomeUnknown(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}
