import { aesCmac, hmacSha256 } from './mac.js';
import { toHex, tdesEncryptEcb } from './primitives.js';
import type { KeyAlgorithm } from './service.js';

/**
 * Key check values, 6 hex digits (3 bytes), as ANSI X9.24-1:2017 §7.7 and PCI PIN 15-1 define
 * them: TDES encrypts a zero block; AES MACs a zero block with CMAC (the only method allowed for
 * AES). HMAC keys have no standard check value; ours is the leftmost 3 bytes of
 * HMAC-SHA256(K, 16 zero bytes), so a terminal can check it with WebCrypto alone.
 */
export function keyCheckValue(algorithm: KeyAlgorithm, key: Uint8Array): string {
  switch (algorithm) {
    case 'TDES2':
    case 'TDES3':
      return toHex(tdesEncryptEcb(key, Buffer.alloc(8)).subarray(0, 3));
    case 'AES128':
    case 'AES256':
      return toHex(aesCmac(key, Buffer.alloc(16)).subarray(0, 3));
    case 'HMAC256':
      return toHex(hmacSha256(key, Buffer.alloc(16)).subarray(0, 3));
  }
}
