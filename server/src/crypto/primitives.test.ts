import { describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import { keyCheckValue } from './kcv.js';
import {
  aesDecryptCbc,
  aesDecryptEcb,
  aesEncryptCbc,
  aesEncryptEcb,
  desEncryptEcb,
  fixParity,
  fromHex,
  hasOddParity,
  tdesDecryptCbc,
  tdesDecryptEcb,
  tdesEncryptCbc,
  tdesEncryptEcb,
  toHex,
  xor,
} from './primitives.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

describe('TDES', () => {
  it('NIST SP 800-67 Rev. 1 Appendix B: 3-key TDEA ECB, "The qufck brown fox jump"', () => {
    const key = h('0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123');
    const plain = Buffer.from('The qufck brown fox jump', 'ascii');
    const cipher = h('A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900');
    expect(tdesEncryptEcb(key, plain)).toEqual(cipher);
    expect(tdesDecryptEcb(key, cipher)).toEqual(plain);
  });

  it('NIST SP 800-20 Table A.1 (variable plaintext, K1 = K2 = K3 = 0101…01), as 2-key TDES and as DES', () => {
    const key = h('01010101010101010101010101010101');
    const vectors: [string, string][] = [
      ['8000000000000000', '95F8A5E5DD31D900'],
      ['4000000000000000', 'DD7F121CA5015619'],
      ['2000000000000000', '2E8653104F3834EA'],
      ['1000000000000000', '4BD388FF6CD81D4F'],
    ];
    for (const [plain, cipher] of vectors) {
      expect(toHex(tdesEncryptEcb(key, h(plain)))).toBe(cipher);
      expect(toHex(desEncryptEcb(key.subarray(0, 8), h(plain)))).toBe(cipher);
      expect(toHex(tdesDecryptEcb(key, h(cipher)))).toBe(plain);
    }
  });

  it('cross-check: 2-key TDES is 3-key TDES with K3 = K1 (SP 800-67 keying option 2)', () => {
    const k1 = h('0123456789ABCDEF');
    const k2 = h('FEDCBA9876543210');
    const data = Buffer.from('The qufck brown fox jump', 'ascii');
    expect(tdesEncryptEcb(Buffer.concat([k1, k2]), data)).toEqual(tdesEncryptEcb(Buffer.concat([k1, k2, k1]), data));
  });

  it('cross-check: CBC equals ECB with explicit chaining, both ways', () => {
    const key = h('0123456789ABCDEFFEDCBA9876543210');
    const iv = h('1122334455667788');
    const data = Buffer.from('Now is the time for all ', 'ascii');
    let chain = iv;
    const manual: Buffer[] = [];
    for (let i = 0; i < data.length; i += 8) {
      chain = tdesEncryptEcb(key, xor(chain, data.subarray(i, i + 8)));
      manual.push(chain);
    }
    const cbc = tdesEncryptCbc(key, iv, data);
    expect(cbc).toEqual(Buffer.concat(manual));
    expect(tdesDecryptCbc(key, iv, cbc)).toEqual(data);
  });
});

describe('AES', () => {
  it('FIPS-197 Appendix C.1 (AES-128) and C.3 (AES-256)', () => {
    const plain = h('00112233445566778899aabbccddeeff');
    const k128 = h('000102030405060708090a0b0c0d0e0f');
    const k256 = h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    expect(aesEncryptEcb(k128, plain)).toEqual(h('69c4e0d86a7b0430d8cdb78070b4c55a'));
    expect(aesEncryptEcb(k256, plain)).toEqual(h('8ea2b7ca516745bfeafc49904b496089'));
    expect(aesDecryptEcb(k256, h('8ea2b7ca516745bfeafc49904b496089'))).toEqual(plain);
  });

  it('NIST SP 800-38A F.2.1 (CBC-AES128) and F.2.5 (CBC-AES256)', () => {
    const iv = h('000102030405060708090a0b0c0d0e0f');
    const plain = h(
      '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
    );
    const k128 = h('2b7e151628aed2a6abf7158809cf4f3c');
    const c128 = h(
      '7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7',
    );
    const k256 = h('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
    const c256 = h(
      'f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b',
    );
    expect(aesEncryptCbc(k128, iv, plain)).toEqual(c128);
    expect(aesDecryptCbc(k128, iv, c128)).toEqual(plain);
    expect(aesEncryptCbc(k256, iv, plain)).toEqual(c256);
  });
});

describe('helpers', () => {
  it('fixParity makes every byte odd-parity and leaves odd-parity keys alone', () => {
    expect(toHex(fixParity(h('0000FEFF02038081')))).toBe('0101FEFE02028080');
    const published = h('0123456789ABCDEFFEDCBA9876543210');
    expect(hasOddParity(published)).toBe(true);
    expect(fixParity(published)).toEqual(published);
    expect(hasOddParity(h('00'))).toBe(false);
  });

  it('fromHex is strict and names the field, not the value', () => {
    expect(fromHex('0aFf', 'x')).toEqual(h('0aff'));
    for (const bad of ['0', 'zz', '0x00', ' 00']) expect(() => fromHex(bad, 'the field')).toThrow(CryptoError);
    expect(() => fromHex('00112233', 'the key', [16])).toThrow(/the key must be 32 hex digits/);
  });

  it('wrong lengths are CryptoErrors, not OpenSSL messages', () => {
    expect(() => tdesEncryptEcb(h('00'.repeat(8)), h('00'.repeat(8)))).toThrow(expect.objectContaining({ code: 'key_invalid' }));
    expect(() => tdesEncryptEcb(h('0123456789ABCDEFFEDCBA9876543210'), h('00'.repeat(7)))).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
    expect(() => aesEncryptEcb(h('00'.repeat(20)), h('00'.repeat(16)))).toThrow(expect.objectContaining({ code: 'key_invalid' }));
    expect(() => xor(h('00'), h('0000'))).toThrow(CryptoError);
  });
});

describe('key check values', () => {
  it('TDES: first 3 bytes of E(K, 0) — the widely quoted 08D7B4 of the ANSI X9.24-1 test BDK', () => {
    const key = h('0123456789ABCDEFFEDCBA9876543210');
    expect(toHex(tdesEncryptEcb(key, Buffer.alloc(8)))).toBe('08D7B4FB629D0885');
    expect(keyCheckValue('TDES2', key)).toBe('08D7B4');
  });

  it('AES: first 3 bytes of CMAC(K, 0^16) (X9.24-1:2017) — cross-checked with OpenSSL 3 `openssl mac CMAC`, not a published vector', () => {
    expect(keyCheckValue('AES128', h('2B7E151628AED2A6ABF7158809CF4F3C'))).toBe('7AD386');
    expect(keyCheckValue('AES128', h('00112233445566778899AABBCCDDEEFF'))).toBe('53E107');
    expect(keyCheckValue('AES256', h('603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4'))).toBe('1A0B2D');
  });
});
