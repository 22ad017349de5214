import { createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../platform/config.js';
import { Secrets } from '../platform/secrets.js';
import { CryptoError } from './errors.js';
import { createCryptoService, keyHandleFromBlob, SoftwareHsm, verifyEd25519, type KeyHandle } from './index.js';
import { keyCheckValue } from './kcv.js';
import { LruCache } from './key-cache.js';
import { hmacSha256 } from './mac.js';
import { buildFormat0, decipherFormat0, decipherFormat4, encipherFormat0, encipherFormat4 } from './pin-block.js';
import { tdesEncryptEcb, toHex } from './primitives.js';
import { ed25519FromSeed } from './signing.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');
const MASTER = 'a1'.repeat(32);
const secrets = (hex = MASTER): Secrets => Secrets.load({ hexKey: hex, dataDir: '/nonexistent' });

/** Splits a clear key into two random components, as a ceremony would hand them out. */
function components(keyHex: string): [string, string] {
  const key = h(keyHex);
  const first = randomBytes(key.length);
  return [toHex(first), toHex(key.map((b, i) => b ^ first[i]!))];
}

async function rejects(promise: Promise<unknown>, code: string): Promise<CryptoError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
  return error as CryptoError;
}

describe('key handles', () => {
  it('generates every allowed type/algorithm with a 6-hex KCV that matches the key', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tak = await hsm.generateKey('TAK', 'HMAC256');
    expect(tak).toMatchObject({ type: 'TAK', algorithm: 'HMAC256', lmkVersion: 1 });
    expect(tak.kcv).toMatch(/^[0-9A-F]{6}$/);
    expect(tak.blob).toMatch(/^XW1\.1\.TAK\.HMAC256\.[0-9A-F]{6}\./);
    for (const [type, algorithm] of [
      ['TMK', 'TDES2'],
      ['ZMK', 'AES256'],
      ['TPK', 'AES128'],
      ['ZPK', 'TDES3'],
      ['ZAK', 'AES128'],
      ['TDK', 'AES256'],
      ['PVK', 'TDES2'],
      ['BDK', 'AES128'],
    ] as const) {
      const handle = await hsm.generateKey(type, algorithm);
      expect(handle).toMatchObject({ type, algorithm });
    }
    await rejects(hsm.generateKey('PVK', 'AES128'), 'key_type_mismatch');
    await rejects(hsm.generateKey('TPK', 'HMAC256'), 'key_type_mismatch');
  });

  it('imports components XORed together; the published X9.24-1 test key has KCV 08D7B4', async () => {
    const hsm = new SoftwareHsm(secrets());
    const handle = await hsm.importComponents('ZPK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    expect(handle.kcv).toBe('08D7B4');
    await rejects(hsm.importComponents('ZPK', 'TDES2', ['0123456789ABCDEF0123456789ABCDEF']), 'key_invalid'); // K1 = K2: single DES
    await rejects(hsm.importComponents('ZPK', 'TDES2', ['0123']), 'input_invalid');
    await rejects(hsm.importComponents('ZPK', 'TDES2', []), 'input_invalid');
  });

  it('a handle cannot be relabelled: changed labels, a changed sealed header, a changed byte all fail', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tak = await hsm.importComponents('TAK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    const data = Buffer.from('Now is the time for all ', 'ascii');
    expect(toHex(await hsm.generateMac(tak, 'ISO9797-1-ALG3', data))).toBe('A1C72E74EA3FA9B6');

    // 1. Only the labels the caller holds are changed: the sealed ones say TAK.
    const asTpk: KeyHandle = { ...tak, type: 'TPK' };
    await rejects(
      hsm.translatePin({ pinBlock: Buffer.alloc(8), from: asTpk, fromFormat: 0, to: asTpk, toFormat: 0, pan: '4111111111111111' }),
      'key_unusable',
    );
    // 2. The sealed header is changed too: the AES-GCM additional data no longer authenticates.
    const fresh = new SoftwareHsm(secrets()); // no cached copy of the original blob
    const relabelled = tak.blob.replace('.TAK.', '.TPK.');
    await rejects(fresh.generateMac(keyHandleFromBlob(relabelled), 'ISO9797-1-ALG3', data), 'key_unusable');
    const otherKcv = tak.blob.replace(`.${tak.kcv}.`, '.000000.');
    await rejects(fresh.generateMac({ ...tak, blob: otherKcv, kcv: '000000' }, 'ISO9797-1-ALG3', data), 'key_unusable');
    const otherVersion = tak.blob.replace('XW1.1.', 'XW1.2.');
    await rejects(fresh.generateMac({ ...tak, blob: otherVersion, lmkVersion: 2 }, 'ISO9797-1-ALG3', data), 'key_unusable');
    // 3. A ciphertext byte is changed.
    const parts = tak.blob.split('.');
    const sealed = Buffer.from(parts[6]!, 'base64url');
    sealed[0] = sealed[0]! ^ 1;
    parts[6] = sealed.toString('base64url');
    await rejects(fresh.generateMac({ ...tak, blob: parts.join('.') }, 'ISO9797-1-ALG3', data), 'key_unusable');
    // 4. Not a handle at all, or one from another master key.
    await rejects(fresh.generateMac({ ...tak, blob: 'nonsense' }, 'ISO9797-1-ALG3', data), 'key_unusable');
    await rejects(new SoftwareHsm(secrets('b2'.repeat(32))).generateMac(tak, 'ISO9797-1-ALG3', data), 'key_unusable');
    // The untouched handle still works in a fresh process.
    expect(toHex(await fresh.generateMac(tak, 'ISO9797-1-ALG3', data))).toBe('A1C72E74EA3FA9B6');
  });

  it('keyHandleFromBlob rebuilds a full handle from the stored blob', async () => {
    const hsm = new SoftwareHsm(secrets());
    const handle = await hsm.generateKey('ZAK', 'AES256');
    expect(keyHandleFromBlob(handle.blob)).toEqual(handle);
    expect(() => keyHandleFromBlob('XW1.1.TAK.NOPE.000000.x.y')).toThrow(CryptoError);
  });

  it('rotates the LMK without downtime: any version opens, new handles use the current one, rewrap moves forward', async () => {
    const v1 = new SoftwareHsm(secrets(), { lmkVersion: 1 });
    const v2 = new SoftwareHsm(secrets(), { lmkVersion: 2 });
    const data = randomBytes(100);
    const old = await v1.generateKey('TAK', 'HMAC256');
    const mac = await v1.generateMac(old, 'HMAC-SHA256', data);
    // A process already on version 2 opens version-1 handles…
    expect(await v2.verifyMac(old, 'HMAC-SHA256', data, mac)).toBe(true);
    const moved = await v2.rewrap(old);
    expect(moved).toMatchObject({ type: 'TAK', algorithm: 'HMAC256', kcv: old.kcv, lmkVersion: 2 });
    expect(moved.blob).not.toBe(old.blob);
    expect(await v2.generateMac(moved, 'HMAC-SHA256', data)).toEqual(mac);
    // …and a process still on version 1 opens version-2 handles during the rolling change.
    expect(await v1.verifyMac(moved, 'HMAC-SHA256', data, mac)).toBe(true);
    expect(await v2.rewrap(moved)).toEqual(moved);
    expect((await v2.generateKey('TAK', 'HMAC256')).lmkVersion).toBe(2);
    // The two versions really are different LMKs: swapping the version label breaks the seal.
    await rejects(
      new SoftwareHsm(secrets()).generateMac(
        { ...moved, blob: moved.blob.replace('XW1.2.', 'XW1.1.'), lmkVersion: 1 },
        'HMAC-SHA256',
        data,
      ),
      'key_unusable',
    );
  });

  it('the factory and the configuration carry the LMK version (XIAOWEI_LMK_VERSION ≥ 1, default 1)', async () => {
    expect(createCryptoService(secrets()).lmkVersion).toBe(1);
    expect(createCryptoService(secrets(), { lmkVersion: 3 }).lmkVersion).toBe(3);
    expect(() => createCryptoService(secrets(), { lmkVersion: 0 })).toThrow(CryptoError);
    expect(loadConfig({}).XIAOWEI_LMK_VERSION).toBe(1);
    expect(loadConfig({ XIAOWEI_LMK_VERSION: '4' }).XIAOWEI_LMK_VERSION).toBe(4);
    expect(() => loadConfig({ XIAOWEI_LMK_VERSION: '0' })).toThrow(/XIAOWEI_LMK_VERSION/);
  });
});

