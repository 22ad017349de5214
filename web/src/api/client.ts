import createClient, { type Middleware } from 'openapi-fetch';
import { ApiError } from './errors';
import type { paths } from './schema';

/** Who wants to know that the session is gone (the session provider). */
const unauthenticatedListeners = new Set<() => void>();
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

let acceptLanguage = 'zh-CN';
/** The server renders `error.message` in this language; `messages` carries both anyway. */
export function setApiLanguage(language: string): void {
  acceptLanguage = language;
}

const SIGN_IN_PATHS = ['/api/v1/auth/login', '/api/v1/auth/totp/confirm', '/api/v1/auth/me'];

const middleware: Middleware = {
  onRequest({ request }) {
    request.headers.set('accept-language', acceptLanguage);
    return request;
  },
  onResponse({ response }) {
    const path = new URL(response.url, window.location.origin).pathname;
    if (response.status === 401 && !SIGN_IN_PATHS.includes(path)) {
      for (const listener of unauthenticatedListeners) listener();
    }
    return response;
  },
};

/**
 * The typed API client. Same origin: the session is an httpOnly cookie (SameSite=Strict) that
 * the server set at sign-in, so no token ever lives in JavaScript.
 */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(middleware);

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

async function settle(request: Promise<FetchResult>): Promise<unknown> {
  let result: FetchResult;
  try {
    result = await request;
  } catch {
    // No answer at all: offline, proxy down, connection reset.
    throw new ApiError(0, undefined);
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error);
  return result.data;
}

/** Resolves an openapi-fetch call to its typed data, or throws an ApiError. */
export async function unwrap<R extends FetchResult>(request: Promise<R>): Promise<NonNullable<R['data']>> {
  return (await settle(request)) as NonNullable<R['data']>;
}

/**
 * Like `unwrap`, for the routes whose OpenAPI entry declares no response schema yet: `T` is the
 * hand-written reply type from api/types.ts.
 */
export async function unwrapAs<T>(request: Promise<FetchResult>): Promise<T> {
  return (await settle(request)) as T;
}
