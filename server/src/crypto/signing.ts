import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.js';

/**
 * Ed25519 key pairs from a 32-byte seed (RFC 8032 §5.1.5: the seed is the private key), so every
 * server process derives the same platform signing key from the master key; and verification of
 * device signatures, a public-key operation that needs no HSM.
 */

// PKCS#8 PrivateKeyInfo for id-Ed25519 (1.3.101.112) wrapping a 32-byte OCTET STRING (RFC 8410 §7).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface Ed25519KeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key. */
  readonly publicKey: Buffer;
}

export function ed25519FromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== 32) throw new CryptoError('key_invalid', 'an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: Buffer.from(jwk.x ?? '', 'base64url') };
}

/** Imports a raw 32-byte public key of an OKP curve (Ed25519 or X25519). */
export function okpPublicKey(curve: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new CryptoError('input_invalid', `an ${curve} public key is 32 bytes`);
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/**
 * Verifies an Ed25519 signature by a raw public key. Anything malformed — a key of the wrong
 * length or not on the curve, a signature that is not 64 bytes — is simply not a valid signature.
 */
export function verifyEd25519(publicKeyRaw: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return verify(null, data, okpPublicKey('Ed25519', publicKeyRaw), signature);
  } catch {
    return false;
  }
}
