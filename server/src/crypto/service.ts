/**
 * The crypto service: a software HSM behind an interface a hardware HSM can replace.
 *
 * Keys never leave it in clear. Callers hold `KeyHandle`s: the key sealed under the local master
 * key (LMK, derived from the platform master key; versioned so it can rotate without downtime)
 * plus its type, algorithm and key check value. Handles are safe to store in a database column.
 * Clear PINs exist only inside the implementation, only for the instant an operation needs them.
 *
 * Every method is async because a hardware HSM is a network peer.
 */

import type { KeyHandle, KeyType, KeyAlgorithm, PinBlockFormat, PinKeyRef } from './key-types.js';

export type { KeyHandle, KeyType, KeyAlgorithm, PinBlockFormat, PinKeyRef } from './key-types.js';


export type MacAlgorithm = 'HMAC-SHA256' | 'ISO9797-1-ALG3' | 'AES-CMAC';

/**
 * Options of generateMac/verifyMac. `padding` is the ISO/IEC 9797-1 padding method for
 * ISO9797-1-ALG3: 1 (zeros; the default, as CUP ISO 8583 field 64 uses) or 2 (0x80 then zeros).
 * A verifier accepts a MAC truncated to its leftmost bytes down to 4 (ALG3), 8 (CMAC), 16 (HMAC).
 */
export interface MacOptions {
  readonly padding?: 1 | 2;
}

export type PinVerification =
  | { readonly method: 'ibm3624'; readonly pvk: KeyHandle; readonly offset: string; readonly decimalisationTable?: string; readonly validationData?: string; readonly checkLength?: number }
  | { readonly method: 'visa-pvv'; readonly pvk: KeyHandle; readonly pvki: number; readonly pvv: string };

/** Session working keys for a JSON terminal, issued at sign-on. */
export interface TerminalSessionKeys {
  readonly pin: KeyHandle; // AES128, for ISO 9564 format 4 PIN blocks
  readonly mac: KeyHandle; // HMAC256, for request MACs
  readonly data: KeyHandle; // AES256, for sensitive fields
  /**
   * The three clear keys for the terminal, protected for it alone: X25519 between the terminal's
   * ephemeral public key and a fresh server key, HKDF-SHA256 (salt, info = context), AES-256-GCM.
   * The plaintext is JSON `{"pin":"<hex>","mac":"<hex>","data":"<hex>"}`. All fields base64url.
   * Precisely: serverPublicKey is the raw 32-byte X25519 key; HKDF-SHA256 takes the shared secret,
   * salt (32 random bytes) and info = context in UTF-8 to a 32-byte key; iv is 12 bytes; no
   * additional data; ciphertext is the GCM ciphertext followed by its 16-byte tag (what WebCrypto's
   * AES-GCM decrypt takes). Key hex is lower case; check the keys against the handles' KCVs.
   */
  readonly wrapped: { readonly serverPublicKey: string; readonly salt: string; readonly iv: string; readonly ciphertext: string };
}

export interface CryptoService {
  /** The LMK version new handles are sealed under. */
  readonly lmkVersion: number;

  generateKey(type: KeyType, algorithm: KeyAlgorithm): Promise<KeyHandle>;
  /** Forms a key from clear components (hex, XORed together), as key custodians do at a ceremony. */
  importComponents(type: KeyType, algorithm: KeyAlgorithm, componentsHex: readonly string[]): Promise<KeyHandle>;
  /** A key encrypted under a key-encrypting key (e.g. a ZPK under the ZMK), for a peer. */
  exportUnder(key: KeyHandle, kek: KeyHandle): Promise<{ cryptogram: string; kcv: string }>;
  /** Imports a key a peer sent encrypted under a shared KEK; refuses it if the check value differs. */
  importUnder(type: KeyType, algorithm: KeyAlgorithm, cryptogramHex: string, kek: KeyHandle, expectedKcv: string): Promise<KeyHandle>;
  /** Re-seals a handle under the current LMK version (rotation without downtime). */
  rewrap(key: KeyHandle): Promise<KeyHandle>;

  issueTerminalSessionKeys(terminalPublicKey: Uint8Array, context: string): Promise<TerminalSessionKeys>;

  generateMac(key: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, options?: MacOptions): Promise<Buffer>;
  /** Constant-time comparison inside the service. */
  verifyMac(key: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, mac: Uint8Array, options?: MacOptions): Promise<boolean>;

  /** Re-encrypts a PIN block from one key/format to another; the clear PIN never leaves. */
  translatePin(input: { pinBlock: Uint8Array; from: PinKeyRef; fromFormat: PinBlockFormat; to: KeyHandle; toFormat: PinBlockFormat; pan: string }): Promise<Buffer>;
  /** Verifies an encrypted PIN block the way issuers do. False for a wrong PIN; throws CryptoError for a malformed block. */
  verifyPin(input: { pinBlock: Uint8Array; key: PinKeyRef; format: PinBlockFormat; pan: string; verification: PinVerification }): Promise<boolean>;
  /** At card issuance: the IBM 3624 offset for the PIN inside an encrypted PIN block. */
  generateIbm3624Offset(input: { pinBlock: Uint8Array; key: PinKeyRef; format: PinBlockFormat; pan: string; pvk: KeyHandle; decimalisationTable?: string; validationData?: string }): Promise<string>;
  /** At card issuance: the Visa PVV for the PIN inside an encrypted PIN block. */
  generatePvv(input: { pinBlock: Uint8Array; key: PinKeyRef; format: PinBlockFormat; pan: string; pvk: KeyHandle; pvki: number }): Promise<string>;

  /** Ed25519 signature by the platform's signing key (app bundles). */
  sign(data: Uint8Array): Promise<Buffer>;
  /** The platform signing key's public key, raw 32 bytes. */
  signingPublicKey(): Promise<Buffer>;
}
