import { v7 as uuidv7 } from 'uuid';

/** A new time-ordered id (UUIDv7): sorts by creation time, unique across processes. */
export function newId(): string {
  return uuidv7();
}

/** An Idempotency-Key header (transfers, card issuance): 16–64 of [A-Za-z0-9_-], e.g. a UUID. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{16,64}$/;

/** Ids clients may choose (transfer ids, idempotency keys): 1–128 of [A-Za-z0-9._:-]. */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
const clientIdRe = new RegExp(CLIENT_ID_PATTERN);

export function isClientId(value: unknown): value is string {
  return typeof value === 'string' && clientIdRe.test(value);
}
