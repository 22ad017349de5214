/**
 * A DUKPT PIN pad — the originating side, as a terminal does it (for `PosClient`, tests and
 * benchmarks; never used by the host). It is loaded once with its initial key (TDES: the IPEK,
 * AES: the initial key) and its initial KSN by a key-injection facility, and never sees the BDK.
 * For every PIN it advances its transaction counter, derives that transaction's PIN key from the
 * initial key along the counter's set bits, and enciphers the PIN block: ISO 9564 format 0 under
 * TDES DUKPT (ANSI X9.24-1:2009 Annex A), format 4 under AES DUKPT (X9.24-3:2017).
 *
 * The derivations are written out here from the standards, independently of the host side in
 * crypto/dukpt-*.ts (which starts from the BDK): dukpt.test.ts checks that both give the same
 * keys, so each side checks the other. A real pad keeps future keys instead of re-walking from
 * the initial key; the keys come out the same. Clear keys are fine here: this is the terminal.
 */
import { encipherFormat0, encipherFormat4 } from '../../crypto/pin-block.js';
import { aesEncryptEcb, desEncryptEcb, xor } from '../../crypto/primitives.js';

export type DukptScheme = 'tdes' | 'aes';

/** TDES: 10-byte KSN, 21-bit counter, at most 10 one-bits. AES: 12-byte KSN, 32-bit counter, at most 16. */
export const KSN_BYTES: Readonly<Record<DukptScheme, number>> = { tdes: 10, aes: 12 };
const COUNTER_BITS: Readonly<Record<DukptScheme, number>> = { tdes: 21, aes: 32 };
export const MAX_ONE_BITS: Readonly<Record<DukptScheme, number>> = { tdes: 10, aes: 16 };

const TDES_KEY_MASK = Buffer.from('C0C0C0C000000000C0C0C0C000000000', 'hex');
const TDES_PIN_VARIANT = Buffer.from('00000000000000FF00000000000000FF', 'hex');

export function oneBits(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v !== 0; v &= v - 1) count++;
  return count;
}

/** The transaction counter of a KSN of the scheme (the low 21 bits of a TDES KSN, the last 4 bytes of an AES one). */
export function ksnCounter(scheme: DukptScheme, ksn: Buffer): number {
  return scheme === 'tdes' ? ksn.readUIntBE(7, 3) & 0x1fffff : ksn.readUInt32BE(8);
}

function withCounter(scheme: DukptScheme, ksn: Buffer, counter: number): Buffer {
  const out = Buffer.from(ksn);
  if (scheme === 'tdes') out.writeUIntBE(((out.readUIntBE(7, 3) & ~0x1fffff) | counter) & 0xffffff, 7, 3);
  else out.writeUInt32BE(counter >>> 0, 8);
  return out;
}

/** X9.24-1 A.2 non-reversible key generation: each half is DES under one half of the (masked) key of the register whitened with the other half. */
function nonReversible(key: Buffer, register: Buffer): Buffer {
  const half = (k: Buffer): Buffer => xor(desEncryptEcb(k.subarray(0, 8), xor(register, k.subarray(8))), k.subarray(8));
  return Buffer.concat([half(xor(key, TDES_KEY_MASK)), half(key)]);
}

/** TDES DUKPT PIN key for a KSN, from the IPEK: one non-reversible step per set counter bit, most significant first; then the PIN variant. */
function tdesPinKey(ipek: Buffer, ksn: Buffer): Buffer {
  const counter = ksnCounter('tdes', ksn);
  const register = withCounter('tdes', ksn, 0).subarray(2);
  let key: Buffer = Buffer.from(ipek);
  let partial = 0;
  for (let bit = 1 << 20; bit !== 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    partial |= bit;
    register.writeUIntBE(((register.readUIntBE(5, 3) & ~0x1fffff) | partial) & 0xffffff, 5, 3);
    const next = nonReversible(key, register);
    key.fill(0);
    key = next;
  }
  const pinKey = xor(key, TDES_PIN_VARIANT);
  key.fill(0);
  return pinKey;
}

/**
 * X9.24-3 §6.3: AES-ECB of a derivation data block under the parent key — version 01, block
 * counter, key usage, algorithm and length of the derived key, 8 bytes of KSN data — one block
 * per 128 bits of the derived key.
 */
