/**
 * TDES DUKPT, ANSI X9.24-1:2009 Annex A: the host (receiving SCD) side.
 *
 * The terminal holds an initial PIN encryption key (IPEK) derived from the BDK and the left 59 bits
 * of its 10-byte KSN; each transaction's key comes from the IPEK through the non-reversible key
 * generation process, once per set bit of the 21-bit counter. The host re-derives that "current
 * key" from the BDK and the KSN, then applies the variant for the purpose at hand (PIN, MAC or
 * data, request or response). Self-contained (node:crypto only); no key material in any message.
 */
import { createCipheriv } from 'node:crypto';
import { DukptError } from './dukpt-aes.js';

export type DukptTdesDirection = 'request' | 'response';

const KEY_BYTES = 16;
const HALF_BYTES = 8;
const KSN_HEX = /^[0-9A-Fa-f]{20}$/;
/** The encryption counter is the low 21 bits of the KSN. */
const COUNTER_MASK = 0x1fffff;
const COUNTER_TOP_BIT = 0x100000;
/** X9.24-1:2009 A.2: the terminal skips counters with more than ten one-bits; so must the host. */
const MAX_COUNTER_ONE_BITS = 10;

/** Mask for the IPEK right half and the non-reversible process (X9.24-1:2009 A.6). */
const KEY_MASK = Buffer.from('C0C0C0C000000000C0C0C0C000000000', 'hex');
/** Working key variants of the current key (X9.24-1:2009 A.6, table A-1). */
const PIN_VARIANT = Buffer.from('00000000000000FF00000000000000FF', 'hex');
const MAC_VARIANT: Readonly<Record<DukptTdesDirection, Buffer>> = {
  request: Buffer.from('000000000000FF00000000000000FF00', 'hex'),
  response: Buffer.from('00000000FF00000000000000FF000000', 'hex'),
};
const DATA_VARIANT: Readonly<Record<DukptTdesDirection, Buffer>> = {
  request: Buffer.from('0000000000FF00000000000000FF0000', 'hex'),
  response: Buffer.from('000000FF00000000000000FF00000000', 'hex'),
};

function checkBdk(bdk: Buffer): void {
  if (!(bdk instanceof Uint8Array) || bdk.length !== KEY_BYTES) {
    const got = bdk instanceof Uint8Array ? `${bdk.length} bytes` : 'not a byte buffer';
    throw new DukptError(
      'dukpt_bad_key',
      `TDES DUKPT BDK must be a 16-byte double-length key; got ${got}`,
      `TDES DUKPT 基础派生密钥（BDK）须为 16 字节双倍长度密钥，实际为 ${got}`,
    );
  }
}

function parseKsn(ksnHex: string): Buffer {
  if (typeof ksnHex !== 'string' || !KSN_HEX.test(ksnHex)) {
    throw new DukptError(
      'dukpt_bad_ksn',
      'TDES DUKPT KSN must be 20 hex digits (10 bytes; the low 21 bits are the transaction counter)',
      'TDES DUKPT 密钥序列号（KSN）须为 20 位十六进制数字（10 字节，低 21 位为交易计数器）',
    );
  }
  return Buffer.from(ksnHex, 'hex');
}

function counterOf(ksn: Buffer): number {
  return ksn.readUIntBE(7, 3) & COUNTER_MASK;
}

/** The KSN with its counter cleared: what the IPEK and the key walk start from. */
function withoutCounter(ksn: Buffer): Buffer {
  const base = Buffer.from(ksn);
  base.writeUIntBE(base.readUIntBE(7, 3) & ~COUNTER_MASK & 0xffffff, 7, 3);
  return base;
}

function oneBits(value: number): number {
  let count = 0;
  for (let v = value; v !== 0; v &= v - 1) count++;
  return count;
}

