import { ApiError } from '../../../api/errors';
import { normaliseLanguage } from '../../../hooks/use-language';
import i18n from '../../../locales';

/** What every payment answer carries (server payments/contracts.ts TxnReply). */
export interface TxnReply {
  id: string;
  clientId: string;
  type: string;
  status: string;
  approved: boolean;
  responseCode: string;
  message: { zh: string; en: string };
  amount: number;
  fee: number;
  authCode: string | null;
  at: number;
}

export interface CustomerAccount {
  id: string;
  name: string;
  balance: number;
}

export interface DecodedQr {
  merchantName: string;
  merchantCity: string;
  mcc: string;
  amount: number | null;
  orderId: string | null;
}

/**
 * The customer payment API (/api/v1/pay/…): same origin, the session cookie, JSON. Not in the
 * generated OpenAPI client yet, so typed here by hand.
 */
export async function mobileApi<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      credentials: 'same-origin',
      headers: { 'accept-language': normaliseLanguage(i18n.language), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, undefined);
  }
  const json: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, json);
  return json as T;
}

/** A fresh idempotency key: one per payment the customer confirms, reused by its retries. */
export const newClientId = (): string => `m-${crypto.randomUUID()}`;
