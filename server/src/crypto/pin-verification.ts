import { timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.js';
import { checkPan, checkPin } from './pin-block.js';
import { desEncryptEcb, tdesEncryptEcb } from './primitives.js';

/**
 * Issuer PIN verification: IBM 3624 (natural PIN through a decimalisation table, customer PINs
 * through an offset) and the Visa PVV. Both encrypt one block under the PIN verification key
 * (PVK); the clear PIN is compared in constant time and never leaves these functions.
 */

/** The usual decimalisation table: hex digit i → i mod 10. */
export const DEFAULT_DECIMALISATION_TABLE = '0123456789012345';

/** An 8-byte key is single DES (older PVKs, published worked examples); 16/24 bytes are TDES. */
function encryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  return key.length === 8 ? desEncryptEcb(key, block) : tdesEncryptEcb(key, block);
}

function checkTable(table: string): void {
  if (typeof table !== 'string' || !/^\d{16}$/.test(table))
    throw new CryptoError('input_invalid', 'a decimalisation table is 16 decimal digits');
}

/** Replaces each hex digit d of `hex` with table[d] (IBM CCA, "IBM 3624 PIN-calculation method"). */
export function decimalise(hex: string, table: string): string {
  checkTable(table);
  let out = '';
  for (const digit of hex) out += table[parseInt(digit, 16)];
  return out;
}

/**
 * The 16 hex digits the PVK encrypts. Explicit validation data is 1–16 hex digits, padded on the
 * right with F. Without it, the PAN-derived default: the PAN left-justified, its first 16 digits,
 * F-padded when shorter — for the common 16-digit PAN that is the whole PAN, as in the usual
 * worked examples. Issuers with another convention pass their validation data explicitly.
 */
export function ibm3624ValidationData(pan: string, validationData?: string): Buffer {
  if (validationData !== undefined) {
    if (typeof validationData !== 'string' || !/^[0-9A-Fa-f]{1,16}$/.test(validationData)) {
      throw new CryptoError('input_invalid', 'validation data is 1 to 16 hex digits');
    }
    return Buffer.from(validationData.padEnd(16, 'F'), 'hex');
  }
  checkPan(pan);
  return Buffer.from(pan.slice(0, 16).padEnd(16, 'F'), 'hex');
}

/** The natural (intermediate) PIN's leftmost `length` digits. */
export function ibm3624NaturalPin(pvk: Uint8Array, validationData: Uint8Array, table: string, length: number): string {
  if (validationData.length !== 8) throw new CryptoError('input_invalid', 'validation data is 8 bytes');
  if (!Number.isInteger(length) || length < 4 || length > 16) throw new CryptoError('input_invalid', 'a PIN length is 4 to 16');
  const encrypted = encryptBlock(pvk, validationData).toString('hex');
  return decimalise(encrypted, table).slice(0, length);
}

export interface Ibm3624Options {
  readonly decimalisationTable?: string | undefined;
  readonly validationData?: string | undefined;
}

/** Offset = customer PIN − natural PIN, digit by digit modulo 10 (no borrows); as long as the PIN. */
export function ibm3624Offset(pvk: Uint8Array, pin: string, pan: string, options: Ibm3624Options = {}): string {
  checkPin(pin);
  const natural = ibm3624NaturalPin(
    pvk,
    ibm3624ValidationData(pan, options.validationData),
    options.decimalisationTable ?? DEFAULT_DECIMALISATION_TABLE,
    pin.length,
  );
  let offset = '';
  for (let i = 0; i < pin.length; i++) offset += (Number(pin[i]) - Number(natural[i]) + 10) % 10;
  return offset;
}

/**
 * IBM 3624 offset verification: natural PIN + offset (modulo 10, no carries) must equal the PIN on
 * the rightmost `checkLength` digits (IBM: "the PIN check length"; default the offset's length).
 * A PIN shorter than the check length is simply wrong.
 */
export function ibm3624Verify(
  pvk: Uint8Array,
  pin: string,
  pan: string,
  offset: string,
  options: Ibm3624Options & { readonly checkLength?: number | undefined } = {},
): boolean {
  checkPin(pin);
  if (typeof offset !== 'string' || !/^\d{4,12}$/.test(offset)) throw new CryptoError('input_invalid', 'an offset is 4 to 12 digits');
  const checkLength = options.checkLength ?? offset.length;
  if (!Number.isInteger(checkLength) || checkLength < 4 || checkLength > offset.length) {
    throw new CryptoError('input_invalid', 'the check length is 4 up to the offset length');
  }
  if (pin.length < checkLength) return false;
  const natural = ibm3624NaturalPin(
    pvk,
    ibm3624ValidationData(pan, options.validationData),
    options.decimalisationTable ?? DEFAULT_DECIMALISATION_TABLE,
    pin.length,
  );
  let expected = '';
  for (let j = 0; j < checkLength; j++) {
    const i = pin.length - checkLength + j;
    expected += (Number(natural[i]) + Number(offset[offset.length - checkLength + j])) % 10;
  }
  return timingSafeEqual(Buffer.from(expected), Buffer.from(pin.slice(pin.length - checkLength)));
}

/** Visa TSP: the 11 rightmost PAN digits without the check digit, the PVKI, the first 4 PIN digits. */
export function visaTsp(pan: string, pvki: number, pin: string): Buffer {
  checkPan(pan);
  checkPin(pin);
  if (!Number.isInteger(pvki) || pvki < 0 || pvki > 9) throw new CryptoError('input_invalid', 'a PVKI is one digit');
  return Buffer.from(pan.slice(0, -1).slice(-11) + String(pvki) + pin.slice(0, 4), 'hex');
}

/**
 * Visa PVV decimalisation (IBM CCA, "VISA PVV calculation method"): the decimal digits of the
 * ciphertext left to right; if fewer than four, a second pass takes the digits A–F minus 10.
 */
export function pvvFromCiphertext(hex: string): string {
  let pvv = '';
  for (const d of hex) if (pvv.length < 4 && d >= '0' && d <= '9') pvv += d;
  for (const d of hex.toUpperCase()) if (pvv.length < 4 && d >= 'A' && d <= 'F') pvv += String(parseInt(d, 16) - 10);
  return pvv;
}

/** The Visa PIN verification value under a double-length PVK. */
export function visaPvv(pvk: Uint8Array, pan: string, pvki: number, pin: string): string {
  if (pvk.length !== 16) throw new CryptoError('key_invalid', 'a Visa PVK is a double-length TDES key');
  return pvvFromCiphertext(tdesEncryptEcb(pvk, visaTsp(pan, pvki, pin)).toString('hex'));
}

export function visaPvvVerify(pvk: Uint8Array, pan: string, pvki: number, pin: string, pvv: string): boolean {
  if (typeof pvv !== 'string' || !/^\d{4}$/.test(pvv)) throw new CryptoError('input_invalid', 'a PVV is 4 digits');
  return timingSafeEqual(Buffer.from(visaPvv(pvk, pan, pvki, pin)), Buffer.from(pvv));
}