function checkCounter(counter: number): void {
  // Counter 0 would make the IPEK itself the transaction key; no terminal sends it (X9.24-1 A.2).
  if (counter === 0 || oneBits(counter) > MAX_COUNTER_ONE_BITS) {
    throw new DukptError(
      'dukpt_counter_invalid',
      `TDES DUKPT transaction counter must be non-zero with at most ${MAX_COUNTER_ONE_BITS} one-bits (exhausted or malformed KSN)`,
      `TDES DUKPT 交易计数器须非零且二进制中 1 的个数不超过 ${MAX_COUNTER_ONE_BITS}（KSN 已耗尽或格式错误）`,
    );
  }
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Two-key TDES-ECB of one block. */
function tdesBlock(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv('des-ede-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/**
 * Single DES of one block. OpenSSL 3 keeps `des-ecb` in the legacy provider, which Node does not
 * load; EDE with K1 = K2 is exactly single DES (E_K ∘ D_K ∘ E_K = E_K).
 */
function desBlock(key: Buffer, block: Buffer): Buffer {
  return tdesBlock(Buffer.concat([key, key]), block);
}

/**
 * The non-reversible key generation process (X9.24-1:2009 A.2): each half of the new key is
 * DES under one half of the (masked) old key of the register whitened with the other half.
 */
function nonReversible(key: Buffer, register: Buffer): Buffer {
  const right = xor(desBlock(key.subarray(0, HALF_BYTES), xor(register, key.subarray(HALF_BYTES))), key.subarray(HALF_BYTES));
  const masked = xor(key, KEY_MASK);
  const left = xor(desBlock(masked.subarray(0, HALF_BYTES), xor(register, masked.subarray(HALF_BYTES))), masked.subarray(HALF_BYTES));
  masked.fill(0);
  return Buffer.concat([left, right]);
}

function ipek(bdk: Buffer, ksn: Buffer): Buffer {
  const leftKsn = withoutCounter(ksn).subarray(0, HALF_BYTES);
  const maskedBdk = xor(bdk, KEY_MASK);
  const key = Buffer.concat([tdesBlock(bdk, leftKsn), tdesBlock(maskedBdk, leftKsn)]);
  maskedBdk.fill(0);
  return key;
}

/**
 * The current (future-key register) key for the KSN: from the IPEK, one non-reversible step per
 * set counter bit, most significant first, with the register holding the rightmost 8 KSN bytes and
 * the counter bits set so far. At most 10 steps because of `checkCounter`.
 */
function currentKey(bdk: Buffer, ksn: Buffer): Buffer {
  const counter = counterOf(ksn);
  checkCounter(counter);
  const register = withoutCounter(ksn).subarray(2);
  let key = ipek(bdk, ksn);
  let partial = 0;
  for (let bit = COUNTER_TOP_BIT; bit !== 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    partial |= bit;
    register.writeUIntBE((register.readUIntBE(5, 3) & ~COUNTER_MASK) | partial, 5, 3);
    const next = nonReversible(key, register);
    key.fill(0);
    key = next;
  }
  return key;
}

function variantOfCurrentKey(bdk: Buffer, ksnHex: string, variant: Buffer): Buffer {
  checkBdk(bdk);
  const key = currentKey(bdk, parseKsn(ksnHex));
  const working = xor(key, variant);
  key.fill(0);
  return working;
}

/** The initial PIN encryption key (IPEK) loaded into the terminal; the KSN's counter is ignored. */
export function dukptTdesIpek(bdk: Buffer, ksnHex: string): Buffer {
  checkBdk(bdk);
  return ipek(bdk, parseKsn(ksnHex));
}

/** The transaction's current key (before any variant), as listed in X9.24-1:2009 A.4. */
export function dukptTdesCurrentKey(bdk: Buffer, ksnHex: string): Buffer {
  checkBdk(bdk);
  return currentKey(bdk, parseKsn(ksnHex));
}

/** The PIN encryption key for the KSN (ISO 9564 format 0 blocks under TDES-ECB). */
export function dukptTdesPinKey(bdk: Buffer, ksnHex: string): Buffer {
  return variantOfCurrentKey(bdk, ksnHex, PIN_VARIANT);
}

/** The MAC key for the KSN, request or response direction (ANSI X9.19 retail MAC). */
export function dukptTdesMacKey(bdk: Buffer, ksnHex: string, direction: DukptTdesDirection): Buffer {
  const variant = MAC_VARIANT[direction];
  if (variant === undefined) throw new DukptError('dukpt_bad_key', 'unknown TDES DUKPT MAC direction', '未知的 TDES DUKPT MAC 方向');
  return variantOfCurrentKey(bdk, ksnHex, variant);
}

/**
 * The data encryption key for the KSN, request or response direction: the data variant, then the
 * one-way step of X9.24-1:2009 A.4 (each half TDES-encrypted under the whole variant key), so the
 * data key is not a simple XOR of the PIN or MAC keys.
 */
export function dukptTdesDataKey(bdk: Buffer, ksnHex: string, direction: DukptTdesDirection): Buffer {
  const variant = DATA_VARIANT[direction];
  if (variant === undefined) throw new DukptError('dukpt_bad_key', 'unknown TDES DUKPT data direction', '未知的 TDES DUKPT 数据方向');
  const variantKey = variantOfCurrentKey(bdk, ksnHex, variant);
  const dataKey = Buffer.concat([
    tdesBlock(variantKey, variantKey.subarray(0, HALF_BYTES)),
    tdesBlock(variantKey, variantKey.subarray(HALF_BYTES)),
  ]);
  variantKey.fill(0);
  return dataKey;
}
