import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import {
  buildFormat0,
  decipherFormat0,
  decipherFormat4,
  encipherFormat0,
  encipherFormat4,
  panField4,
  parseFormat0,
  parsePinField4,
  pinField4,
} from './pin-block.js';
import { aesEncryptEcb, tdesEncryptEcb, toHex, xor } from './primitives.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

/** Runs `fn`, expects a CryptoError with `code`, and returns its message for further checks. */
function errorOf(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    expect((error as CryptoError).code).toBe(code);
    return (error as CryptoError).message;
  }
  throw new Error('expected a CryptoError');
}

describe('ISO 9564-1 format 0', () => {
  it('EFTLab "Complete list of PIN blocks" / ID TECH example: PIN 1234, PAN 43219876543210987 → 0412AC89ABCDEF67', () => {
    expect(toHex(buildFormat0('1234', '43219876543210987'))).toBe('0412AC89ABCDEF67');
    expect(parseFormat0(h('0412AC89ABCDEF67'), '43219876543210987')).toBe('1234');
  });

  it('psec test suite (knovichikhin/psec tests/test_pinblock.py): 4- and 12-digit PINs, PAN 5555555551234567', () => {
    expect(toHex(buildFormat0('1234', '5555555551234567'))).toBe('041261AAAAEDCBA9');
    expect(toHex(buildFormat0('123456789012', '5555555551234567'))).toBe('0C1261032D8226A9');
    expect(parseFormat0(h('091261032D8DCBA9'), '5555555551234567')).toBe('123456789');
  });

  it('ANSI X9.24-1:2009 Annex A: clear block 041274EDCBA9876F for PIN 1234, PAN 4012345678909', () => {
    expect(toHex(buildFormat0('1234', '4012345678909'))).toBe('041274EDCBA9876F');
  });

  it('encrypts under TDES and back', () => {
    const key = h('0123456789ABCDEFFEDCBA9876543210');
    const block = encipherFormat0(key, '987654', '6217000010001234567');
    expect(block).toEqual(tdesEncryptEcb(key, buildFormat0('987654', '6217000010001234567')));
    expect(decipherFormat0(key, block, '6217000010001234567')).toBe('987654');
  });

  it('rejects malformed blocks with pin_block_invalid and a message free of digits (psec malformed cases)', () => {
    const pan = '5555555551234567';
    const cases = [
      '241261AAAAEDCBA9', // control nibble 2
      '0F1261AAAAEDCBA9', // PIN length 15
      '021261AAAAEDCBA9', // PIN length 2
      '041261AAAAEDCBAA', // fill not F
      '051261AAAAEDCBA9', // fifth PIN "digit" is F
    ];
    for (const block of cases) {
      const message = errorOf(() => parseFormat0(h(block), pan), 'pin_block_invalid');
      for (const secret of ['1234', '123', block, pan, pan.slice(-13, -1)]) expect(message).not.toContain(secret);
    }
    errorOf(() => parseFormat0(h('041261AAAAEDCB'), pan), 'pin_block_invalid');
  });

  it('bad PINs and PANs are input_invalid', () => {
    for (const pin of ['123', '1234567890123', '12a4', '']) errorOf(() => buildFormat0(pin, '5555555551234567'), 'input_invalid');
    for (const pan of ['12345678901', '12345678901234567890', '5555-5555-5123-4567'])
      errorOf(() => buildFormat0('1234', pan), 'input_invalid');
  });
});