describe('keys under key-encrypting keys', () => {
  it('RFC 3394 §4.1: a 128-bit key wrapped under a 128-bit KEK, imported and exported again', async () => {
    const hsm = new SoftwareHsm(secrets());
    const kek = await hsm.importComponents('ZMK', 'AES128', ['000102030405060708090A0B0C0D0E0F']);
    const kcv = keyCheckValue('AES128', h('00112233445566778899AABBCCDDEEFF'));
    const cryptogram = '1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5';
    const zpk = await hsm.importUnder('ZPK', 'AES128', cryptogram, kek, kcv);
    expect(zpk.kcv).toBe(kcv);
    expect(await hsm.exportUnder(zpk, kek)).toEqual({ cryptogram, kcv });
    await rejects(hsm.importUnder('ZPK', 'AES128', cryptogram, kek, '000000'), 'kcv_mismatch');
    await rejects(hsm.importUnder('ZPK', 'AES128', cryptogram.replace(/^1F/, '1E'), kek, kcv), 'key_invalid');
  });

  it('TDES keys travel TDES-ECB under a TDES ZMK; the check value guards the import', async () => {
    const hsm = new SoftwareHsm(secrets());
    const zmk = await hsm.importComponents('ZMK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    const zpk = await hsm.generateKey('ZPK', 'TDES2');
    const exported = await hsm.exportUnder(zpk, zmk);
    expect(exported.kcv).toBe(zpk.kcv);
    // The peer's HSM (another master key) imports it under the same ZMK.
    const peer = new SoftwareHsm(secrets('c3'.repeat(32)));
    const peerZmk = await peer.importComponents('ZMK', 'TDES2', ['0123456789ABCDEFFEDCBA9876543210']);
    const imported = await peer.importUnder('ZPK', 'TDES2', exported.cryptogram, peerZmk, exported.kcv);
    expect(imported.kcv).toBe(zpk.kcv);
    // Same key on both sides: a PIN block made under ours opens under theirs.
    const tpkClear = randomBytes(16);
    const tpk = await hsm.importComponents('TPK', 'AES128', [toHex(tpkClear)]);
    const pan = '4111111111111111';
    const underZpk = await hsm.translatePin({
      pinBlock: encipherFormat4(tpkClear, '4321', pan),
      from: tpk,
      fromFormat: 4,
      to: zpk,
      toFormat: 0,
      pan,
    });
    const peerTpkClear = randomBytes(32);
    const peerTpk = await peer.importComponents('TPK', 'AES256', [toHex(peerTpkClear)]);
    const atPeer = await peer.translatePin({ pinBlock: underZpk, from: imported, fromFormat: 0, to: peerTpk, toFormat: 4, pan });
    expect(decipherFormat4(peerTpkClear, atPeer, pan)).toBe('4321');
    await rejects(peer.importUnder('ZPK', 'TDES2', exported.cryptogram, peerZmk, '123456'), 'kcv_mismatch');
  });

  it('only KEKs wrap, and never a key stronger than themselves', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tdesZmk = await hsm.generateKey('ZMK', 'TDES2');
    const aes128Zmk = await hsm.generateKey('ZMK', 'AES128');
    await rejects(hsm.exportUnder(await hsm.generateKey('ZPK', 'AES128'), tdesZmk), 'key_type_mismatch');
    await rejects(hsm.exportUnder(await hsm.generateKey('ZAK', 'HMAC256'), aes128Zmk), 'key_type_mismatch');
    await rejects(hsm.exportUnder(await hsm.generateKey('ZPK', 'TDES2'), await hsm.generateKey('ZPK', 'TDES2')), 'key_type_mismatch');
    await rejects(hsm.exportUnder(tdesZmk, tdesZmk), 'key_type_mismatch');
  });
});

