/**
 * AES DUKPT, ANSI X9.24-3:2017: the host (receiving SCD) side of derived unique key per transaction.
 *
 * A terminal is loaded once with an initial key derived from the BDK and its 8-byte initial key ID;
 * each transaction then uses a key derived from that initial key along the set bits of a 32-bit
 * transaction counter, so a captured terminal reveals nothing about past transactions and the host
 * can re-derive any transaction's key from the BDK and the 12-byte KSN alone.
 *
 * Every derivation is one primitive: AES-ECB of a 16-byte derivation data block under the parent
 * key, one block per 128 bits of output (X9.24-3 §6.3). Self-contained on purpose (node:crypto
 * only): the software HSM calls these functions, and nothing here may log or echo key material.
 */
import { createCipheriv } from 'node:crypto';

export type DukptErrorCode = 'dukpt_bad_key' | 'dukpt_bad_ksn' | 'dukpt_counter_invalid';

/**
 * Bad DUKPT input. The message names what is wrong and the expected shape, never a key or a
 * key-derived value; a KSN is public (it travels in clear with every transaction) but is not echoed
 * either, so a message is safe to log as it stands.
 */
export class DukptError extends Error {
  override name = 'DukptError';
  readonly code: DukptErrorCode;
  /** The same message in zh-CN, for callers that show it to people. */
  readonly messageZh: string;

  constructor(code: DukptErrorCode, en: string, zh: string) {
    super(en);
    this.code = code;
    this.messageZh = zh;
  }
}

export type DukptAesKeyUsage =
  | 'pin-encryption'
  | 'mac-generation'
  | 'mac-verification'
  | 'mac-both'
  | 'data-encryption-encrypt'
  | 'data-encryption-decrypt'
  | 'data-encryption-both';

export type DukptAesWorkingKeyType = 'AES128' | 'AES256' | 'TDES2' | 'TDES3';

/** Key usage indicators, X9.24-3:2017 §6.3.2 table 2. */
const KEY_USAGE: Readonly<Record<DukptAesKeyUsage, number>> = {
  'pin-encryption': 0x1000,
  'mac-generation': 0x2000,
  'mac-verification': 0x2001,
  'mac-both': 0x2002,
  'data-encryption-encrypt': 0x3000,
  'data-encryption-decrypt': 0x3001,
  'data-encryption-both': 0x3002,
};
const USAGE_KEY_DERIVATION = 0x8000;
const USAGE_KEY_DERIVATION_INITIAL_KEY = 0x8001;

interface KeySpec {
  /** Algorithm indicator, X9.24-3:2017 §6.3.2 table 2. */
  readonly algorithm: number;
  readonly bits: number;
  /**
   * Security strength in bits (NIST SP 800-57): a working key may be no stronger than the key it
   * is derived from (X9.24-3:2017 §6.1.3), so an AES-128 BDK cannot yield an AES-256 working key.
   */
  readonly strength: number;
}

const KEY_SPEC: Readonly<Record<DukptAesWorkingKeyType, KeySpec>> = {
  TDES2: { algorithm: 0x0000, bits: 128, strength: 80 },
  TDES3: { algorithm: 0x0001, bits: 192, strength: 112 },
  AES128: { algorithm: 0x0002, bits: 128, strength: 128 },
  AES256: { algorithm: 0x0004, bits: 256, strength: 256 },
};

const DERIVATION_DATA_VERSION = 0x01;
const BLOCK_BYTES = 16;
const INITIAL_KEY_ID_BYTES = 8;
/** X9.24-3:2017 §6.1: a counter with more than 16 one-bits is never used, which bounds the walk. */
const MAX_COUNTER_ONE_BITS = 16;

const INITIAL_KEY_ID_HEX = /^[0-9A-Fa-f]{16}$/;
const KSN_HEX = /^[0-9A-Fa-f]{24}$/;

/** A parsed 12-byte AES KSN: 8-byte initial key ID (BDK ID ‖ derivation ID) and 32-bit counter. */
interface AesKsn {
  readonly initialKeyId: Buffer;
  readonly counter: number;
}