function aesDerive(parent: Buffer, usage: number, bits: 128 | 256, ksnData: Buffer): Buffer {
  const data = Buffer.alloc(16);
  data[0] = 0x01;
  data.writeUInt16BE(usage, 2);
  data.writeUInt16BE(bits === 128 ? 0x0002 : 0x0004, 4);
  data.writeUInt16BE(bits, 6);
  ksnData.copy(data, 8);
  const blocks: Buffer[] = [];
  for (let i = 1; i <= bits / 128; i++) {
    data[1] = i;
    blocks.push(aesEncryptEcb(parent, data));
  }
  return Buffer.concat(blocks);
}

/** AES DUKPT PIN key (AES-128) for a KSN, from the initial key (AES-128 or AES-256, as its BDK). */
function aesPinKey(initialKey: Buffer, ksn: Buffer): Buffer {
  const bits = initialKey.length === 32 ? 256 : 128;
  const counter = ksnCounter('aes', ksn);
  const ksnData = (c: number): Buffer => {
    const d = Buffer.alloc(8);
    ksn.copy(d, 0, 4, 8); // derivation ID: the right half of the initial key ID
    d.writeUInt32BE(c >>> 0, 4);
    return d;
  };
  let key: Buffer = Buffer.from(initialKey);
  let partial = 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    partial = (partial | bit) >>> 0;
    const next = aesDerive(key, 0x8000, bits, ksnData(partial)); // usage: key derivation
    key.fill(0);
    key = next;
  }
  const pinKey = aesDerive(key, 0x1000, 128, ksnData(counter)); // usage: PIN encryption, AES-128
  key.fill(0);
  return pinKey;
}

/** The transaction PIN key a pad derives for a KSN (exported for the cross-check in dukpt.test.ts). */
export function padPinKey(scheme: DukptScheme, initialKey: Buffer, ksn: Buffer): Buffer {
  return scheme === 'tdes' ? tdesPinKey(initialKey, ksn) : aesPinKey(initialKey, ksn);
}

export class DukptPad {
  private readonly initialKey: Buffer;
  private readonly baseKsn: Buffer;
  private counter: number;

  /**
   * `initialKey`: the IPEK (16 bytes) or AES initial key (16/32); `initialKsn`: hex, 20 (TDES) or
   * 24 (AES) digits — its counter is where the pad starts (0 for a fresh pad).
   */
  constructor(
    readonly scheme: DukptScheme,
    initialKey: Buffer,
    initialKsn: string,
  ) {
    const ksn = Buffer.from(initialKsn, 'hex');
    if (ksn.length !== KSN_BYTES[scheme]) throw new RangeError(`a ${scheme} KSN is ${KSN_BYTES[scheme]} bytes`);
    this.initialKey = Buffer.from(initialKey);
    this.counter = ksnCounter(scheme, ksn);
    this.baseKsn = withCounter(scheme, ksn, 0);
  }

  /** The KSN of the last PIN (hex, upper case). */
  get ksn(): string {
    return withCounter(this.scheme, this.baseKsn, this.counter).toString('hex').toUpperCase();
  }

  /**
   * The next counter: +1, and while it has too many one-bits, + its lowest set bit (X9.24-1 A.2,
   * X9.24-3 §6.1). Past the counter's width the pad is exhausted and must be re-injected.
   */
  private advance(): void {
    let next = this.counter + 1;
    while (oneBits(next) > MAX_ONE_BITS[this.scheme]) next += next & -next;
    if (next >= 2 ** COUNTER_BITS[this.scheme]) throw new RangeError('DUKPT PIN pad exhausted: its transaction counter has run out');
    this.counter = next;
  }

  /** Enciphers a PIN under the next transaction key: the KSN (sent in field 62) and the PIN block. */
  encipher(pin: string, pan: string): { ksn: Buffer; block: Buffer } {
    this.advance();
    const ksn = withCounter(this.scheme, this.baseKsn, this.counter);
    const key = padPinKey(this.scheme, this.initialKey, ksn);
    try {
      return { ksn, block: this.scheme === 'tdes' ? encipherFormat0(key, pin, pan) : encipherFormat4(key, pin, pan) };
    } finally {
      key.fill(0);
    }
  }

  /** Zeroes the initial key (the pad is unusable afterwards). */
  destroy(): void {
    this.initialKey.fill(0);
  }
}