describe('MACs through the service', () => {
  it('ISO 9797-1 Annex B retail MAC with padding methods 1 (default) and 2; truncated MACs verify', async () => {
    const hsm = new SoftwareHsm(secrets());
    const zak = await hsm.importComponents('ZAK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    const data = Buffer.from('Now is the time for it', 'ascii');
    expect(toHex(await hsm.generateMac(zak, 'ISO9797-1-ALG3', data))).toBe('2E2B1428CC78254F');
    expect(toHex(await hsm.generateMac(zak, 'ISO9797-1-ALG3', data, { padding: 2 }))).toBe('5A692CE64F404145');
    expect(await hsm.verifyMac(zak, 'ISO9797-1-ALG3', data, h('2E2B1428CC78254F'))).toBe(true);
    expect(await hsm.verifyMac(zak, 'ISO9797-1-ALG3', data, h('2E2B1428'))).toBe(true);
    expect(await hsm.verifyMac(zak, 'ISO9797-1-ALG3', data, h('2E2B14'))).toBe(false);
    expect(await hsm.verifyMac(zak, 'ISO9797-1-ALG3', data, h('5A692CE64F404145'))).toBe(false);
    expect(await hsm.verifyMac(zak, 'ISO9797-1-ALG3', data, h('5A692CE64F404145'), { padding: 2 })).toBe(true);
  });

  it('RFC 4493 example 2 through an AES TAK; HMAC-SHA256 cross-checked with node:crypto', async () => {
    const hsm = new SoftwareHsm(secrets());
    const cmacKey = await hsm.importComponents('TAK', 'AES128', ['2b7e151628aed2a6abf7158809cf4f3c']);
    expect(await hsm.generateMac(cmacKey, 'AES-CMAC', h('6bc1bee22e409f96e93d7e117393172a'))).toEqual(
      h('070a16b46b4d4144f79bdd9dd04a287c'),
    );
    const clear = randomBytes(32);
    const hmacKey = await hsm.importComponents('TAK', 'HMAC256', [toHex(clear)]);
    const data = randomBytes(300);
    const mac = hmacSha256(clear, data);
    expect(await hsm.generateMac(hmacKey, 'HMAC-SHA256', data)).toEqual(mac);
    expect(await hsm.verifyMac(hmacKey, 'HMAC-SHA256', data, mac)).toBe(true);
    expect(await hsm.verifyMac(hmacKey, 'HMAC-SHA256', data, mac.subarray(0, 16))).toBe(true);
    expect(await hsm.verifyMac(hmacKey, 'HMAC-SHA256', data, mac.subarray(0, 15))).toBe(false);
    const forged = Buffer.from(mac);
    forged[31] = forged[31]! ^ 0x80;
    expect(await hsm.verifyMac(hmacKey, 'HMAC-SHA256', data, forged)).toBe(false);
    expect(await hsm.verifyMac(hmacKey, 'HMAC-SHA256', Buffer.concat([data, h('00')]), mac)).toBe(false);
  });

  it('key-type discipline: a TPK makes no MAC, a TAK of one algorithm serves no other', async () => {
    const hsm = new SoftwareHsm(secrets());
    const data = Buffer.from('x');
    await rejects(hsm.generateMac(await hsm.generateKey('TPK', 'TDES2'), 'ISO9797-1-ALG3', data), 'key_type_mismatch');
    await rejects(hsm.generateMac(await hsm.generateKey('TDK', 'AES128'), 'AES-CMAC', data), 'key_type_mismatch');
    await rejects(hsm.verifyMac(await hsm.generateKey('TAK', 'TDES2'), 'HMAC-SHA256', data, Buffer.alloc(32)), 'key_type_mismatch');
    await rejects(hsm.generateMac(await hsm.generateKey('TAK', 'TDES3'), 'ISO9797-1-ALG3', data), 'key_type_mismatch');
    await rejects(hsm.generateMac(await hsm.generateKey('TAK', 'HMAC256'), 'AES-CMAC', data), 'key_type_mismatch');
  });
});

describe('PINs through the service', () => {
  const pan = '4111111111111111';

  it('X9.24-3 supplement format 4 block under an AES TPK, translated to format 0 under a TDES ZPK', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tpk = await hsm.importComponents('TPK', 'AES128', components('AF8CB133A78F8DC2D1359F18527593FB'));
    const zpkClear = '0123456789ABCDEFFEDCBA9876543210';
    const zpk = await hsm.importComponents('ZPK', 'TDES2', components(zpkClear));
    const out = await hsm.translatePin({
      pinBlock: h('A912150391AB65A67E52883D81CE2D15'),
      from: tpk,
      fromFormat: 4,
      to: zpk,
      toFormat: 0,
      pan,
    });
    expect(out).toEqual(tdesEncryptEcb(h(zpkClear), buildFormat0('1234', pan)));
    // And back to format 4 under another AES key.
    const tpk2Clear = toHex(randomBytes(32));
    const tpk2 = await hsm.importComponents('TPK', 'AES256', [tpk2Clear]);
    const back = await hsm.translatePin({ pinBlock: out, from: zpk, fromFormat: 0, to: tpk2, toFormat: 4, pan });
    expect(decipherFormat4(h(tpk2Clear), back, pan)).toBe('1234');
  });

  it('DUKPT: ANSI X9.24-1:2009 Annex A (TDES, KSN FFFF9876543210E00001–3) and X9.24-3:2017 supplement (AES-128 BDK)', async () => {
    const hsm = new SoftwareHsm(secrets());
    const zpkClear = h('FEDCBA98765432100123456789ABCDEF');
    const zpk = await hsm.importComponents('ZPK', 'TDES2', [toHex(zpkClear)]);
    const tdesBdk = await hsm.importComponents('BDK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    for (const [ksn, block] of [
      ['FFFF9876543210E00001', '1B9C1845EB993A7A'],
      ['FFFF9876543210E00002', '10A01C8D02C69107'],
      ['FFFF9876543210E00003', '18DC07B94797B466'],
    ] as const) {
      const from = { dukpt: { bdk: tdesBdk, ksn, scheme: 'tdes' as const } };
      const out = await hsm.translatePin({ pinBlock: h(block), from, fromFormat: 0, to: zpk, toFormat: 0, pan: '4012345678909' });
      expect(decipherFormat0(zpkClear, out, '4012345678909')).toBe('1234');
    }
    const aesBdk = await hsm.importComponents('BDK', 'AES128', components('FEDCBA9876543210F1F1F1F1F1F1F1F1'));
    for (const [ksn, block] of [
      ['123456789012345600000001', 'A912150391AB65A67E52883D81CE2D15'],
      ['123456789012345600000002', '52A00503BD34BA1383F6A7EE9FE2547F'],
    ] as const) {
      const from = { dukpt: { bdk: aesBdk, ksn, scheme: 'aes' as const } };
      const out = await hsm.translatePin({ pinBlock: h(block), from, fromFormat: 4, to: zpk, toFormat: 0, pan });
      expect(decipherFormat0(zpkClear, out, pan)).toBe('1234');
    }
    // A scheme that does not fit the format, a BDK of the wrong algorithm, a bad KSN.
    await rejects(
      hsm.translatePin({
        pinBlock: h('A912150391AB65A67E52883D81CE2D15'),
        from: { dukpt: { bdk: aesBdk, ksn: '123456789012345600000001', scheme: 'aes' } },
        fromFormat: 0,
        to: zpk,
        toFormat: 0,
        pan,
      }),
      'key_type_mismatch',
    );
    await rejects(
      hsm.translatePin({
        pinBlock: h('1B9C1845EB993A7A'),
        from: { dukpt: { bdk: aesBdk, ksn: 'FFFF9876543210E00001', scheme: 'tdes' } },
        fromFormat: 0,
        to: zpk,
        toFormat: 0,
        pan,
      }),
      'key_type_mismatch',
    );
    await rejects(
      hsm.translatePin({
        pinBlock: h('1B9C1845EB993A7A'),
        from: { dukpt: { bdk: tdesBdk, ksn: 'XYZ', scheme: 'tdes' } },
        fromFormat: 0,
        to: zpk,
        toFormat: 0,
        pan,
      }),
      'input_invalid',
    );
    await rejects(
      hsm.translatePin({
        pinBlock: h('1B9C1845EB993A7A'),
        from: { dukpt: { bdk: zpk, ksn: 'FFFF9876543210E00001', scheme: 'tdes' } },
        fromFormat: 0,
        to: zpk,
        toFormat: 0,
        pan,
      }),
      'key_type_mismatch',
    );
  });

  it('IBM 3624 (psec vectors) and Visa PVV (psec vectors): generate at issuance, verify; a wrong PIN is false', async () => {
    const hsm = new SoftwareHsm(secrets());
    const pvk = await hsm.importComponents('PVK', 'TDES2', components('0123456789ABCDEFFEDCBA9876543210'));
    const tpkClear = toHex(randomBytes(16));
    const tpk = await hsm.importComponents('TPK', 'AES128', [tpkClear]);
    const block = (pin: string, p = pan): Buffer => encipherFormat4(h(tpkClear), pin, p);
    const ibm = { decimalisationTable: '1234567890123456', validationData: '1122334455667788' };

    expect(await hsm.generateIbm3624Offset({ pinBlock: block('1234'), key: tpk, format: 4, pan, pvk, ...ibm })).toBe('7710');
    const verifyIbm = (pin: string, offset: string): Promise<boolean> =>
      hsm.verifyPin({ pinBlock: block(pin), key: tpk, format: 4, pan, verification: { method: 'ibm3624', pvk, offset, ...ibm } });
    expect(await verifyIbm('1234', '7710')).toBe(true);
    expect(await verifyIbm('0000', '6586')).toBe(true);
    expect(await verifyIbm('1235', '7710')).toBe(false);
    expect(await verifyIbm('12345', '7710')).toBe(false);

    const pvvPan = '1122334455667788';
    expect(await hsm.generatePvv({ pinBlock: block('4524', pvvPan), key: tpk, format: 4, pan: pvvPan, pvk, pvki: 1 })).toBe('8523');
    const verifyPvv = (pin: string, pvki: number, pvv: string): Promise<boolean> =>
      hsm.verifyPin({
        pinBlock: block(pin, pvvPan),
        key: tpk,
        format: 4,
        pan: pvvPan,
        verification: { method: 'visa-pvv', pvk, pvki, pvv },
      });
    expect(await verifyPvv('4524', 1, '8523')).toBe(true);
    expect(await verifyPvv('1912', 2, '3244')).toBe(true);
    expect(await verifyPvv('4525', 1, '8523')).toBe(false);
    expect(await verifyPvv('4524', 2, '8523')).toBe(false);

    // The default validation data (the PAN) round-trips between issuance and verification.
    const offset = await hsm.generateIbm3624Offset({ pinBlock: block('246810'), key: tpk, format: 4, pan, pvk });
    expect(
      await hsm.verifyPin({ pinBlock: block('246810'), key: tpk, format: 4, pan, verification: { method: 'ibm3624', pvk, offset } }),
    ).toBe(true);
    expect(
      await hsm.verifyPin({ pinBlock: block('246811'), key: tpk, format: 4, pan, verification: { method: 'ibm3624', pvk, offset } }),
    ).toBe(false);
  });

  it('a malformed block is a CryptoError, not false', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tpkClear = h('0123456789ABCDEFFEDCBA9876543210');
    const tpk = await hsm.importComponents('TPK', 'TDES2', [toHex(tpkClear)]);
    const pvk = await hsm.generateKey('PVK', 'TDES2');
    // A format 1 block (control nibble 1) where format 0 is expected.
    const format1 = tdesEncryptEcb(tpkClear, h('141234FFFFFFFFFF'));
    const verification = { method: 'visa-pvv' as const, pvk, pvki: 1, pvv: '1234' };
    await rejects(hsm.verifyPin({ pinBlock: format1, key: tpk, format: 0, pan, verification }), 'pin_block_invalid');
    await rejects(hsm.verifyPin({ pinBlock: Buffer.alloc(7), key: tpk, format: 0, pan, verification }), 'pin_block_invalid');
    await rejects(hsm.verifyPin({ pinBlock: Buffer.alloc(16), key: tpk, format: 4, pan, verification }), 'key_type_mismatch');
    expect(await hsm.verifyPin({ pinBlock: encipherFormat0(tpkClear, '1234', pan), key: tpk, format: 0, pan, verification })).toBe(false);
  });

  it('key-type discipline: a TAK verifies no PIN, a PVK encrypts no PIN block, a TPK is no PVK', async () => {
    const hsm = new SoftwareHsm(secrets());
    const tak = await hsm.generateKey('TAK', 'TDES2');
    const tpk = await hsm.generateKey('TPK', 'TDES2');
    const pvk = await hsm.generateKey('PVK', 'TDES2');
    const ibm = (key: KeyHandle, verificationKey: KeyHandle): Promise<boolean> =>
      hsm.verifyPin({
        pinBlock: Buffer.alloc(8),
        key,
        format: 0,
        pan,
        verification: { method: 'ibm3624', pvk: verificationKey, offset: '0000' },
      });
    await rejects(ibm(tak, pvk), 'key_type_mismatch');
    await rejects(ibm(pvk, pvk), 'key_type_mismatch');
    await rejects(ibm(tpk, tpk), 'key_type_mismatch');
    await rejects(
      hsm.translatePin({ pinBlock: Buffer.alloc(8), from: tpk, fromFormat: 0, to: tak, toFormat: 0, pan }),
      'key_type_mismatch',
    );
    await rejects(
      hsm.translatePin({
        pinBlock: Buffer.alloc(8),
        from: tpk,
        fromFormat: 0,
        to: await hsm.generateKey('ZMK', 'TDES2'),
        toFormat: 0,
        pan,
      }),
      'key_type_mismatch',
    );
  });
});