/** The BDK's own type; only AES-128 and AES-256 BDKs are accepted here. */
function bdkSpec(bdk: Buffer): KeySpec {
  if (!(bdk instanceof Uint8Array) || (bdk.length !== 16 && bdk.length !== 32)) {
    const got = bdk instanceof Uint8Array ? `${bdk.length} bytes` : 'not a byte buffer';
    throw new DukptError(
      'dukpt_bad_key',
      `AES DUKPT BDK must be 16 (AES-128) or 32 (AES-256) bytes; got ${got}`,
      `AES DUKPT 基础派生密钥（BDK）须为 16 字节（AES-128）或 32 字节（AES-256），实际为 ${got}`,
    );
  }
  return bdk.length === 16 ? KEY_SPEC.AES128 : KEY_SPEC.AES256;
}

function parseKsn(ksnHex: string): AesKsn {
  if (typeof ksnHex !== 'string' || !KSN_HEX.test(ksnHex)) {
    throw new DukptError(
      'dukpt_bad_ksn',
      'AES DUKPT KSN must be 24 hex digits (8-byte initial key ID and 4-byte transaction counter)',
      'AES DUKPT 密钥序列号（KSN）须为 24 位十六进制数字（8 字节初始密钥标识 + 4 字节交易计数器）',
    );
  }
  const ksn = Buffer.from(ksnHex, 'hex');
  return { initialKeyId: ksn.subarray(0, INITIAL_KEY_ID_BYTES), counter: ksn.readUInt32BE(INITIAL_KEY_ID_BYTES) };
}

/**
 * The initial key ID is 16 hex digits; a whole 24-digit KSN is accepted too (its counter is
 * ignored), because callers usually hold the terminal's first KSN rather than the bare ID.
 */
function parseInitialKeyId(hex: string): Buffer {
  if (typeof hex === 'string' && KSN_HEX.test(hex)) return Buffer.from(hex, 'hex').subarray(0, INITIAL_KEY_ID_BYTES);
  if (typeof hex === 'string' && INITIAL_KEY_ID_HEX.test(hex)) return Buffer.from(hex, 'hex');
  throw new DukptError(
    'dukpt_bad_ksn',
    'AES DUKPT initial key ID must be 16 hex digits (or a 24-digit KSN)',
    'AES DUKPT 初始密钥标识须为 16 位十六进制数字（或 24 位 KSN）',
  );
}

function oneBits(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v !== 0; v &= v - 1) count++;
  return count;
}

function checkCounter(counter: number): void {
  // Counter 0 is the initial key itself, which a terminal never uses for a transaction (X9.24-3
  // §6.1); a KSN carrying it is malformed, not a request to hand out the initial key.
  if (counter === 0 || oneBits(counter) > MAX_COUNTER_ONE_BITS) {
    throw new DukptError(
      'dukpt_counter_invalid',
      `AES DUKPT transaction counter must be non-zero with at most ${MAX_COUNTER_ONE_BITS} one-bits`,
      `AES DUKPT 交易计数器须非零且二进制中 1 的个数不超过 ${MAX_COUNTER_ONE_BITS}`,
    );
  }
}

/**
 * The 16-byte derivation data block (X9.24-3:2017 §6.3.2 table 2): version, block counter (set per
 * block by `deriveKey`), key usage, algorithm and length of the key being derived, then 8 bytes of
 * KSN data — the whole initial key ID for the initial key, else the derivation ID (right half of
 * the initial key ID) and the counter.
 */
function derivationData(usage: number, spec: KeySpec, ksnData: Buffer): Buffer {
  const data = Buffer.alloc(BLOCK_BYTES);
  data.writeUInt8(DERIVATION_DATA_VERSION, 0);
  data.writeUInt16BE(usage, 2);
  data.writeUInt16BE(spec.algorithm, 4);
  data.writeUInt16BE(spec.bits, 6);
  ksnData.copy(data, 8);
  return data;
}

function counterData(initialKeyId: Buffer, counter: number): Buffer {
  const data = Buffer.alloc(8);
  initialKeyId.copy(data, 0, 4, 8);
  data.writeUInt32BE(counter >>> 0, 4);
  return data;
}

