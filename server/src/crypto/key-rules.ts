import { CryptoError } from './errors.js';
import { fixParity } from './primitives.js';
import type { KeyAlgorithm, KeyType, MacAlgorithm, PinBlockFormat } from './service.js';

/**
 * What each key type may be and do. The service checks these on every use, so a key is only ever
 * used for its one purpose: a TAK never decrypts a PIN block, a TPK never makes a MAC, a KEK
 * never encrypts data (the separation ANSI X9.24-1 and PCI PIN requirement 19 ask for).
 */

export const KEY_LENGTHS: Readonly<Record<KeyAlgorithm, number>> = {
  TDES2: 16,
  TDES3: 24,
  AES128: 16,
  AES256: 32,
  HMAC256: 32,
};

const BLOCK_CIPHERS: readonly KeyAlgorithm[] = ['TDES2', 'TDES3', 'AES128', 'AES256'];

export const ALLOWED_ALGORITHMS: Readonly<Record<KeyType, readonly KeyAlgorithm[]>> = {
  TMK: BLOCK_CIPHERS,
  ZMK: BLOCK_CIPHERS,
  TPK: BLOCK_CIPHERS,
  ZPK: BLOCK_CIPHERS,
  TAK: [...BLOCK_CIPHERS, 'HMAC256'],
  ZAK: [...BLOCK_CIPHERS, 'HMAC256'],
  TDK: BLOCK_CIPHERS,
  PVK: ['TDES2', 'TDES3'],
  BDK: ['TDES2', 'AES128', 'AES256'],
};

export const KEK_TYPES: readonly KeyType[] = ['TMK', 'ZMK'];
export const PIN_KEY_TYPES: readonly KeyType[] = ['TPK', 'ZPK'];
export const MAC_KEY_TYPES: readonly KeyType[] = ['TAK', 'ZAK'];

/** The key algorithms each PIN block format is enciphered with. */
export const PIN_FORMAT_ALGORITHMS: Readonly<Record<PinBlockFormat, readonly KeyAlgorithm[]>> = {
  0: ['TDES2', 'TDES3'],
  4: ['AES128', 'AES256'],
};

export const MAC_ALGORITHM_KEYS: Readonly<Record<MacAlgorithm, readonly KeyAlgorithm[]>> = {
  'HMAC-SHA256': ['HMAC256'],
  // MAC algorithm 3 is defined for the double-length key K‖K'.
  'ISO9797-1-ALG3': ['TDES2'],
  'AES-CMAC': ['AES128', 'AES256'],
};

export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && Object.hasOwn(ALLOWED_ALGORITHMS, value);
}

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
  return typeof value === 'string' && Object.hasOwn(KEY_LENGTHS, value);
}

/** Throws unless `algorithm` is one a key of `type` may have. */
export function checkTypeAlgorithm(type: KeyType, algorithm: KeyAlgorithm): void {
  if (!isKeyType(type) || !isKeyAlgorithm(algorithm)) throw new CryptoError('key_type_mismatch', 'unknown key type or algorithm');
  if (!ALLOWED_ALGORITHMS[type].includes(algorithm)) {
    throw new CryptoError('key_type_mismatch', `a ${type} cannot be a ${algorithm} key`);
  }
}

/**
 * Checks clear key material for its algorithm and returns the key as the service keeps it: TDES
 * with odd parity, and never degenerate — K1 = K2 (or K2 = K3) makes TDES single DES.
 */
export function normaliseKey(algorithm: KeyAlgorithm, key: Uint8Array): Buffer {
  if (key.length !== KEY_LENGTHS[algorithm]) {
    throw new CryptoError('key_invalid', `a ${algorithm} key is ${KEY_LENGTHS[algorithm]} bytes`);
  }
  if (algorithm !== 'TDES2' && algorithm !== 'TDES3') return Buffer.from(key);
  const fixed = fixParity(key);
  const part = (i: number): Buffer => fixed.subarray(i * 8, i * 8 + 8);
  if (part(0).equals(part(1)) || (algorithm === 'TDES3' && part(1).equals(part(2)))) {
    fixed.fill(0);
    throw new CryptoError('key_invalid', 'a TDES key whose adjacent parts are equal is single DES');
  }
  return fixed;
}
