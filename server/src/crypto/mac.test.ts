import { describe, expect, it } from 'vitest';
import { aesCmac, hmacSha256, macMatches, padIso9797, retailMac } from './mac.js';
import { toHex } from './primitives.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');
const ascii = (text: string): Buffer => Buffer.from(text, 'ascii');

describe('ISO/IEC 9797-1 MAC algorithm 3 (retail MAC)', () => {
  // ISO/IEC 9797-1:2011 Annex B.4 (MAC algorithm 3, K = 0123456789ABCDEF, K' = FEDCBA9876543210),
  // the examples the RustCrypto retail-mac crate documents and tests against.
  const key = h('0123456789ABCDEF FEDCBA9876543210');

  it('ISO/IEC 9797-1 Annex B: "Now is the time for all ", padding methods 1 and 2', () => {
    expect(toHex(retailMac(key, ascii('Now is the time for all '), 1))).toBe('A1C72E74EA3FA9B6');
    expect(toHex(retailMac(key, ascii('Now is the time for all '), 2))).toBe('E9086230CA3BE796');
  });

  it('ISO/IEC 9797-1 Annex B: "Now is the time for it" (partial last block), padding methods 1 and 2', () => {
    expect(toHex(retailMac(key, ascii('Now is the time for it'), 1))).toBe('2E2B1428CC78254F');
    expect(toHex(retailMac(key, ascii('Now is the time for it'), 2))).toBe('5A692CE64F404145');
  });

  it('padding method 1 is the default (CUP ISO 8583 field 64)', () => {
    expect(retailMac(key, ascii('Now is the time for it'))).toEqual(retailMac(key, ascii('Now is the time for it'), 1));
  });

  it('ICAO Doc 9303 Part 11 Appendix D.3 (BAC mutual authentication): MIFD and MICC, padding method 2', () => {
    const kMac = h('7962D9ECE03D1ACD4C76089DCE131543');
    const eIfd = h('72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2');
    const eIcc = h('46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F');
    expect(toHex(retailMac(kMac, eIfd, 2))).toBe('5F1448EEA8AD90A7');
    expect(toHex(retailMac(kMac, eIcc, 2))).toBe('2F2D235D074D7449');
  });

  it('Bouncy Castle ISO9797Alg3MacTest vector 1 (one full block, no padding added by method 1)', () => {
    expect(toHex(retailMac(h('7CA110454A1A6E570131D9619DC1376E'), ascii('Hello World !!!!'), 1))).toBe('F09B856213BAB83B');
  });

  it('refuses a key that is not double length', () => {
    expect(() => retailMac(h('00'.repeat(24)), ascii('x'))).toThrow(expect.objectContaining({ code: 'key_invalid' }));
  });
});

describe('ISO/IEC 9797-1 padding', () => {
  it('method 1 pads with zeros, adds nothing to whole blocks, one zero block for empty data', () => {
    expect(toHex(padIso9797(h('1234'), 8, 1))).toBe('1234000000000000');
    expect(toHex(padIso9797(h('1234567890123456'), 8, 1))).toBe('1234567890123456');
    expect(toHex(padIso9797(h(''), 8, 1))).toBe('0000000000000000');
  });

  it('method 2 always adds 0x80', () => {
    expect(toHex(padIso9797(h('1234'), 8, 2))).toBe('1234800000000000');
    expect(toHex(padIso9797(h('1234567890123456'), 8, 2))).toBe('12345678901234568000000000000000');
    expect(toHex(padIso9797(h(''), 8, 2))).toBe('8000000000000000');
  });
});

describe('AES-CMAC', () => {
  const m64 = h(
    '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
  );

  it('RFC 4493 §4 examples 1–4 (AES-128)', () => {
    const key = h('2b7e151628aed2a6abf7158809cf4f3c');
    expect(aesCmac(key, h(''))).toEqual(h('bb1d6929e95937287fa37d129b756746'));
    expect(aesCmac(key, m64.subarray(0, 16))).toEqual(h('070a16b46b4d4144f79bdd9dd04a287c'));
    expect(aesCmac(key, m64.subarray(0, 40))).toEqual(h('dfa66747de9ae63030ca32611497c827'));
    expect(aesCmac(key, m64)).toEqual(h('51f0bebf7e3b9d92fc49741779363cfe'));
  });

  it('NIST SP 800-38B Appendix D.3 examples 9–12 (AES-256)', () => {
    const key = h('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
    expect(aesCmac(key, h(''))).toEqual(h('028962f61b7bf89efc6b551f4667d983'));
    expect(aesCmac(key, m64.subarray(0, 16))).toEqual(h('28a7023f452e8f82bd4bf28d8c37c35c'));
    expect(aesCmac(key, m64.subarray(0, 40))).toEqual(h('aaf3d8f1de5640c232f5b169b9c911e6'));
    expect(aesCmac(key, m64)).toEqual(h('e1992190549f6ed5696a2c056c315410'));
  });
});

describe('HMAC-SHA256', () => {
  it('RFC 4231 §4 test cases 1, 2, 3, 4, 6, 7', () => {
    const cases: [Buffer, Buffer, string][] = [
      [h('0b'.repeat(20)), ascii('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [ascii('Jefe'), ascii('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
      [h('aa'.repeat(20)), h('dd'.repeat(50)), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
      [
        h('0102030405060708090a0b0c0d0e0f10111213141516171819'),
        h('cd'.repeat(50)),
        '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      ],
      [
        h('aa'.repeat(131)),
        ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
      [
        h('aa'.repeat(131)),
        ascii(
          'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
        ),
        '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      ],
    ];
    for (const [key, data, mac] of cases) expect(hmacSha256(key, data).toString('hex')).toBe(mac);
  });

  it('RFC 4231 test case 5: a MAC truncated to 128 bits matches', () => {
    const mac = hmacSha256(h('0c'.repeat(20)), ascii('Test With Truncation'));
    expect(macMatches(mac, h('a3b6167473100ee06e0c796c2955552b'), 16)).toBe(true);
  });
});

describe('macMatches', () => {
  const full = h('00112233445566778899aabbccddeeff');
  it('accepts the full MAC or a long enough left truncation, nothing else', () => {
    expect(macMatches(full, full, 4)).toBe(true);
    expect(macMatches(full, full.subarray(0, 4), 4)).toBe(true);
    expect(macMatches(full, full.subarray(0, 3), 4)).toBe(false);
    expect(macMatches(full, full.subarray(1, 5), 4)).toBe(false);
    expect(macMatches(full, Buffer.concat([full, h('00')]), 4)).toBe(false);
    const flipped = Buffer.from(full);
    flipped[7] = flipped[7]! ^ 1;
    expect(macMatches(full, flipped, 4)).toBe(false);
  });
});