describe('no secret in any error message', () => {
  it('errors from bad PINs, blocks, keys and KCVs name no PIN, PAN, block or key', async () => {
    const hsm = new SoftwareHsm(secrets());
    const pin = '975310';
    const pvvPan = '6217000010009753108';
    const keyHex = '0123456789ABCDEFFEDCBA9876543210';
    const tpk = await hsm.importComponents('TPK', 'TDES2', [keyHex]);
    const pvk = await hsm.importComponents('PVK', 'TDES2', ['FEDCBA98765432100123456789ABCDEF']);
    const good = encipherFormat0(h(keyHex), pin, pvvPan);
    const badFill = tdesEncryptEcb(h(keyHex), Buffer.from(buildFormat0(pin, pvvPan).map((b, i) => (i === 7 ? b ^ 1 : b))));
    const attempts: Promise<unknown>[] = [
      hsm.verifyPin({
        pinBlock: badFill,
        key: tpk,
        format: 0,
        pan: pvvPan,
        verification: { method: 'visa-pvv', pvk, pvki: 1, pvv: '1234' },
      }),
      hsm.verifyPin({ pinBlock: good, key: tpk, format: 0, pan: pvvPan, verification: { method: 'visa-pvv', pvk, pvki: 1, pvv: pin } }),
      hsm.verifyPin({
        pinBlock: good,
        key: tpk,
        format: 0,
        pan: pvvPan,
        verification: { method: 'ibm3624', pvk, offset: pin + pin + pin },
      }),
      hsm.verifyPin({ pinBlock: good, key: tpk, format: 0, pan: pvvPan + '9', verification: { method: 'ibm3624', pvk, offset: '0000' } }),
      hsm.translatePin({ pinBlock: good, from: tpk, fromFormat: 0, to: pvk, toFormat: 0, pan: pvvPan }),
      hsm.importComponents('ZPK', 'TDES2', [keyHex.slice(0, 16) + keyHex.slice(0, 16)]),
      hsm.importComponents('ZPK', 'TDES2', [keyHex + 'G']),
      hsm.importUnder('ZPK', 'TDES2', keyHex, await hsm.importComponents('ZMK', 'TDES2', [keyHex]), '000000'),
      hsm.generateMac({ ...tpk, type: 'TAK' }, 'ISO9797-1-ALG3', Buffer.from(pin)),
    ];
    const secretsToHide = [pin, pvvPan, pvvPan.slice(-13, -1), keyHex, keyHex.slice(0, 16), toHex(good), toHex(badFill), MASTER];
    for (const attempt of attempts) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CryptoError);
      const text = `${(error as CryptoError).message} ${(error as CryptoError).stack ?? ''}`.toUpperCase();
      for (const secret of secretsToHide) expect(text).not.toContain(secret.toUpperCase());
    }
  });
});

