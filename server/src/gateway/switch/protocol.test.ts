import { describe, expect, it } from 'vitest';
import { createCryptoService } from '../../crypto/index.js';
import { retailMac } from '../../crypto/mac.js';
import { Secrets } from '../../platform/secrets.js';
import { pack, unpack, type Message } from '../iso8583/index.js';
import * as P from './protocol.js';

const AT = Date.UTC(2024, 11, 31, 16, 30, 5); // 2024-12-31 16:30:05 UTC = 2025-01-01 00:30:05 Beijing
const ACQ = '04581000';
const KEY = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const mac = (data: Buffer): Buffer => retailMac(KEY, data, 1);
const card = {
  acquirerId: ACQ,
  rrn: 'A1B2C3D4E5F6',
  pan: '6219990000000000018',
  expiry: '3012',
  mcc: '5411',
  terminalId: 'T0000001',
  merchantId: '104581000000001',
};
const original = { stan: '000123', transmittedAt: '1231163005' };
const keys = { zpk: { cryptogram: 'AB'.repeat(16), kcv: '0A1B2C' }, zak: { cryptogram: 'cd'.repeat(16), kcv: 'ffeedd' } };

/** Every builder once, with the kind it must be read back as. */
const samples = (): [P.MessageKind, Message][] => [
  ['signOn', P.signOn({ stan: '000001', at: AT, acquirerId: ACQ })],
  ['signOff', P.signOff({ stan: '000002', at: AT, acquirerId: ACQ })],
  ['echo', P.echoRequest({ stan: '000003', at: AT })],
  ['keyChange', P.keyChange({ stan: '000004', at: AT, acquirerId: ACQ, ...keys })],
  ['cutover', P.cutover({ stan: '000005', at: AT, settlementDate: '2025-01-02' })],
  ['purchase', P.purchase({ stan: '000006', at: AT, ...card, amount: 12_345, pinBlock: Buffer.from('0123456789ABCDEF', 'hex') })],
  ['purchase', P.purchase({ stan: '000007', at: AT, ...card, amount: 1 })],
  ['balance', P.balanceInquiry({ stan: '000008', at: AT, ...card })],
  ['reversal', P.reversal({ stan: '000009', at: AT, ...card, amount: 12_345, reason: '98', original })],
  ['refund', P.refundAdvice({ stan: '000010', at: AT, ...card, rrn: 'REFUND000001', amount: 100, original })],
  [
    'coreInquiry',
    P.coreInquiry({ stan: '000011', at: AT, rrn: 'C00000000001', requestId: 'payout:01J-abc_1.2', account: '6000123456789012' }),
  ],
  ['coreDebit', P.coreDebit({ stan: '000012', at: AT, rrn: 'C00000000002', requestId: 'd-1', account: '6000123456789012', amount: 500 })],
  ['coreCredit', P.coreCredit({ stan: '000013', at: AT, rrn: 'C00000000003', requestId: 'c-1', account: '6000123456789012', amount: 500 })],
  ['coreReversal', P.coreReversal({ stan: '000014', at: AT, rrn: 'C00000000004', originalRequestId: 'd-1' })],
  ['coreStatus', P.coreStatus({ stan: '000015', at: AT, requestId: 'd-1' })],
];

