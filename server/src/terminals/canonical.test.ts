/**
 * The worked examples of docs/terminal-protocol.md, checked three ways: the documented constants,
 * Node's own crypto (an independent implementation), and the protocol client (WebCrypto), so the
 * document, the server and the client cannot drift apart. The doc file itself is read and must
 * contain every constant asserted here.
 *
 * Key material comes from published vectors: the device key is RFC 8032 §7.1 TEST 1; the ephemeral
 * (terminal) and server X25519 key pairs and their shared secret are Alice and Bob of RFC 7748 §6.1;
 * the CMAC check is RFC 4493 §4 Example 2. Everything else (ids, salt, IV, session keys) is made up
 * for the example and printed in the doc.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyEd25519 } from '../crypto/index.js';
import { keyCheckValue } from '../crypto/kcv.js';
import { EMPTY_BODY_SHA256, canonicalRequest, fromBase64Url, fromHex, sessionKeysContext, signOnString, toBase64Url, toHex, utf8 } from './canonical.js';
import { TerminalClient, aesCmacBlock, unwrapSessionKeys } from './client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DOC = fs.readFileSync(path.resolve(here, '../../../docs/terminal-protocol.md'), 'utf8');

const hex = (h: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(h, 'hex'));

const EX = {
  terminalId: '0192f0a4-7d1e-7c3a-9b61-2a5e3c4d5e6f',
  sessionId: '0192f0a5-1a2b-7c3d-8e4f-5a6b7c8d9e0f',
  timestamp: 1767225600000, // 2026-01-01T00:00:00Z
  seq: 42,
  path: '/api/v1/terminal/heartbeat',
  body: '{"appVersions":{"shell":"1.2.0"},"network":"4g","battery":87}',
  bodySha256: 'e6ef28dd1063c0412e3ba87d8668df7a8c46a71e5936d6dfac1fb792d3ebdfa8',
  keys: {
    pin: '0f0e0d0c0b0a09080706050403020100',
    mac: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    data: '202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f',
  },
  kcv: { pin: '2CDB45', mac: 'FF9212', data: '8210D0' },
  macHex: '525ada60ebfd59981928194b36d7b4731d3511cccf4b48ce1b06b9f139484403',
  mac: 'UlraYOv9WZgZKBlLNte0cx01EczPS0jOGwa58TlIRAM',
  // RFC 8032 §7.1 TEST 1
  deviceSeed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  devicePublic: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  // RFC 7748 §6.1: Alice is the terminal's ephemeral key, Bob the server's
  alicePrivate: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublic: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo',
  bobPrivate: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublic: '3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
  signature: 'Ja-RF1LdMAX4llFMc_ie9HpWKzBpgKOYhQIqQ-XB7UBvcT1XNp_anR-P5brF3Yg01esF54SAOWZwCw4dNaIeAA',
  salt: 'QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8',
  iv: 'oKGio6Slpqeoqaqr',
  wrapKey: 'f71828adf0abca9c915c81c3f72c72f2c864c515e6f3129a3adcbd8d6e9f50b1',
  ciphertext:
    'cAompbhjkJDJ2I8LRJy60laA4mdwxaqRSHFMRoBW_ruvacR7feejbQgDsFx_ZOFRc1SXAeLlD8EnyyCnHKWkpxz2-udJovUj5_--8pVBXmkHYnSJN1tFWRDNRj_ECiOOtaoCjR_P-7K4WJKVpEvkfGT00eMI0xVmB3uw8ZtCfxnSSp9yDVya_uW2RRsBil-H1HbbioI3Dc0x4bkeTWXnv_Mr7fd6gc1BhY_YFiTz9qns-ZGfty2EWAqQ45YfOV7Ism3NbUk9bIb14H52Jg',
};

const CANONICAL = [
  'XW1-HMAC-SHA256',
  'POST',
  '/api/v1/terminal/heartbeat',
  '1767225600000',
  '42',
  '0192f0a5-1a2b-7c3d-8e4f-5a6b7c8d9e0f',
  '',
  'e6ef28dd1063c0412e3ba87d8668df7a8c46a71e5936d6dfac1fb792d3ebdfa8',
].join('\n');

describe('the request MAC worked example', () => {
  it('builds the documented canonical string and MAC (Node crypto)', () => {
    expect(createHash('sha256').update(EX.body).digest('hex')).toBe(EX.bodySha256);
    const canonical = canonicalRequest({ method: 'post', pathAndQuery: EX.path, timestamp: EX.timestamp, seq: EX.seq, sessionId: EX.sessionId, operatorToken: '', bodySha256Hex: EX.bodySha256 });
    expect(canonical).toBe(CANONICAL);
    const mac = createHmac('sha256', hex(EX.keys.mac)).update(canonical).digest();
    expect(mac.toString('hex')).toBe(EX.macHex);
    expect(mac.toString('base64url')).toBe(EX.mac);
    expect(createHash('sha256').update('').digest('hex')).toBe(EMPTY_BODY_SHA256);
  });

  it('the client signs the same request with the same headers (WebCrypto)', async () => {
    const client = new TerminalClient({ baseUrl: 'http://terminal.example' });
    const macKey = await crypto.subtle.importKey('raw', hex(EX.keys.mac), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    client.session = {
      terminalId: EX.terminalId,
      sessionId: EX.sessionId,
      batchNo: '000001',
      expiresAt: EX.timestamp + 3_600_000,
      heartbeatIntervalS: 60,
      pollIntervalS: 300,
      params: {},
      keys: { mac: macKey, pin: macKey, data: macKey },
      kcv: EX.kcv,
      seq: EX.seq - 1,
    };
    const { url, init } = await client.prepare('POST', EX.path, JSON.parse(EX.body), { timestamp: EX.timestamp });
    expect(url).toBe(`http://terminal.example${EX.path}`);
    expect(init.headers).toEqual({
      'x-terminal-id': EX.terminalId,
      'x-terminal-session': EX.sessionId,
      'x-terminal-timestamp': String(EX.timestamp),
      'x-terminal-seq': String(EX.seq),
      'x-terminal-mac': EX.mac,
      'content-type': 'application/json',
    });
    expect(new TextDecoder().decode(init.body as Uint8Array)).toBe(EX.body);
  });
});

describe('the sign-on worked example', () => {
  const devicePrivate = createPrivateKey({ key: Buffer.from(`302e020100300506032b657004220420${EX.deviceSeed}`, 'hex'), format: 'der', type: 'pkcs8' });
  const x25519 = (d: string, x: string) => createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(d, 'hex').toString('base64url'), x }, format: 'jwk' });

  it('signs the documented sign-on string with the device key (RFC 8032 TEST 1)', () => {
    expect(createPublicKey(devicePrivate).export({ format: 'jwk' }).x).toBe(EX.devicePublic);
    expect(toBase64Url(hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'))).toBe(EX.alicePublic); // RFC 7748 §6.1
    const message = signOnString(EX.terminalId, EX.timestamp, EX.alicePublic);
    expect(message).toBe(`XW1-SIGNON\n${EX.terminalId}\n1767225600000\n${EX.alicePublic}`);
    const signature = sign(null, Buffer.from(message), devicePrivate);
    expect(signature.toString('base64url')).toBe(EX.signature);
    expect(verifyEd25519(fromBase64Url(EX.devicePublic)!, utf8(message), signature)).toBe(true);
  });

  it('wraps the documented session keys: X25519 (RFC 7748 §6.1) → HKDF-SHA256 → AES-256-GCM', () => {
    const shared = diffieHellman({ privateKey: x25519(EX.bobPrivate, EX.bobPublic), publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: EX.alicePublic }, format: 'jwk' }) });
    expect(shared.toString('hex')).toBe(EX.shared);
    const info = sessionKeysContext(EX.terminalId, EX.sessionId);
    expect(info).toBe(`XW1-SESSION-KEYS\n${EX.terminalId}\n${EX.sessionId}`);
    const wrapKey = Buffer.from(hkdfSync('sha256', shared, fromBase64Url(EX.salt)!, Buffer.from(info), 32));
    expect(wrapKey.toString('hex')).toBe(EX.wrapKey);
    expect(keyCheckValue('AES128', hex(EX.keys.pin))).toBe(EX.kcv.pin);
    expect(keyCheckValue('HMAC256', hex(EX.keys.mac))).toBe(EX.kcv.mac);
    expect(keyCheckValue('AES256', hex(EX.keys.data))).toBe(EX.kcv.data);
  });

  it('the client unwraps them and checks every KCV (WebCrypto)', async () => {
    const alice = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'X25519', d: Buffer.from(EX.alicePrivate, 'hex').toString('base64url'), x: EX.alicePublic }, { name: 'X25519' }, false, ['deriveBits']);
    const wrapped = { serverPublicKey: EX.bobPublic, salt: EX.salt, iv: EX.iv, ciphertext: EX.ciphertext, kcv: EX.kcv };
    const keys = await unwrapSessionKeys(alice, EX.terminalId, EX.sessionId, wrapped);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', keys.mac, new Uint8Array(utf8(CANONICAL))));
    expect(toBase64Url(mac)).toBe(EX.mac);
    // A wrong check value, or the keys bound to another session, are refused.
    await expect(unwrapSessionKeys(alice, EX.terminalId, EX.sessionId, { ...wrapped, kcv: { ...EX.kcv, data: '000000' } })).rejects.toThrow(/data key/);
    await expect(unwrapSessionKeys(alice, EX.terminalId, 'another-session', wrapped)).rejects.toThrow();
  });

  it('the document shows every one of these values', () => {
    for (const value of [EX.bodySha256, EX.macHex, EX.mac, EX.devicePublic, EX.alicePublic, EX.bobPublic, EX.shared, EX.signature, EX.salt, EX.iv, EX.wrapKey, EX.ciphertext, EX.kcv.pin, EX.kcv.mac, EX.kcv.data, EX.keys.pin, EX.keys.mac, EX.keys.data, EX.deviceSeed, EX.alicePrivate, EX.bobPrivate]) {
      expect(DOC).toContain(value);
    }
    expect(DOC).toContain(['```', ...CANONICAL.split('\n'), '```'].join('\n'));
  });
});

describe('encodings', () => {
  it('base64url: unpadded, strict, one spelling per value', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(fromBase64Url('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(fromBase64Url('-_8=')).toBeNull(); // padded: not the one spelling
    expect(fromBase64Url('+/8')).toBeNull();
    expect(fromBase64Url('-_9')).toBeNull(); // stray low bits: not the canonical spelling
    expect(fromBase64Url('A')).toBeNull();
    expect(fromBase64Url('')).toEqual(new Uint8Array(0));
  });

  it('hex round trip and refusals', () => {
    expect(toHex(fromHex('00ff10Ab')!)).toBe('00ff10ab');
    expect(fromHex('abc')).toBeNull();
    expect(fromHex('zz')).toBeNull();
  });

  it('AES-CMAC of one block from AES-CBC matches RFC 4493 §4 Example 2', async () => {
    const t = await aesCmacBlock(hex('2b7e151628aed2a6abf7158809cf4f3c'), hex('6bc1bee22e409f96e93d7e117393172a'));
    expect(toHex(t)).toBe('070a16b46b4d4144f79bdd9dd04a287c');
  });
});
