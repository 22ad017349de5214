const KEY_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * A fresh Idempotency-Key (a UUID v4, dashes included: it matches the server's
 * ^[A-Za-z0-9_-]{16,64}$). Built from crypto.getRandomValues because crypto.randomUUID exists
 * only in secure contexts, and a branch tablet may reach the console over plain http on the LAN.
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const key = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (!KEY_PATTERN.test(key)) throw new Error('idempotency key does not match the server pattern');
  return key;
}