describe('ISO 9564-1:2017 format 4', () => {
  // ANSI X9.24-3:2017 Supplement Test Vectors (AES-128 BDK), "Calculation of AES PIN Block Format 4":
  // PIN 1234, PAN 4111111111111111, random fill 2F69ADDE2E9E7ACE, PIN keys of transaction counters 1 and 2.
  const pan = '4111111111111111';
  const random = h('2F69ADDE2E9E7ACE');

  it('X9.24-3 supplement: PIN field and PAN field', () => {
    expect(toHex(pinField4('1234', random))).toBe('441234AAAAAAAAAA2F69ADDE2E9E7ACE');
    expect(toHex(panField4(pan))).toBe('44111111111111111000000000000000');
  });

  it('X9.24-3 supplement: intermediate blocks and enciphered PIN blocks for two transactions', () => {
    const transactions = [
      [
        'AF8CB133A78F8DC2D1359F18527593FB',
        'DE84127CF6DCA7DFE47BDE89057CB820',
        '9A95036DE7CDB6CEF47BDE89057CB820',
        'A912150391AB65A67E52883D81CE2D15',
      ],
      [
        'D30BDC73EC9714B000BEC66BDB7B6D09',
        '37489F3DB975A040CD1EEE9E68051A44',
        '73598E2CA864B151DD1EEE9E68051A44',
        '52A00503BD34BA1383F6A7EE9FE2547F',
      ],
    ] as const;
    for (const [key, a, b, block] of transactions) {
      const intermediate = aesEncryptEcb(h(key), pinField4('1234', random));
      expect(toHex(intermediate)).toBe(a);
      expect(toHex(xor(intermediate, panField4(pan)))).toBe(b);
      expect(toHex(encipherFormat4(h(key), '1234', pan, random))).toBe(block);
      expect(decipherFormat4(h(key), h(block), pan)).toBe('1234');
    }
  });

  it('ep2 Security Specification v8.0.0 §8.4 (as reproduced in the psec test suite): PAN 432198765432109870 → PIN 1234', () => {
    expect(decipherFormat4(h('C1D0F8FB4958670DBA40AB1F3752EF0D'), h('CC17F65586BFD0953010226C4FC5B3CA'), '432198765432109870')).toBe(
      '1234',
    );
  });

  it('psec test suite: PAN field of an 18-digit PAN, PIN field parse', () => {
    expect(toHex(panField4('112233445566778899'))).toBe('61122334455667788990000000000000');
    expect(parsePinField4(h('441234AAAAAAAAAA548ED7FD65495950'))).toBe('1234');
  });

  it('PAN field of 12- and 19-digit PANs (ISO 9564-1:2017: M = PAN length − 12)', () => {
    expect(toHex(panField4('123456789012'))).toBe('01234567890120000000000000000000');
    expect(toHex(panField4('6217000010001234567'))).toBe('76217000010001234567000000000000');
  });

  it('round-trips random PINs under AES-128 and AES-256; the random fill differs each time', () => {
    for (const length of [16, 32]) {
      const key = randomBytes(length);
      for (let i = 0; i < 20; i++) {
        const pin = [...randomBytes(4 + (i % 9))].map((b) => b % 10).join('');
        const pan = '62' + [...randomBytes(11 + (i % 6))].map((b) => b % 10).join('');
        expect(decipherFormat4(key, encipherFormat4(key, pin, pan), pan)).toBe(pin);
      }
      expect(encipherFormat4(key, '1234', '4111111111111111')).not.toEqual(encipherFormat4(key, '1234', '4111111111111111'));
    }
  });

  it('a block deciphered with the wrong PAN or key does not parse (pin_block_invalid), with high probability', () => {
    const key = h('AF8CB133A78F8DC2D1359F18527593FB');
    const block = h('A912150391AB65A67E52883D81CE2D15');
    errorOf(() => decipherFormat4(key, block, '4111111111111112'), 'pin_block_invalid');
    errorOf(() => decipherFormat4(h('D30BDC73EC9714B000BEC66BDB7B6D09'), block, pan), 'pin_block_invalid');
  });

  it('rejects malformed PIN fields (psec malformed cases) and wrong lengths', () => {
    const cases = [
      '541234AAAAAAAAAA548ED7FD65495950', // control nibble 5
      '43123AAAAAAAAAAA548ED7FD65495950', // PIN length 3
      '441234ABCDEFABCD548ED7FD65495950', // fill not A
      '4412D4AAAAAAAAAA548ED7FD65495950', // non-digit
    ];
    for (const field of cases) {
      const message = errorOf(() => parsePinField4(h(field)), 'pin_block_invalid');
      for (const secret of ['1234', '123', '12D4', field]) expect(message).not.toContain(secret);
    }
    errorOf(() => parsePinField4(h('441234AAAAAAAAAA548ED7FD6549595000')), 'pin_block_invalid');
    errorOf(() => decipherFormat4(h('AF8CB133A78F8DC2D1359F18527593FB'), h('A912150391AB65A67E52883D81CE2D'), pan), 'pin_block_invalid');
  });
});