describe('terminal session keys', () => {
  /** The terminal side, written independently of the service: X25519, HKDF-SHA256, AES-256-GCM. */
  function unwrap(
    terminalPrivate: KeyObject,
    wrapped: { serverPublicKey: string; salt: string; iv: string; ciphertext: string },
    context: string,
  ) {
    const serverPublic = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: wrapped.serverPublicKey }, format: 'jwk' });
    const shared = diffieHellman({ privateKey: terminalPrivate, publicKey: serverPublic });
    const key = Buffer.from(hkdfSync('sha256', shared, Buffer.from(wrapped.salt, 'base64url'), Buffer.from(context, 'utf8'), 32));
    const sealed = Buffer.from(wrapped.ciphertext, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(wrapped.iv, 'base64url'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as { pin: string; mac: string; data: string };
  }

  it('round-trips with a terminal-side X25519 key; the clear keys match the handles', async () => {
    const hsm = new SoftwareHsm(secrets());
    const terminal = generateKeyPairSync('x25519');
    const raw = Buffer.from(terminal.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const context = 'XW1-SIGNON\nterminal-42\nsession-7';
    const issued = await hsm.issueTerminalSessionKeys(raw, context);
    expect(issued.pin).toMatchObject({ type: 'TPK', algorithm: 'AES128' });
    expect(issued.mac).toMatchObject({ type: 'TAK', algorithm: 'HMAC256' });
    expect(issued.data).toMatchObject({ type: 'TDK', algorithm: 'AES256' });
    for (const field of Object.values(issued.wrapped)) expect(field).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(issued.wrapped.serverPublicKey, 'base64url')).toHaveLength(32);

    const clear = unwrap(terminal.privateKey, issued.wrapped, context);
    expect(keyCheckValue('AES128', h(clear.pin))).toBe(issued.pin.kcv);
    expect(keyCheckValue('HMAC256', h(clear.mac))).toBe(issued.mac.kcv);
    expect(keyCheckValue('AES256', h(clear.data))).toBe(issued.data.kcv);
    // The terminal MACs a request with its clear key; the server verifies with the handle.
    const request = Buffer.from('XW1-HMAC-SHA256\nPOST\n/api/v1/terminal/heartbeat\n1700000000000\n1\nsession-7\n\nabc', 'utf8');
    expect(await hsm.verifyMac(issued.mac, 'HMAC-SHA256', request, hmacSha256(h(clear.mac), request))).toBe(true);
    // A PIN block the terminal makes under its PIN key translates on the server.
    const zpk = await hsm.generateKey('ZPK', 'AES128');
    await expect(
      hsm.translatePin({
        pinBlock: encipherFormat4(h(clear.pin), '8080', '6217000010001234567'),
        from: issued.pin,
        fromFormat: 4,
        to: zpk,
        toFormat: 4,
        pan: '6217000010001234567',
      }),
    ).resolves.toHaveLength(16);

    // Another context (or another terminal) cannot unwrap.
    expect(() => unwrap(terminal.privateKey, issued.wrapped, context + 'x')).toThrow();
    expect(() => unwrap(generateKeyPairSync('x25519').privateKey, issued.wrapped, context)).toThrow();
  });

  it('refuses a terminal key that is not a usable X25519 public key', async () => {
    const hsm = new SoftwareHsm(secrets());
    await rejects(hsm.issueTerminalSessionKeys(Buffer.alloc(31), 'ctx'), 'input_invalid');
    await rejects(hsm.issueTerminalSessionKeys(Buffer.alloc(32), 'ctx'), 'input_invalid'); // small-order point (RFC 7748 §6.1)
    const ok = Buffer.from(generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
    await rejects(hsm.issueTerminalSessionKeys(ok, ''), 'input_invalid');
  });
});

