import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.js';
import { AES_BLOCK, DES_BLOCK, aesEncryptCbc, aesEncryptEcb, desEncryptCbc, tdesEncryptEcb, xor } from './primitives.js';

/** ISO/IEC 9797-1 padding methods: 1 = zero bits, 2 = one bit then zero bits. */
export type MacPadding = 1 | 2;

/**
 * ISO/IEC 9797-1 padding. Method 1 adds no block to data already a multiple of the block size,
 * and pads empty data to one zero block (9797-1 §6.1.1). Method 2 always adds 0x80.
 */
export function padIso9797(data: Uint8Array, block: number, method: MacPadding): Buffer {
  const extra = method === 2 ? 1 : 0;
  let length = Math.ceil((data.length + extra) / block) * block;
  if (length === 0) length = block;
  const out = Buffer.alloc(length);
  out.set(data);
  if (method === 2) out[data.length] = 0x80;
  return out;
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC", ANSI X9.19): CBC with single DES under K over
 * the padded data, then output transformation 3 on the last block, E(K, D(K', H)). The key is the
 * double-length TDES key K‖K'. Returns the full 8 bytes; callers truncate (CUP field 64 keeps 8).
 */
export function retailMac(key: Uint8Array, data: Uint8Array, padding: MacPadding = 1): Buffer {
  if (key.length !== 16) throw new CryptoError('key_invalid', 'MAC algorithm 3 needs a double-length (16-byte) key');
  const padded = padIso9797(data, DES_BLOCK, padding);
  const blocks = padded.length / DES_BLOCK;
  let last = padded.subarray(padded.length - DES_BLOCK);
  if (blocks > 1) {
    // Chaining value before the last block, then E(K, D(K', E(K, H ⊕ last))) is one EDE block.
    const chained = desEncryptCbc(key.subarray(0, 8), Buffer.alloc(DES_BLOCK), padded.subarray(0, padded.length - DES_BLOCK));
    last = xor(chained.subarray(chained.length - DES_BLOCK), last);
  }
  return tdesEncryptEcb(key, last);
}

/** Doubling in GF(2^128) for the CMAC subkeys (RFC 4493 §2.3). */
function dbl(block: Buffer): Buffer {
  const out = Buffer.allocUnsafe(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < AES_BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[AES_BLOCK - 1] = out[AES_BLOCK - 1]! ^ 0x87;
  return out;
}

/** AES-CMAC (NIST SP 800-38B; RFC 4493 for AES-128), any AES key length, full 16-byte tag. */
export function aesCmac(key: Uint8Array, data: Uint8Array): Buffer {
  const k1 = dbl(aesEncryptEcb(key, Buffer.alloc(AES_BLOCK)));
  const complete = data.length > 0 && data.length % AES_BLOCK === 0;
  const padded = complete ? Buffer.from(data) : padIso9797(data, AES_BLOCK, 2);
  const tail = padded.length - AES_BLOCK;
  padded.set(xor(padded.subarray(tail), complete ? k1 : dbl(k1)), tail);
  const chained = aesEncryptCbc(key, Buffer.alloc(AES_BLOCK), padded);
  return chained.subarray(chained.length - AES_BLOCK);
}

/** HMAC-SHA256 (RFC 2104 / FIPS 198-1); a KeyObject saves re-importing a hot key. */
export function hmacSha256(key: Uint8Array | KeyObject, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Constant-time check that `given` is `computed` or a truncation of it no shorter than
 * `minLength`. Lengths are public (they are part of the message format), so the early returns
 * leak nothing about the key or the MAC.
 */
export function macMatches(computed: Uint8Array, given: Uint8Array, minLength: number): boolean {
  if (given.length < minLength || given.length > computed.length) return false;
  return timingSafeEqual(computed.subarray(0, given.length), given);
}