function aesEcbBlock(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** X9.24-3:2017 §6.3.1: AES-ECB of the derivation data, block counter 1, 2, …; truncated. */
function deriveKey(parent: Buffer, data: Buffer): Buffer {
  const bytes = data.readUInt16BE(6) / 8;
  const blocks: Buffer[] = [];
  const count = Math.ceil(bytes / BLOCK_BYTES);
  for (let i = 1; i <= count; i++) {
    data.writeUInt8(i, 1);
    blocks.push(aesEcbBlock(parent, data));
  }
  const material = Buffer.concat(blocks);
  const key = Buffer.from(material.subarray(0, bytes));
  material.fill(0);
  return key;
}

function initialKey(bdk: Buffer, spec: KeySpec, initialKeyId: Buffer): Buffer {
  return deriveKey(bdk, derivationData(USAGE_KEY_DERIVATION_INITIAL_KEY, spec, initialKeyId));
}

/**
 * The intermediate derivation key for a counter (X9.24-3:2017 §6.1, §6.4): from the initial key,
 * one derivation per set counter bit, most significant first, each over the counter bits set so
 * far. At most 16 steps because of `checkCounter`. Intermediate keys are zeroed once used: the
 * cipher contexts keep their own copies, but nothing of ours lingers.
 */
function derivationKeyFor(bdk: Buffer, spec: KeySpec, ksn: AesKsn): Buffer {
  let key = initialKey(bdk, spec, ksn.initialKeyId);
  let partial = 0;
  for (let mask = 0x80000000; mask !== 0; mask >>>= 1) {
    if ((ksn.counter & mask) === 0) continue;
    partial = (partial | mask) >>> 0;
    const next = deriveKey(key, derivationData(USAGE_KEY_DERIVATION, spec, counterData(ksn.initialKeyId, partial)));
    key.fill(0);
    key = next;
  }
  return key;
}

/** The initial key a terminal is loaded with, from the BDK and its 8-byte initial key ID. */
export function dukptAesInitialKey(bdk: Buffer, initialKeyIdHex: string): Buffer {
  const spec = bdkSpec(bdk);
  return initialKey(bdk, spec, parseInitialKeyId(initialKeyIdHex));
}

/**
 * The intermediate derivation key for a KSN (the supplement's "transaction/derivation key"):
 * every working key of that transaction is derived from it. Same type as the BDK.
 */
export function dukptAesDerivationKey(bdk: Buffer, ksnHex: string): Buffer {
  const spec = bdkSpec(bdk);
  const ksn = parseKsn(ksnHex);
  checkCounter(ksn.counter);
  return derivationKeyFor(bdk, spec, ksn);
}

/** A transaction's working key of the given usage and type, from the BDK and the 12-byte KSN. */
export function dukptAesWorkingKey(bdk: Buffer, ksnHex: string, usage: DukptAesKeyUsage, keyType: DukptAesWorkingKeyType): Buffer {
  const spec = bdkSpec(bdk);
  const usageIndicator = KEY_USAGE[usage];
  const workingSpec = KEY_SPEC[keyType];
  if (usageIndicator === undefined || workingSpec === undefined) {
    throw new DukptError('dukpt_bad_key', 'unknown AES DUKPT key usage or key type', '未知的 AES DUKPT 密钥用途或密钥类型');
  }
  if (workingSpec.strength > spec.strength) {
    throw new DukptError(
      'dukpt_bad_key',
      `an ${keyType} working key cannot be derived from a ${spec.bits}-bit AES BDK (it would be stronger than its parent)`,
      `无法从 ${spec.bits} 位 AES BDK 派生 ${keyType} 工作密钥（工作密钥强度不得高于其父密钥）`,
    );
  }
  const ksn = parseKsn(ksnHex);
  checkCounter(ksn.counter);
  const derivationKey = derivationKeyFor(bdk, spec, ksn);
  try {
    return deriveKey(derivationKey, derivationData(usageIndicator, workingSpec, counterData(ksn.initialKeyId, ksn.counter)));
  } finally {
    derivationKey.fill(0);
  }
}

/** The AES-128 PIN encryption key (ISO 9564 format 4 blocks); a 16- or 32-byte BDK selects AES-128/AES-256. */
export function dukptAesPinKey(bdk: Buffer, ksnHex: string): Buffer {
  return dukptAesWorkingKey(bdk, ksnHex, 'pin-encryption', 'AES128');
}
