import { randomBytes } from 'node:crypto';
import { CryptoError } from './errors.js';
import { aesDecryptEcb, aesEncryptEcb, tdesDecryptEcb, tdesEncryptEcb, xor } from './primitives.js';

/**
 * ISO 9564-1 PIN blocks. Format 0 (8 bytes, for TDES): PIN field ⊕ account-number field.
 * Format 4 (16 bytes, for AES, ISO 9564-1:2017): PIN field with 8 random bytes, PAN field, and
 * the block is E(K, E(K, PIN field) ⊕ PAN field). A block that does not parse is a
 * CryptoError('pin_block_invalid') whose message names the broken rule, never a nibble of it.
 */

const PIN = /^\d{4,12}$/;
const PAN = /^\d{12,19}$/;

export function checkPin(pin: string): void {
  if (typeof pin !== 'string' || !PIN.test(pin)) throw new CryptoError('input_invalid', 'a PIN must be 4 to 12 digits');
}

export function checkPan(pan: string): void {
  if (typeof pan !== 'string' || !PAN.test(pan)) throw new CryptoError('input_invalid', 'a PAN must be 12 to 19 digits');
}

/** The first 16 nibbles of formats 0 and 4: control, length, PIN digits, fill nibbles. */
function pinNibbles(control: string, pin: string, fill: string): string {
  checkPin(pin);
  return control + pin.length.toString(16) + pin + fill.repeat(14 - pin.length);
}

function parsePinNibbles(hex: string, control: string, fill: string): string {
  if (hex[0] !== control) throw new CryptoError('pin_block_invalid', `the PIN block is not format ${control}`);
  const length = parseInt(hex[1]!, 16);
  if (length < 4 || length > 12) throw new CryptoError('pin_block_invalid', 'the PIN length nibble is outside 4 to 12');
  const pin = hex.slice(2, 2 + length);
  if (!/^\d+$/.test(pin)) throw new CryptoError('pin_block_invalid', 'the PIN field holds a non-digit');
  if (hex.slice(2 + length, 16) !== fill.repeat(14 - length)) throw new CryptoError('pin_block_invalid', 'the PIN fill nibbles are wrong');
  return pin;
}

/** Format 0 account-number field: 0000 and the 12 rightmost PAN digits without the check digit. */
export function panField0(pan: string): Buffer {
  checkPan(pan);
  return Buffer.from('0000' + pan.slice(0, -1).slice(-12).padStart(12, '0'), 'hex');
}

/** Format 0 clear PIN block. */
export function buildFormat0(pin: string, pan: string): Buffer {
  return xor(Buffer.from(pinNibbles('0', pin, 'F'), 'hex'), panField0(pan));
}

/** The PIN inside a format 0 clear PIN block. */
export function parseFormat0(block: Uint8Array, pan: string): string {
  if (block.length !== 8) throw new CryptoError('pin_block_invalid', 'a format 0 PIN block is 8 bytes');
  const field = xor(block, panField0(pan));
  const pin = parsePinNibbles(field.toString('hex').toUpperCase(), '0', 'F');
  field.fill(0);
  return pin;
}

/** Format 4 plain-text PIN field: 4, length, PIN, fill A to 8 bytes, then 8 random bytes. */
export function pinField4(pin: string, random: Uint8Array = randomBytes(8)): Buffer {
  if (random.length !== 8) throw new CryptoError('input_invalid', 'the format 4 random fill is 8 bytes');
  return Buffer.concat([Buffer.from(pinNibbles('4', pin, 'A'), 'hex'), random]);
}

/** Format 4 PAN field: M = PAN length − 12 (0 for a shorter PAN, left-padded to 12), PAN, zeros. */
export function panField4(pan: string): Buffer {
  checkPan(pan);
  const m = pan.length - 12;
  return Buffer.from((m.toString() + pan).padEnd(32, '0'), 'hex');
}

export function parsePinField4(field: Uint8Array): string {
  if (field.length !== 16) throw new CryptoError('pin_block_invalid', 'a format 4 PIN block is 16 bytes');
  // Only the first 8 bytes are constrained; the last 8 are random by design.
  return parsePinNibbles(Buffer.from(field.subarray(0, 8)).toString('hex').toUpperCase(), '4', 'A');
}

export function encipherFormat0(key: Uint8Array, pin: string, pan: string): Buffer {
  const clear = buildFormat0(pin, pan);
  const block = tdesEncryptEcb(key, clear);
  clear.fill(0);
  return block;
}

export function decipherFormat0(key: Uint8Array, block: Uint8Array, pan: string): string {
  if (block.length !== 8) throw new CryptoError('pin_block_invalid', 'a format 0 PIN block is 8 bytes');
  const clear = tdesDecryptEcb(key, block);
  const pin = parseFormat0(clear, pan);
  clear.fill(0);
  return pin;
}

export function encipherFormat4(key: Uint8Array, pin: string, pan: string, random?: Uint8Array): Buffer {
  const field = pinField4(pin, random);
  const intermediate = aesEncryptEcb(key, field);
  field.fill(0);
  return aesEncryptEcb(key, xor(intermediate, panField4(pan)));
}

export function decipherFormat4(key: Uint8Array, block: Uint8Array, pan: string): string {
  if (block.length !== 16) throw new CryptoError('pin_block_invalid', 'a format 4 PIN block is 16 bytes');
  const intermediate = xor(aesDecryptEcb(key, block), panField4(pan));
  const field = aesDecryptEcb(key, intermediate);
  const pin = parsePinField4(field);
  field.fill(0);
  return pin;
}
