import { createCipheriv, createDecipheriv } from 'node:crypto';
import { CryptoError } from './errors.js';

/**
 * Block-cipher building blocks over node:crypto: TDES (2- and 3-key EDE), single DES (as EDE with
 * K1 = K2 = K3, because OpenSSL 3 keeps plain DES in its legacy provider only), AES, in ECB and CBC
 * without padding. Inputs are checked so a wrong length is a CryptoError, never an OpenSSL message.
 */

export const DES_BLOCK = 8;
export const AES_BLOCK = 16;

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Strict hex to bytes (`what` names the field in the error; the value never appears in it).
 * `lengths` lists the byte lengths allowed, if any.
 */
export function fromHex(hex: string, what: string, lengths?: readonly number[]): Buffer {
  if (typeof hex !== 'string' || !HEX.test(hex)) throw new CryptoError('input_invalid', `${what} must be an even number of hex digits`);
  const bytes = Buffer.from(hex, 'hex');
  if (lengths && !lengths.includes(bytes.length)) {
    throw new CryptoError('input_invalid', `${what} must be ${lengths.map((n) => n * 2).join(' or ')} hex digits`);
  }
  return bytes;
}

/** Upper-case hex, the way key check values and HSM logs write it. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new CryptoError('input_invalid', 'XOR operands differ in length');
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function oddParityByte(b: number): number {
  let ones = 0;
  for (let v = b >> 1; v; v >>= 1) ones += v & 1;
  // The low bit is DES's parity bit: set it so the byte has an odd number of ones.
  return (b & 0xfe) | (ones % 2 === 0 ? 1 : 0);
}

/** Sets every byte's low bit for odd parity (DES ignores those bits; HSMs insist on them). */
export function fixParity(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length);
  for (let i = 0; i < key.length; i++) out[i] = oddParityByte(key[i]!);
  return out;
}

export function hasOddParity(key: Uint8Array): boolean {
  for (const b of key) if (oddParityByte(b) !== b) return false;
  return true;
}

function checkBlocks(data: Uint8Array, block: number): void {
  if (data.length === 0 || data.length % block !== 0) {
    throw new CryptoError('input_invalid', `data must be a non-empty multiple of ${block} bytes`);
  }
}

function run(name: string, decrypt: boolean, key: Uint8Array, iv: Uint8Array | null, data: Uint8Array): Buffer {
  const cipher = decrypt ? createDecipheriv(name, key, iv) : createCipheriv(name, key, iv);
  cipher.setAutoPadding(false);
  const head = cipher.update(data);
  const tail = cipher.final();
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}

function tdesName(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (key.length === 16) return `des-ede-${mode}`;
  if (key.length === 24) return `des-ede3-${mode}`;
  throw new CryptoError('key_invalid', 'a TDES key must be 16 or 24 bytes');
}

function aesName(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (key.length === 16 || key.length === 24 || key.length === 32) return `aes-${key.length * 8}-${mode}`;
  throw new CryptoError('key_invalid', 'an AES key must be 16, 24 or 32 bytes');
}

function checkIv(iv: Uint8Array, block: number): void {
  if (iv.length !== block) throw new CryptoError('input_invalid', `the IV must be ${block} bytes`);
}

export function tdesEncryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, DES_BLOCK);
  return run(tdesName(key, 'ecb'), false, key, null, data);
}

export function tdesDecryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, DES_BLOCK);
  return run(tdesName(key, 'ecb'), true, key, null, data);
}

export function tdesEncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, DES_BLOCK);
  checkIv(iv, DES_BLOCK);
  return run(tdesName(key, 'cbc'), false, key, iv, data);
}

export function tdesDecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, DES_BLOCK);
  checkIv(iv, DES_BLOCK);
  return run(tdesName(key, 'cbc'), true, key, iv, data);
}

/** Single DES as EDE with K‖K: E(K, D(K, E(K, x))) = E(K, x). */
function desAsTdes(key: Uint8Array): Buffer {
  if (key.length !== 8) throw new CryptoError('key_invalid', 'a DES key must be 8 bytes');
  return Buffer.concat([key, key]);
}

export function desEncryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  return tdesEncryptEcb(desAsTdes(key), data);
}

export function desDecryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  return tdesDecryptEcb(desAsTdes(key), data);
}

export function desEncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  return tdesEncryptCbc(desAsTdes(key), iv, data);
}

export function aesEncryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, AES_BLOCK);
  return run(aesName(key, 'ecb'), false, key, null, data);
}

export function aesDecryptEcb(key: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, AES_BLOCK);
  return run(aesName(key, 'ecb'), true, key, null, data);
}

export function aesEncryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, AES_BLOCK);
  checkIv(iv, AES_BLOCK);
  return run(aesName(key, 'cbc'), false, key, iv, data);
}

export function aesDecryptCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkBlocks(data, AES_BLOCK);
  checkIv(iv, AES_BLOCK);
  return run(aesName(key, 'cbc'), true, key, iv, data);
}
