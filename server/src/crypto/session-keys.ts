import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import { CryptoError } from './errors.js';
import { okpPublicKey } from './signing.js';
import type { TerminalSessionKeys } from './service.js';

/**
 * Protects bytes for one terminal: ECDH X25519 between the terminal's ephemeral public key and a
 * fresh server key pair, HKDF-SHA256 (random 32-byte salt, info = the context string in UTF-8) to a
 * 32-byte key, AES-256-GCM with a random 12-byte IV, no additional data; `ciphertext` is the GCM
 * ciphertext followed by its 16-byte tag, which is what WebCrypto's AES-GCM decrypt expects. The
 * server's private key is dropped when this returns, so every wrap is forward secret.
 */
export function wrapForTerminal(terminalPublicKey: Uint8Array, context: string, plaintext: Uint8Array): TerminalSessionKeys['wrapped'] {
  if (typeof context !== 'string' || context.length === 0 || context.length > 256) {
    throw new CryptoError('input_invalid', 'the key-wrapping context is 1 to 256 characters');
  }
  const peer = okpPublicKey('X25519', terminalPublicKey);
  const server = generateKeyPairSync('x25519');
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: server.privateKey, publicKey: peer });
  } catch {
    // OpenSSL refuses a small-order point (the all-zero shared secret of RFC 7748 §6.1).
    throw new CryptoError('input_invalid', 'the terminal public key is not a usable X25519 key');
  }
  if (shared.every((b) => b === 0)) throw new CryptoError('input_invalid', 'the terminal public key is not a usable X25519 key');
  const salt = randomBytes(32);
  const key = Buffer.from(hkdfSync('sha256', shared, salt, Buffer.from(context, 'utf8'), 32));
  shared.fill(0);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  const serverPublicKey = createPublicKey(server.privateKey).export({ format: 'jwk' }).x ?? '';
  return {
    serverPublicKey,
    salt: salt.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
  };
}