describe('platform signing key (Ed25519)', () => {
  it('RFC 8032 §7.1 TEST 1: seed → public key, signature, and verifyEd25519', () => {
    const pair = ed25519FromSeed(h('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(pair.publicKey.toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = h(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verifyEd25519(pair.publicKey, Buffer.alloc(0), signature)).toBe(true);
    expect(verifyEd25519(pair.publicKey, Buffer.from([0]), signature)).toBe(false);
  });

  it('every process derives the same key from the master key; signatures verify; junk is just invalid', async () => {
    const a = new SoftwareHsm(secrets());
    const b = new SoftwareHsm(secrets(), { lmkVersion: 2 });
    const other = new SoftwareHsm(secrets('d4'.repeat(32)));
    const publicKey = await a.signingPublicKey();
    expect(publicKey).toHaveLength(32);
    expect(await b.signingPublicKey()).toEqual(publicKey);
    expect(await other.signingPublicKey()).not.toEqual(publicKey);
    const data = Buffer.from('XW1-BUNDLE\ninfo\n1.0.0\n' + 'ab'.repeat(32), 'utf8');
    const signature = await b.sign(data);
    expect(verifyEd25519(publicKey, data, signature)).toBe(true);
    expect(verifyEd25519(publicKey, Buffer.concat([data, h('00')]), signature)).toBe(false);
    expect(verifyEd25519(await other.signingPublicKey(), data, signature)).toBe(false);
    expect(verifyEd25519(publicKey.subarray(0, 31), data, signature)).toBe(false);
    expect(verifyEd25519(publicKey, data, signature.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(Buffer.alloc(32, 0xff), data, signature)).toBe(false);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry and reports it', () => {
    const evicted: number[] = [];
    const cache = new LruCache<number>(2, (v) => evicted.push(v));
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(evicted).toEqual([2]);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('a small key cache still serves operations that open several keys', async () => {
    const hsm = new SoftwareHsm(secrets(), { cacheSize: 1 });
    const keys = await Promise.all(Array.from({ length: 40 }, () => hsm.generateKey('TAK', 'AES128')));
    const data = randomBytes(64);
    const macs = await Promise.all(keys.map((k) => hsm.generateMac(k, 'AES-CMAC', data)));
    expect(await Promise.all(keys.map((k, i) => hsm.verifyMac(k, 'AES-CMAC', data, macs[i]!)))).toEqual(keys.map(() => true));
    const zmk = await hsm.generateKey('ZMK', 'AES256');
    const exported = await hsm.exportUnder(keys[0]!, zmk);
    expect((await hsm.importUnder('TAK', 'AES128', exported.cryptogram, zmk, exported.kcv)).kcv).toBe(keys[0]!.kcv);
    expect(await hsm.generateMac(keys[0]!, 'AES-CMAC', data)).toEqual(macs[0]);
  });
});
