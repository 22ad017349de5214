import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { Secrets } from '../platform/secrets.js';
import { dukptAesPinKey, DukptError } from './dukpt-aes.js';
import { dukptTdesPinKey } from './dukpt-tdes.js';
import { CryptoError } from './errors.js';
import { isLmkVersion, openBlob, parseBlob, sealKey, type SealedLabels } from './handles.js';
import { keyCheckValue } from './kcv.js';
import { LruCache } from './key-cache.js';
import {
  checkTypeAlgorithm,
  KEK_TYPES,
  KEY_LENGTHS,
  MAC_ALGORITHM_KEYS,
  MAC_KEY_TYPES,
  normaliseKey,
  PIN_FORMAT_ALGORITHMS,
  PIN_KEY_TYPES,
} from './key-rules.js';
import { aesCmac, hmacSha256, macMatches, retailMac, type MacPadding } from './mac.js';
import { decipherFormat0, decipherFormat4, encipherFormat0, encipherFormat4 } from './pin-block.js';
import { ibm3624Offset, ibm3624Verify, visaPvv, visaPvvVerify } from './pin-verification.js';
import { fromHex, tdesDecryptEcb, tdesEncryptEcb, toHex, xor } from './primitives.js';
import type {
  CryptoService,
  KeyAlgorithm,
  KeyHandle,
  KeyType,
  MacAlgorithm,
  MacOptions,
  PinBlockFormat,
  PinKeyRef,
  PinVerification,
  TerminalSessionKeys,
} from './service.js';
import { wrapForTerminal } from './session-keys.js';
import { ed25519FromSeed, type Ed25519KeyPair } from './signing.js';

export interface SoftwareHsmOptions {
  /** The LMK version new handles are sealed under (XIAOWEI_LMK_VERSION); default 1. */
  readonly lmkVersion?: number | undefined;
  /** Unwrapped keys kept in memory (LRU); default 10,000, at least 16. */
  readonly cacheSize?: number | undefined;
}

/** A key as the service holds it after unsealing. */
interface OpenKey extends SealedLabels {
  readonly key: Buffer;
  /** HMAC keys pre-imported once: createHmac with a KeyObject skips a copy on the hot path. */
  readonly hmacKey: KeyObject | undefined;
}

/** Shortest MAC a verifier accepts per algorithm, in bytes (truncation below it is refused). */
const MIN_MAC_BYTES: Readonly<Record<MacAlgorithm, number>> = {
  'HMAC-SHA256': 16,
  'ISO9797-1-ALG3': 4,
  'AES-CMAC': 8,
};

const AES_KEY_WRAP_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const SIGNING_PURPOSE = 'crypto:platform-signing:ed25519:v1';

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function needBytes(value: unknown, what: string): Uint8Array {
  if (!isBytes(value)) throw new CryptoError('input_invalid', `${what} must be bytes`);
  return value;
}

function pinFormatAlgorithms(format: PinBlockFormat): readonly KeyAlgorithm[] {
  if (format !== 0 && format !== 4) throw new CryptoError('input_invalid', 'the PIN block format must be 0 or 4');
  return PIN_FORMAT_ALGORITHMS[format];
}

function isTdes(algorithm: KeyAlgorithm): boolean {
  return algorithm === 'TDES2' || algorithm === 'TDES3';
}

/**
 * The crypto service in software. The LMK of version v is HKDF-derived from the platform master
 * key (`Secrets.deriveKey('crypto:lmk:v<v>')`), so every process derives the same LMKs and a handle
 * sealed under any version opens everywhere — including a version above this process's current one
 * during a rolling change of XIAOWEI_LMK_VERSION. New handles use the current version; `rewrap`
 * moves old ones forward. Clear keys live only in this object (LRU cache, zeroed on eviction).
 */
export class SoftwareHsm implements CryptoService {
  readonly lmkVersion: number;
  private readonly lmks = new Map<number, Buffer>();
  private readonly cache: LruCache<OpenKey>;
  private readonly signing: Ed25519KeyPair;