describe('switch protocol', () => {
  it('packs and unpacks every builder output, plain and signed, and reads each back as its kind', async () => {
    for (const [kind, m] of samples()) {
      expect(unpack(P.SWITCH_SPEC, pack(P.SWITCH_SPEC, m))).toEqual(m);
      expect(P.kindOf(m)).toBe(kind);
      const a = P.answer(m, { 39: '00' });
      expect(P.kindOf(a)).toBe(kind);
      if (P.needsMac(m)) {
        const signed = await P.signMessage(mac, m);
        expect(unpack(P.SWITCH_SPEC, pack(P.SWITCH_SPEC, signed))).toEqual(signed);
      }
    }
  });

  it('fills the fields of the message table', () => {
    const buy = samples()[5]![1];
    const f = buy.fields;
    expect(buy.mti).toBe('0200');
    expect(f.get(3)).toBe('000000');
    expect(f.get(4)).toBe('000000012345');
    expect(f.get(7)).toBe('1231163005');
    expect(f.get(12)).toBe('003005');
    expect(f.get(13)).toBe('0101');
    expect(f.get(22)).toBe('021');
    expect(f.get(49)).toBe('156');
    const noPin = samples()[6]![1];
    expect(noPin.fields.get(22)).toBe('022');
    expect(noPin.fields.has(52)).toBe(false);
    const rev = samples()[8]![1];
    expect(rev.fields.get(39)).toBe('98');
    expect(rev.fields.get(90)).toBe(`0200000123123116300500004581000${'0'.repeat(11)}`);
    const credit = samples()[12]![1];
    expect(credit.fields.get(103)).toBe('6000123456789012');
    expect(credit.fields.has(102)).toBe(false);
    expect(credit.fields.get(41)).toBe(P.CORE_TERMINAL);
    const signOn = samples()[0]![1];
    expect(signOn.fields.get(41)).toBe(P.NETWORK_TERMINAL);
    expect(samples()[4]![1].fields.get(15)).toBe('0102');
  });

  it('answers echo 7, 11, 32, 37, 41, 42 with MTI + 10, and the codec matches answer to request', () => {
    const codec = P.createSwitchCodec();
    for (const [, m] of samples()) {
      const a = P.answer(m, { 39: '05', 38: undefined });
      expect(a.mti).toBe(`${m.mti.slice(0, 2)}${Number(m.mti[2]) + 1}${m.mti[3]}`);
      for (const f of P.ECHOED_FIELDS) expect(a.fields.get(f)).toEqual(m.fields.get(f));
      expect(a.fields.has(2)).toBe(false);
      expect(a.fields.has(38)).toBe(false);
      expect(codec.isRequest(m)).toBe(true);
      expect(codec.isRequest(a)).toBe(false);
      expect(codec.responseKey(codec.decode(codec.encode(a)))).toBe(codec.requestKey(m));
    }
    // An answer to another STAN does not match.
    const other = P.answer(P.echoRequest({ stan: '000099', at: AT }), { 39: '00' });
    expect(codec.responseKey(other)).not.toBe(codec.requestKey(samples()[2]![1]));
  });

  it('echo() of the codec uses the counter it is given', () => {
    const stan = new P.StanCounter(41);
    const codec = P.createSwitchCodec({ stan, now: () => AT });
    const e = codec.echo!();
    expect(e.fields.get(11)).toBe('000042');
    expect(e.fields.get(70)).toBe('301');
    expect(e.fields.get(7)).toBe('1231163005');
    expect(stan.current).toBe(42);
  });

  describe('MAC', () => {
    it('is in 64 without a secondary bitmap, else in 128', () => {
      expect(P.macField(samples()[5]![1])).toBe(64);
      expect(P.macField(samples()[8]![1])).toBe(128);
      expect(P.macField(samples()[9]![1])).toBe(128);
    });

    it('covers the packed message with the MAC as 16 zeros, minus those 16 characters', () => {
      const m = samples()[5]![1];
      const input = P.macInput(m);
      const full = pack(P.SWITCH_SPEC, P.withMac(m, Buffer.alloc(8)));
      expect(full.subarray(full.length - 16).toString('latin1')).toBe('0'.repeat(16));
      expect(input.equals(full.subarray(0, full.length - 16))).toBe(true);
      // The bitmap announces field 64 although the MAC bytes are not in the input.
      expect(unpack(P.SWITCH_SPEC, full).fields.has(64)).toBe(true);
    });

    it('verifies a signed message, from the message or its frame, and fails on any flipped byte', async () => {
      for (const i of [5, 8, 9]) {
        const signed = await P.signMessage(mac, samples()[i]![1]);
        const frame = pack(P.SWITCH_SPEC, signed);
        expect(await P.verifyMessage(mac, signed)).toBe(true);
        expect(await P.verifyMessage(mac, unpack(P.SWITCH_SPEC, frame), frame)).toBe(true);
        expect(P.packWithMac(samples()[i]![1], mac).equals(frame)).toBe(true);
        // Flip one character of the amount (field 4 is digits: 1 → 2 keeps it decodable).
        const tampered = Buffer.from(frame);
        const at = tampered.indexOf('12345') >= 0 ? tampered.indexOf('12345') : tampered.indexOf('0000000001');
        tampered[at] = tampered[at] === 0x31 ? 0x32 : 0x31;
        const decoded = unpack(P.SWITCH_SPEC, tampered);
        expect(await P.verifyMessage(mac, decoded, tampered)).toBe(false);
        expect(await P.verifyMessage(mac, decoded)).toBe(false);
        // Wrong key.
        const other = (d: Buffer): Buffer => retailMac(Buffer.from('11'.repeat(8) + '22'.repeat(8), 'hex'), d, 1);
        expect(await P.verifyMessage(other, signed)).toBe(false);
      }
    });

    it('is false for a message without a MAC', async () => {
      expect(await P.verifyMessage(mac, samples()[5]![1])).toBe(false);
    });

    it('agrees with the platform crypto service (ZAK, ISO9797-1-ALG3)', async () => {
      const crypto = createCryptoService(Secrets.ephemeral());
      const zak = await crypto.importComponents('ZAK', 'TDES2', [KEY.toString('hex')]);
      const platformMac = (d: Buffer): Promise<Buffer> => crypto.generateMac(zak, 'ISO9797-1-ALG3', d);
      const signed = await P.signMessage(platformMac, samples()[5]![1]);
      expect(await P.verifyMessage(mac, signed)).toBe(true);
    });

    it('needsMac: card financial messages only', () => {
      const needs = samples().map(([kind, m]) => [kind, P.needsMac(m)]);
      expect(needs.filter(([, n]) => n).map(([k]) => k)).toEqual(['purchase', 'purchase', 'balance', 'reversal', 'refund']);
    });
  });

  describe('values', () => {
    it('STAN counter runs 000001…999999 and wraps to 000001', () => {
      const s = new P.StanCounter();
      expect(s.next()).toBe('000001');
      const t = new P.StanCounter(999_998);
      expect(t.next()).toBe('999999');
      expect(t.next()).toBe('000001');
      expect(() => new P.StanCounter(1_000_000)).toThrow(RangeError);
    });

    it('field 7 is UTC, fields 12/13 Beijing time', () => {
      expect(P.field7(AT)).toBe('1231163005');
      expect(P.beijingTime(AT)).toEqual({ hhmmss: '003005', mmdd: '0101' });
      expect(P.beijingDate(AT)).toBe('2025-01-01');
    });

    it('settlementDate picks the year nearest to now, across the year boundary and for 29 February', () => {
      // 23:30 Beijing on 31 December: an answer may already carry 0101 of next year.
      const newYearsEve = Date.UTC(2024, 11, 31, 15, 30);
      expect(P.settlementDate('0101', newYearsEve)).toBe('2025-01-01');
      expect(P.settlementDate('1231', newYearsEve)).toBe('2024-12-31');
      // A late 1231 read on 2 January.
      expect(P.settlementDate('1231', Date.UTC(2025, 0, 2))).toBe('2024-12-31');
      expect(P.settlementDate('0615', Date.UTC(2025, 5, 14))).toBe('2025-06-15');
      expect(P.settlementDate('0229', Date.UTC(2025, 2, 1))).toBe('2024-02-29');
      expect(() => P.settlementDate('0230', AT)).toThrow(RangeError);
      expect(() => P.settlementDate('1301', AT)).toThrow(RangeError);
      expect(() => P.settlementDate('12-1', AT)).toThrow(RangeError);
      for (const date of ['2024-12-31', '2025-01-01', '2024-02-29']) {
        expect(P.settlementDate(P.mmddOf(date), Date.parse(`${date}T04:00:00Z`))).toBe(date);
      }
    });

    it('field 90 round trips, pads the acquirer id and refuses bad parts', () => {
      const o = { mti: '0200', stan: '000123', transmittedAt: '1231163005', acquirerId: ACQ };
      const f = P.originalData(o);
      expect(f).toHaveLength(42);
      expect(P.parseOriginalData(f)).toEqual({ ...o, acquirerId: P.padAcquirer(ACQ) });
      expect(P.padAcquirer(ACQ)).toBe('00004581000');
      expect(P.parseOriginalData(f.slice(1))).toBeNull();
      expect(P.parseOriginalData(`${f.slice(0, 41)}X`)).toBeNull();
      expect(() => P.originalData({ ...o, stan: '123' })).toThrow(RangeError);
      expect(() => P.originalData({ ...o, acquirerId: '123456789012' })).toThrow(RangeError);
    });

    it('field 54 round trips, with its sign, and finds the available amount among several', () => {
      expect(P.balanceField(12_345)).toBe('0002156C000000012345');
      expect(P.parseBalanceField(P.balanceField(12_345))).toBe(12_345);
      expect(P.parseBalanceField(P.balanceField(-7))).toBe(-7);
      expect(P.parseBalanceField(P.balanceField(0))).toBe(0);
      expect(P.parseBalanceField(`0001156C000000000001${P.balanceField(99)}`)).toBe(99);
      expect(P.parseBalanceField('0001156C000000000001')).toBeNull();
      expect(P.parseBalanceField('garbage')).toBeNull();
    });

    it('amounts are 12 digits of whole fen', () => {
      expect(P.amountField(1)).toBe('000000000001');
      expect(P.amountField(999_999_999_999n)).toBe('999999999999');
      expect(() => P.amountField(-1)).toThrow(RangeError);
      expect(() => P.amountField(1_000_000_000_000)).toThrow(RangeError);
      expect(() => P.amountField(1.5)).toThrow(RangeError);
      expect(P.parseAmount('000000012345')).toBe(12_345);
      expect(() => P.parseAmount('12345')).toThrow(RangeError);
    });

    it('field 48 of a key change round trips (upper case) and refuses malformed text', () => {
      const parsed = P.parseKeyChange(P.keyChangeField(keys));
      expect(parsed).toEqual({
        zpk: { cryptogram: keys.zpk.cryptogram.toUpperCase(), kcv: '0A1B2C' },
        zak: { cryptogram: keys.zak.cryptogram.toUpperCase(), kcv: 'FFEEDD' },
      });
      expect(P.parseKeyChange('ZPK=AB,123456;ZAK=CD,123456')).toBeNull();
      expect(P.parseKeyChange(`ZAK=${'A'.repeat(32)},123456;ZPK=${'A'.repeat(32)},123456`)).toBeNull();
    });

    it('maskPan keeps 6 and 4', () => {
      expect(P.maskPan('6219990000000000018')).toBe('621999*********0018');
    });
  });
});
