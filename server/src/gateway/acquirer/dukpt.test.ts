/**
 * The DUKPT PIN pad (terminal side, from the initial key) against the published test data and
 * against the host side (crypto/dukpt-*.ts, from the BDK); and how the host reads a DUKPT PIN
 * from a request (pinEntryOf). No database.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dukptAesInitialKey, dukptAesPinKey } from '../../crypto/dukpt-aes.js';
import { dukptTdesIpek, dukptTdesPinKey } from '../../crypto/dukpt-tdes.js';
import type { KeyHandle } from '../../crypto/index.js';
import { decipherFormat0, decipherFormat4 } from '../../crypto/pin-block.js';
import { fixParity } from '../../crypto/primitives.js';
import { pinEntryOf, type PinSetting } from './dukpt.js';
import { DukptPad, padPinKey } from './dukpt-pad.js';

const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

describe('DUKPT PIN pad (terminal side)', () => {
  it('TDES: from the IPEK, the first PIN of X9.24-1:2009 A.4.2 gives the published KSN and encrypted PIN block', () => {
    const pad = new DukptPad('tdes', Buffer.from('6AC292FAA1315B4D858AB3A3D7D5933A', 'hex'), 'FFFF9876543210E00000');
    const first = pad.encipher('1234', '4012345678909');
    expect(hex(first.ksn)).toBe('FFFF9876543210E00001');
    expect(hex(first.block)).toBe('1B9C1845EB993A7A');
    const second = pad.encipher('1234', '4012345678909');
    expect(hex(second.ksn)).toBe('FFFF9876543210E00002');
    expect(hex(second.block)).toBe('10A01C8D02C69107');
    expect(pad.ksn).toBe('FFFF9876543210E00002');
  });

  it('AES-128: from the initial key, the PIN key of KSN …00000001 is the X9.24-3 supplement’s', () => {
    const ksn = Buffer.from('123456789012345600000001', 'hex');
    expect(hex(padPinKey('aes', Buffer.from('1273671EA26AC29AFA4D1084127652A1', 'hex'), ksn))).toBe('AF8CB133A78F8DC2D1359F18527593FB');
  });

  it('derives the same PIN keys from the initial key as the host does from the BDK, for many counters (TDES, AES-128, AES-256)', () => {
    const tdesBdk = fixParity(randomBytes(16));
    const tdesKsn = Buffer.concat([randomBytes(7), Buffer.alloc(3)]);
    tdesKsn[7] = tdesKsn[7]! & 0xe0;
    const ipek = dukptTdesIpek(tdesBdk, hex(tdesKsn));
    const tdesCounters = [1, 2, 3, 0x7fe, 0x800, 0x1ff800, 0x155554, 0x100000];
    for (const c of tdesCounters) {
      const ksn = Buffer.from(tdesKsn);
      ksn.writeUIntBE(ksn.readUIntBE(7, 3) | c, 7, 3);
      expect(hex(padPinKey('tdes', ipek, ksn)), `tdes ${c}`).toBe(hex(dukptTdesPinKey(tdesBdk, hex(ksn))));
    }
    for (const bytes of [16, 32]) {
      const bdk = randomBytes(bytes);
      const id = randomBytes(8);
      const initial = dukptAesInitialKey(bdk, hex(id));
      for (const c of [1, 2, 0xffff, 0x10000, 0x80000000, 0xffff0000, 0x5555aaaa & 0xffff00ff]) {
        const ksn = Buffer.concat([id, Buffer.alloc(4)]);
        ksn.writeUInt32BE(c >>> 0, 8);
        expect(hex(padPinKey('aes', initial, ksn)), `aes${bytes * 8} ${c}`).toBe(hex(dukptAesPinKey(bdk, hex(ksn))));
      }
    }
  });

  it('advances its counter once per PIN and skips counters with too many one-bits (X9.24-1 A.2)', () => {
    const bdk = fixParity(randomBytes(16));
    // Counter 0x7FE has 10 one-bits; 0x7FF would have 11, so the next used counter is 0x800.
    const start = 'FFFF9876543210E007FE';
    const pad = new DukptPad('tdes', dukptTdesIpek(bdk, start), start);
    const { ksn, block } = pad.encipher('482915', '6222021234567890128');
    expect(hex(ksn)).toBe('FFFF9876543210E00800');
    expect(decipherFormat0(dukptTdesPinKey(bdk, hex(ksn)), block, '6222021234567890128')).toBe('482915');
    expect(hex(pad.encipher('482915', '6222021234567890128').ksn)).toBe('FFFF9876543210E00801');

    const aesBdk = randomBytes(16);
    const aes = new DukptPad('aes', dukptAesInitialKey(aesBdk, '1234567890123456'), '123456789012345600000000');
    const a = aes.encipher('1234', '4111111111111111');
    expect(hex(a.ksn)).toBe('123456789012345600000001');
    expect(a.block).toHaveLength(16);
    expect(decipherFormat4(dukptAesPinKey(aesBdk, hex(a.ksn)), a.block, '4111111111111111')).toBe('1234');
  });

  it('refuses an initial KSN of the wrong length', () => {
    expect(() => new DukptPad('aes', randomBytes(16), 'FFFF9876543210E00000')).toThrow(RangeError);
  });
});

describe('pinEntryOf: the PIN of a request under the terminal’s PIN mode', () => {
  const tpk = { blob: 'tpk' } as KeyHandle;
  const bdk = { blob: 'bdk' } as KeyHandle;
  const tdes: PinSetting = { mode: 'dukpt-tdes', bdkName: 'b1', bdk };
  const aes: PinSetting = { mode: 'dukpt-aes', bdkName: 'b2', bdk };
  const block8 = Buffer.from('1B9C1845EB993A7A', 'hex');
  const tdesKsn = Buffer.from('FFFF9876543210E00001', 'hex');
  const aesKsn = Buffer.from('123456789012345600000001', 'hex');
  const block16 = randomBytes(16);

  it('tpk: 52 under the TPK; 62 ignored; a PIN announced in 22 and missing is 30', () => {
    expect(pinEntryOf({ mode: 'tpk' }, tpk, { f22: '021', f52: block8, f62: tdesKsn })).toEqual({
      block: '1B9C1845EB993A7A',
      key: tpk,
      format: 0,
    });
    expect(pinEntryOf({ mode: 'tpk' }, tpk, { f22: '021', f52: undefined, f62: undefined })).toBe('30');
    expect(pinEntryOf({ mode: 'tpk' }, tpk, { f22: '022', f52: undefined, f62: undefined })).toBeNull();
  });

  it('dukpt-tdes: 52 format 0 with the KSN of 62; without a usable KSN it is 30', () => {
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: block8, f62: tdesKsn })).toEqual({
      block: '1B9C1845EB993A7A',
      key: { dukpt: { bdk, ksn: 'FFFF9876543210E00001', scheme: 'tdes' } },
      format: 0,
      ksn: 'FFFF9876543210E00001',
    });
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: block8, f62: undefined })).toBe('30');
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: block8, f62: aesKsn })).toBe('30');
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: block8, f62: Buffer.from('FFFF9876543210E00000', 'hex') })).toBe('30');
    // 0x0007FF: 11 one-bits, a counter no pad uses.
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: block8, f62: Buffer.from('FFFF9876543210E007FF', 'hex') })).toBe('30');
    expect(pinEntryOf(tdes, tpk, { f22: '021', f52: undefined, f62: tdesKsn })).toBe('30');
    expect(pinEntryOf(tdes, tpk, { f22: '022', f52: undefined, f62: undefined })).toBeNull();
  });

  it('dukpt-aes: 62 = KSN ‖ format 4 block; a 52, a short 62 or a bad counter is 30', () => {
    const f62 = Buffer.concat([aesKsn, block16]);
    expect(pinEntryOf(aes, tpk, { f22: '021', f52: undefined, f62 })).toEqual({
      block: hex(block16),
      key: { dukpt: { bdk, ksn: '123456789012345600000001', scheme: 'aes' } },
      format: 4,
      ksn: '123456789012345600000001',
    });
    expect(pinEntryOf(aes, tpk, { f22: '021', f52: block8, f62 })).toBe('30');
    expect(pinEntryOf(aes, tpk, { f22: '021', f52: undefined, f62: aesKsn })).toBe('30');
    expect(pinEntryOf(aes, tpk, { f22: '021', f52: undefined, f62: undefined })).toBe('30');
    expect(
      pinEntryOf(aes, tpk, { f22: '021', f52: undefined, f62: Buffer.concat([Buffer.from('1234567890123456FFFFFFFF', 'hex'), block16]) }),
    ).toBe('30');
    expect(pinEntryOf(aes, tpk, { f22: '022', f52: undefined, f62: undefined })).toBeNull();
  });
});