  constructor(
    private readonly secrets: Secrets,
    options: SoftwareHsmOptions = {},
  ) {
    const version = options.lmkVersion ?? 1;
    if (!isLmkVersion(version)) throw new CryptoError('input_invalid', 'the LMK version must be an integer from 1 to 9999');
    this.lmkVersion = version;
    // At least 16 entries: one operation opens at most three keys, and eviction zeroes key bytes,
    // so a tiny cache could wipe a key between opening it and using it.
    const cacheSize = options.cacheSize ?? 10_000;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) {
      throw new CryptoError('input_invalid', 'the key cache size must be a positive integer');
    }
    this.cache = new LruCache<OpenKey>(Math.max(16, cacheSize), (entry) => entry.key.fill(0));
    const seed = secrets.deriveKey(SIGNING_PURPOSE);
    this.signing = ed25519FromSeed(seed);
    seed.fill(0);
  }

  private lmk(version: number): Buffer {
    let lmk = this.lmks.get(version);
    if (!lmk) {
      lmk = this.secrets.deriveKey(`crypto:lmk:v${version}`);
      this.lmks.set(version, lmk);
    }
    return lmk;
  }

  /** Seals clear key bytes (already normalised) into a handle under the current LMK. */
  private seal(type: KeyType, algorithm: KeyAlgorithm, key: Buffer, kcv = keyCheckValue(algorithm, key)): KeyHandle {
    const labels: SealedLabels = { lmkVersion: this.lmkVersion, type, algorithm, kcv };
    return { blob: sealKey(this.lmk(this.lmkVersion), labels, key), ...labels };
  }

  /** Unseals a handle (cached) and checks that the labels the caller holds are the sealed ones. */
  private open(handle: KeyHandle): OpenKey {
    if (handle === null || typeof handle !== 'object' || typeof handle.blob !== 'string') {
      throw new CryptoError('key_unusable', 'a key handle is required');
    }
    let entry = this.cache.get(handle.blob);
    if (!entry) {
      const parsed = parseBlob(handle.blob);
      const key = openBlob(this.lmk(parsed.labels.lmkVersion), parsed);
      if (key.length !== KEY_LENGTHS[parsed.labels.algorithm]) throw new CryptoError('key_unusable', 'the sealed key has the wrong length');
      const hmacKey = parsed.labels.algorithm === 'HMAC256' ? createSecretKey(key) : undefined;
      entry = { ...parsed.labels, key, hmacKey };
      this.cache.set(handle.blob, entry);
    }
    if (
      entry.type !== handle.type ||
      entry.algorithm !== handle.algorithm ||
      entry.kcv !== handle.kcv ||
      entry.lmkVersion !== handle.lmkVersion
    ) {
      throw new CryptoError('key_unusable', 'the key handle has been relabelled: its labels differ from the sealed ones');
    }
    return entry;
  }

  /** Opens a handle for one use, refusing key types and algorithms that use does not allow. */
  private use(handle: KeyHandle, types: readonly KeyType[], algorithms: readonly KeyAlgorithm[], purpose: string): OpenKey {
    const entry = this.open(handle);
    if (!types.includes(entry.type)) throw new CryptoError('key_type_mismatch', `a ${entry.type} cannot be used for ${purpose}`);
    if (!algorithms.includes(entry.algorithm)) {
      throw new CryptoError('key_type_mismatch', `a ${entry.algorithm} key cannot be used for ${purpose}`);
    }
    return entry;
  }

  async generateKey(type: KeyType, algorithm: KeyAlgorithm): Promise<KeyHandle> {
    checkTypeAlgorithm(type, algorithm);
    for (;;) {
      const random = randomBytes(KEY_LENGTHS[algorithm]);
      try {
        const key = normaliseKey(algorithm, random);
        const handle = this.seal(type, algorithm, key);
        key.fill(0);
        return handle;
      } catch (error) {
        // A random TDES key with equal halves (probability 2^-56) is drawn again.
        if (!(error instanceof CryptoError && error.code === 'key_invalid')) throw error;
      } finally {
        random.fill(0);
      }
    }
  }

  async importComponents(type: KeyType, algorithm: KeyAlgorithm, componentsHex: readonly string[]): Promise<KeyHandle> {
    checkTypeAlgorithm(type, algorithm);
    const count: unknown = Array.isArray(componentsHex) ? componentsHex.length : undefined;
    if (typeof count !== 'number' || count < 1 || count > 9)
      throw new CryptoError('input_invalid', 'a key is formed from 1 to 9 components');
    const length = KEY_LENGTHS[algorithm];
    let combined: Buffer = Buffer.alloc(length);
    for (let i = 0; i < count; i++) {
      const component = fromHex(componentsHex[i]!, `component ${i + 1}`, [length]);
      const next = xor(combined, component);
      component.fill(0);
      combined.fill(0);
      combined = next;
    }
    try {
      const key = normaliseKey(algorithm, combined);
      const handle = this.seal(type, algorithm, key);
      key.fill(0);
      return handle;
    } finally {
      combined.fill(0);
    }
  }

  async exportUnder(key: KeyHandle, kek: KeyHandle): Promise<{ cryptogram: string; kcv: string }> {
    const wrapping = this.use(kek, KEK_TYPES, ['TDES2', 'TDES3', 'AES128', 'AES256'], 'wrapping keys');
    const wrapped = this.open(key);
    if (key.blob === kek.blob) throw new CryptoError('key_type_mismatch', 'a key cannot be exported under itself');
    return { cryptogram: toHex(wrapUnder(wrapping, wrapped.algorithm, wrapped.key)), kcv: wrapped.kcv };
  }

  async importUnder(
    type: KeyType,
    algorithm: KeyAlgorithm,
    cryptogramHex: string,
    kek: KeyHandle,
    expectedKcv: string,
  ): Promise<KeyHandle> {
    checkTypeAlgorithm(type, algorithm);
    if (typeof expectedKcv !== 'string' || !/^[0-9A-Fa-f]{6}$/.test(expectedKcv)) {
      throw new CryptoError('input_invalid', 'a key check value is 6 hex digits');
    }
    const wrapping = this.use(kek, KEK_TYPES, ['TDES2', 'TDES3', 'AES128', 'AES256'], 'unwrapping keys');
    const cryptogram = fromHex(cryptogramHex, 'the cryptogram');
    const clear = unwrapUnder(wrapping, algorithm, cryptogram);
    try {
      const key = normaliseKey(algorithm, clear);
      const kcv = keyCheckValue(algorithm, key);
      if (kcv !== expectedKcv.toUpperCase()) {
        key.fill(0);
        throw new CryptoError('kcv_mismatch', 'the imported key does not match the expected check value');
      }
      const handle = this.seal(type, algorithm, key, kcv);
      key.fill(0);
      return handle;
    } finally {
      clear.fill(0);
    }
  }

  async rewrap(key: KeyHandle): Promise<KeyHandle> {
    const entry = this.open(key);
    if (entry.lmkVersion === this.lmkVersion)
      return { blob: key.blob, type: entry.type, algorithm: entry.algorithm, kcv: entry.kcv, lmkVersion: entry.lmkVersion };
    return this.seal(entry.type, entry.algorithm, entry.key, entry.kcv);
  }

  async issueTerminalSessionKeys(terminalPublicKey: Uint8Array, context: string): Promise<TerminalSessionKeys> {
    const clear = { pin: randomBytes(16), mac: randomBytes(32), data: randomBytes(32) };
    try {
      const plaintext = Buffer.from(
        JSON.stringify({ pin: clear.pin.toString('hex'), mac: clear.mac.toString('hex'), data: clear.data.toString('hex') }),
        'utf8',
      );
      // Wrap first: a bad terminal key fails before any handle exists.
      const wrapped = wrapForTerminal(terminalPublicKey, context, plaintext);
      plaintext.fill(0);
      return {
        pin: this.seal('TPK', 'AES128', clear.pin),
        mac: this.seal('TAK', 'HMAC256', clear.mac),
        data: this.seal('TDK', 'AES256', clear.data),
        wrapped,
      };
    } finally {
      clear.pin.fill(0);
      clear.mac.fill(0);
      clear.data.fill(0);
    }
  }

  private computeMac(key: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, options: MacOptions | undefined): Buffer {
    if (!Object.hasOwn(MAC_ALGORITHM_KEYS, algorithm)) throw new CryptoError('input_invalid', 'unknown MAC algorithm');
    const entry = this.use(key, MAC_KEY_TYPES, MAC_ALGORITHM_KEYS[algorithm], `${algorithm} MACs`);
    needBytes(data, 'MAC data');
    switch (algorithm) {
      case 'HMAC-SHA256':
        return hmacSha256(entry.hmacKey ?? entry.key, data);
      case 'ISO9797-1-ALG3': {
        const padding: MacPadding = options?.padding ?? 1;
        if (padding !== 1 && padding !== 2) throw new CryptoError('input_invalid', 'ISO 9797-1 padding method is 1 or 2');
        return retailMac(entry.key, data, padding);
      }
      case 'AES-CMAC':
        return aesCmac(entry.key, data);
    }
  }

  async generateMac(key: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, options?: MacOptions): Promise<Buffer> {
    return this.computeMac(key, algorithm, data, options);
  }

  async verifyMac(key: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, mac: Uint8Array, options?: MacOptions): Promise<boolean> {
    const computed = this.computeMac(key, algorithm, data, options);
    return macMatches(computed, needBytes(mac, 'the MAC'), MIN_MAC_BYTES[algorithm]);
  }

  /**
   * The clear PIN key a PIN block is under: a stored TPK/ZPK, or the DUKPT transaction key from a
   * BDK and a KSN. The caller zeroes it after use.
   */
  private pinKey(ref: PinKeyRef, format: PinBlockFormat): Buffer {
    const algorithms = pinFormatAlgorithms(format);
    if (ref !== null && typeof ref === 'object' && 'dukpt' in ref) {
      const { bdk, ksn, scheme } = ref.dukpt;
      if (scheme !== 'tdes' && scheme !== 'aes') throw new CryptoError('input_invalid', 'the DUKPT scheme is tdes or aes');
      // TDES DUKPT keys encipher format 0 blocks; AES DUKPT PIN keys (AES-128) format 4 blocks.
      if ((scheme === 'tdes') !== (format === 0)) {
        throw new CryptoError('key_type_mismatch', `${scheme} DUKPT keys do not encipher format ${format} PIN blocks`);
      }
      const entry = this.use(bdk, ['BDK'], scheme === 'tdes' ? ['TDES2'] : ['AES128', 'AES256'], `${scheme} DUKPT`);
      if (typeof ksn !== 'string') throw new CryptoError('input_invalid', 'a KSN is hex digits');
      try {
        return scheme === 'tdes' ? dukptTdesPinKey(entry.key, ksn) : dukptAesPinKey(entry.key, ksn);
      } catch (error) {
        if (error instanceof DukptError) {
          throw new CryptoError(
            error.code === 'dukpt_bad_key' ? 'key_invalid' : 'input_invalid',
            `DUKPT derivation refused (${error.code})`,
          );
        }
        throw error;
      }
    }
    return Buffer.from(this.use(ref, PIN_KEY_TYPES, algorithms, `format ${format} PIN blocks`).key);
  }

  /** The clear PIN inside an encrypted PIN block (exists only inside this object, briefly). */
  private extractPin(pinBlock: Uint8Array, ref: PinKeyRef, format: PinBlockFormat, pan: string): string {
    needBytes(pinBlock, 'the PIN block');
    const key = this.pinKey(ref, format);
    try {
      return format === 0 ? decipherFormat0(key, pinBlock, pan) : decipherFormat4(key, pinBlock, pan);
    } finally {
      key.fill(0);
    }
  }

  async translatePin(input: {
    pinBlock: Uint8Array;
    from: PinKeyRef;
    fromFormat: PinBlockFormat;
    to: KeyHandle;
    toFormat: PinBlockFormat;
    pan: string;
  }): Promise<Buffer> {
    const algorithms = pinFormatAlgorithms(input.toFormat);
    // The destination is checked before decrypting, so a refused translation never held a clear PIN.
    const to = this.use(input.to, PIN_KEY_TYPES, algorithms, `format ${input.toFormat} PIN blocks`);
    const pin = this.extractPin(input.pinBlock, input.from, input.fromFormat, input.pan);
    return input.toFormat === 0 ? encipherFormat0(to.key, pin, input.pan) : encipherFormat4(to.key, pin, input.pan);
  }

  async verifyPin(input: {
    pinBlock: Uint8Array;
    key: PinKeyRef;
    format: PinBlockFormat;
    pan: string;
    verification: PinVerification;
  }): Promise<boolean> {
    const { verification } = input;
    if (verification === null || typeof verification !== 'object')
      throw new CryptoError('input_invalid', 'a PIN verification method is required');
    if (verification.method === 'ibm3624') {
      const pvk = this.use(verification.pvk, ['PVK'], ['TDES2', 'TDES3'], 'IBM 3624 PIN verification');
      const pin = this.extractPin(input.pinBlock, input.key, input.format, input.pan);
      return ibm3624Verify(pvk.key, pin, input.pan, verification.offset, {
        decimalisationTable: verification.decimalisationTable,
        validationData: verification.validationData,
        checkLength: verification.checkLength,
      });
    }
    if (verification.method === 'visa-pvv') {
      const pvk = this.use(verification.pvk, ['PVK'], ['TDES2'], 'Visa PVV verification');
      const pin = this.extractPin(input.pinBlock, input.key, input.format, input.pan);
      return visaPvvVerify(pvk.key, input.pan, verification.pvki, pin, verification.pvv);
    }
    throw new CryptoError('input_invalid', 'the PIN verification method is ibm3624 or visa-pvv');
  }

  async generateIbm3624Offset(input: {
    pinBlock: Uint8Array;
    key: PinKeyRef;
    format: PinBlockFormat;
    pan: string;
    pvk: KeyHandle;
    decimalisationTable?: string;
    validationData?: string;
  }): Promise<string> {
    const pvk = this.use(input.pvk, ['PVK'], ['TDES2', 'TDES3'], 'IBM 3624 offsets');
    const pin = this.extractPin(input.pinBlock, input.key, input.format, input.pan);
    return ibm3624Offset(pvk.key, pin, input.pan, { decimalisationTable: input.decimalisationTable, validationData: input.validationData });
  }

  async generatePvv(input: {
    pinBlock: Uint8Array;
    key: PinKeyRef;
    format: PinBlockFormat;
    pan: string;
    pvk: KeyHandle;
    pvki: number;
  }): Promise<string> {
    const pvk = this.use(input.pvk, ['PVK'], ['TDES2'], 'Visa PVVs');
    const pin = this.extractPin(input.pinBlock, input.key, input.format, input.pan);
    return visaPvv(pvk.key, input.pan, input.pvki, pin);
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    return sign(null, needBytes(data, 'the data to sign'), this.signing.privateKey);
  }

  async signingPublicKey(): Promise<Buffer> {
    return Buffer.from(this.signing.publicKey);
  }
}

