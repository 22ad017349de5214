import { describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import {
  decimalise,
  ibm3624NaturalPin,
  ibm3624Offset,
  ibm3624ValidationData,
  ibm3624Verify,
  pvvFromCiphertext,
  visaPvv,
  visaPvvVerify,
  visaTsp,
} from './pin-verification.js';
import { desEncryptEcb, toHex } from './primitives.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

describe('IBM 3624', () => {
  it('IBM CCA Basic Services (4758, Release 2.54) Appendix E, "IBM 3624 PIN-calculation method" example', () => {
    expect(decimalise('E5C1BD67B66AE7C6', '8351296477461538')).toBe('3913656466643416');
  });

  // "Magnetic stripe cards: examples" (Padilla, Universidad Complutense de Madrid), the worked
  // example most IBM 3624 write-ups quote: single-DES PIN key, the 16-digit card number as
  // validation data, decimalisation table 0123456789012345.
  it('UCM worked example 2: card 1234567890123445, key 0123456789ABCDEF → natural PIN 9046, offset 2298 for PIN 1234', () => {
    const key = h('0123456789ABCDEF');
    expect(toHex(desEncryptEcb(key, ibm3624ValidationData('1234567890123445')))).toBe('9A466AD30DFE0381');
    expect(ibm3624NaturalPin(key, ibm3624ValidationData('1234567890123445'), '0123456789012345', 4)).toBe('9046');
    expect(ibm3624Offset(key, '1234', '1234567890123445')).toBe('2298');
    expect(ibm3624Verify(key, '1234', '1234567890123445', '2298')).toBe(true);
    expect(ibm3624Verify(key, '1235', '1234567890123445', '2298')).toBe(false);
  });

  it('UCM worked example 1: account 1234567890123456, key 1313131313131313, 6 digits → 643085; offset 456789 ↔ PIN 099764', () => {
    const key = h('1313131313131313');
    expect(toHex(desEncryptEcb(key, h('1234567890123456')))).toBe('64DA85B3795AE4E4');
    expect(ibm3624NaturalPin(key, h('1234567890123456'), '0123456789012345', 6)).toBe('643085');
    expect(ibm3624Verify(key, '099764', '1234567890123456', '456789')).toBe(true);
    expect(ibm3624Verify(key, '643085', '1234567890123456', '000000')).toBe(true);
    expect(ibm3624Offset(key, '099764', '1234567890123456')).toBe('456789');
  });

  // psec test suite (knovichikhin/psec tests/test_pin.py): PVK 0123456789ABCDEFFEDCBA9876543210,
  // table 1234567890123456, explicit validation data (the pad digit written out).
  const pvk = h('0123456789ABCDEFFEDCBA9876543210');
  const table = '1234567890123456';

  it('psec: natural PINs and offsets, full and partial validation data', () => {
    const cases: [string, string, string][] = [
      // validation data, PIN, offset
      ['1122334455667788', '4524', '0000'],
      ['1122334455667788', '5635', '1111'],
      ['1122334455667788', '0000', '6586'],
      ['1122334455667788', '1111', '7697'],
      ['1122334455667788', '1234', '7710'],
      ['11223344556677', '5518', '0000'], // 14 digits, padded with F
      ['1223344556677811', '3675', '0000'], // offset 1, length 14, pad 1
      ['2233445566778811', '5550', '0000'], // offset 2, length 14, pad 1
    ];
    for (const [validationData, pin, offset] of cases) {
      const options = { validationData, decimalisationTable: table };
      expect(ibm3624Offset(pvk, pin, '4111111111111111', options)).toBe(offset);
      expect(ibm3624Verify(pvk, pin, '4111111111111111', offset, options)).toBe(true);
    }
  });

  it('check length: only the rightmost digits are checked (IBM: "PIN check length")', () => {
    const options = { validationData: '1122334455667788', decimalisationTable: table };
    // A 6-digit PIN whose last 4 digits are the natural PIN's and whose first 2 are not.
    const natural = ibm3624NaturalPin(pvk, h('1122334455667788'), table, 6);
    const pin = natural.slice(0, 2).replace(/\d/g, (d) => String((Number(d) + 5) % 10)) + natural.slice(2);
    expect(ibm3624Verify(pvk, pin, '0', '000000', options)).toBe(false);
    expect(ibm3624Verify(pvk, pin, '0', '0000', { ...options, checkLength: 4 })).toBe(true);
    expect(ibm3624Verify(pvk, pin, '0', '000000', { ...options, checkLength: 4 })).toBe(true);
    expect(() => ibm3624Verify(pvk, pin, '0', '0000', { ...options, checkLength: 5 })).toThrow(CryptoError);
  });

  it('default validation data is the PAN, first 16 digits, F-padded', () => {
    expect(toHex(ibm3624ValidationData('1234567890123445'))).toBe('1234567890123445');
    expect(toHex(ibm3624ValidationData('6217000010001234567'))).toBe('6217000010001234');
    expect(toHex(ibm3624ValidationData('123456789012'))).toBe('123456789012FFFF');
  });

  it('bad tables, offsets and validation data are input_invalid', () => {
    expect(() => decimalise('00', '123456789012345A')).toThrow(expect.objectContaining({ code: 'input_invalid' }));
    expect(() => ibm3624Verify(pvk, '1234', '4111111111111111', '12')).toThrow(expect.objectContaining({ code: 'input_invalid' }));
    expect(() => ibm3624ValidationData('4111111111111111', '12345678901234567')).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
  });
});

describe('Visa PVV', () => {
  const pvk = h('0123456789ABCDEFFEDCBA9876543210');

  it('psec test suite (knovichikhin/psec tests/test_pin.py): four PVVs under PVK 0123456789ABCDEFFEDCBA9876543210', () => {
    const cases: [number, string, string, string][] = [
      [1, '4524', '1122334455667788', '8523'],
      [2, '1912', '1122334455667788', '3244'],
      [1, '0570', '1122334455667718', '3144'],
      [1, '8299', '1122334455667708', '4422'],
    ];
    for (const [pvki, pin, pan, pvv] of cases) {
      expect(visaPvv(pvk, pan, pvki, pin)).toBe(pvv);
      expect(visaPvvVerify(pvk, pan, pvki, pin, pvv)).toBe(true);
      expect(visaPvvVerify(pvk, pan, pvki, pin === '0000' ? '0001' : '0000', pvv)).toBe(false);
    }
  });

  it('TSP layout (Thales PV command / IBM CCA): 11 rightmost PAN digits without check digit, PVKI, 4 PIN digits', () => {
    expect(toHex(visaTsp('4123456789012345', 1, '123456'))).toBe('4567890123411234');
    expect(toHex(visaTsp('1122334455667788', 1, '4524'))).toBe('3344556677814524');
  });

  it('decimalisation (IBM CCA "VISA PVV calculation method"): decimal digits first, then A–F minus 10', () => {
    expect(pvvFromCiphertext('1A2B3C4D5E6F7890')).toBe('1234');
    expect(pvvFromCiphertext('ABCDEF0123ABCDEF')).toBe('0123');
    expect(pvvFromCiphertext('AB7CDEF9ABCDEFAB')).toBe('7901');
    expect(pvvFromCiphertext('ABCDEFABCDEFABCD')).toBe('0123');
  });

  it('refuses a single-length PVK and a malformed PVV', () => {
    expect(() => visaPvv(h('0123456789ABCDEF'), '1122334455667788', 1, '4524')).toThrow(expect.objectContaining({ code: 'key_invalid' }));
    expect(() => visaPvvVerify(pvk, '1122334455667788', 1, '4524', '85')).toThrow(expect.objectContaining({ code: 'input_invalid' }));
  });
});
