/**
 * ISO 9564-1:2017 format 4 PIN blocks in the browser (WebCrypto only), for the session PIN key
 * the terminal receives at sign-on (AES-128, non-extractable, usable for AES-CBC encrypt).
 * The server's `server/src/crypto/pin-block.ts` is the reference; web/test/terminal-pin-block.test.ts
 * proves that the server deciphers what this builds.
 *
 *   PIN field  = 4 ‖ length ‖ PIN digits ‖ A…A (16 nibbles) ‖ 8 random bytes
 *   PAN field  = (PAN length − 12) ‖ PAN ‖ 0…0 (32 nibbles)
 *   block      = E(K, E(K, PIN field) ⊕ PAN field)
 *
 * One AES block is AES-CBC with a zero IV, first 16 bytes of the output (the padding block that
 * WebCrypto appends is dropped) — the same trick as the client's AES-CMAC. The clear PIN field is
 * wiped as soon as it is enciphered; the PIN string itself cannot be wiped (JS strings are
 * immutable), so callers keep it in a local variable only, never in state, storage or logs.
 */

const PIN = /^\d{4,12}$/;
const PAN = /^\d{12,19}$/;

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

async function aesBlock(key: CryptoKey, block: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, block));
  return out.slice(0, 16);
}

/** The format 4 PAN field (the server's panField4). */
export function panField4(pan: string): Uint8Array<ArrayBuffer> {
  if (!PAN.test(pan)) throw new Error('a PAN must be 12 to 19 digits');
  return hexToBytes((String(pan.length - 12) + pan).padEnd(32, '0'));
}

/**
 * The enciphered format 4 PIN block, 32 upper-case hex characters. `random` (8 bytes) is for
 * tests only; by default the fill comes from crypto.getRandomValues.
 */
export async function encipherFormat4(key: CryptoKey, pin: string, pan: string, random?: Uint8Array): Promise<string> {
  if (!PIN.test(pin)) throw new Error('a PIN must be 4 to 12 digits');
  const fill = random ?? crypto.getRandomValues(new Uint8Array(8));
  if (fill.length !== 8) throw new Error('the format 4 random fill is 8 bytes');
  const field = new Uint8Array(16);
  field.set(hexToBytes('4' + pin.length.toString(16) + pin + 'A'.repeat(14 - pin.length)), 0);
  field.set(fill, 8);
  const intermediate = await aesBlock(key, field);
  field.fill(0);
  const panField = panField4(pan);
  for (let i = 0; i < 16; i++) intermediate[i]! ^= panField[i]!;
  const block = await aesBlock(key, intermediate);
  intermediate.fill(0);
  return toHex(block);
}