/**
 * A key under a KEK for a peer: TDES-ECB under a TDES KEK (the classic ZMK/TMK cryptogram), AES
 * Key Wrap (RFC 3394) under an AES KEK. A key is never wrapped under a weaker KEK: no AES or HMAC
 * key under TDES, no 256-bit key under AES-128.
 */
function wrapUnder(kek: OpenKey, algorithm: KeyAlgorithm, key: Buffer): Buffer {
  checkWrappable(kek.algorithm, algorithm);
  if (isTdes(kek.algorithm)) return tdesEncryptEcb(kek.key, key);
  const cipher = createCipheriv(kek.algorithm === 'AES128' ? 'id-aes128-wrap' : 'id-aes256-wrap', kek.key, AES_KEY_WRAP_IV);
  return Buffer.concat([cipher.update(key), cipher.final()]);
}

function unwrapUnder(kek: OpenKey, algorithm: KeyAlgorithm, cryptogram: Buffer): Buffer {
  checkWrappable(kek.algorithm, algorithm);
  const expected = KEY_LENGTHS[algorithm] + (isTdes(kek.algorithm) ? 0 : 8);
  if (cryptogram.length !== expected)
    throw new CryptoError('input_invalid', `the cryptogram must be ${expected} bytes for a ${algorithm} key`);
  if (isTdes(kek.algorithm)) return tdesDecryptEcb(kek.key, cryptogram);
  try {
    const decipher = createDecipheriv(kek.algorithm === 'AES128' ? 'id-aes128-wrap' : 'id-aes256-wrap', kek.key, AES_KEY_WRAP_IV);
    return Buffer.concat([decipher.update(cryptogram), decipher.final()]);
  } catch {
    throw new CryptoError('key_invalid', 'the cryptogram does not unwrap under this key-encrypting key');
  }
}

function checkWrappable(kek: KeyAlgorithm, key: KeyAlgorithm): void {
  const weaker = (isTdes(kek) && !isTdes(key)) || (kek === 'AES128' && (key === 'AES256' || key === 'HMAC256'));
  if (weaker) throw new CryptoError('key_type_mismatch', `a ${key} key cannot be wrapped under a ${kek} key-encrypting key`);
}
