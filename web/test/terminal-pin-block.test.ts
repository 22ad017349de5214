import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decipherFormat4, encipherFormat4 as serverEncipher } from '../../server/src/crypto/pin-block.js';
import { encipherFormat4, panField4 } from '../terminal/src/core/pin-block';

/**
 * The cashier's PIN pad builds ISO 9564 format 4 blocks in the shell with WebCrypto; the server's
 * crypto service (the reference implementation) must read the PIN back from them.
 */
async function sessionPinKey(raw: Uint8Array): Promise<CryptoKey> {
  // As the terminal client imports it after sign-on: AES-CBC, encrypt only, non-extractable.
  return crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'AES-CBC' }, false, ['encrypt']);
}

describe('format 4 PIN block (browser implementation)', () => {
  it('is what the server builds for the same key, PIN, PAN and random fill', async () => {
    const raw = randomBytes(16);
    const key = await sessionPinKey(raw);
    const random = randomBytes(8);
    for (const [pin, pan] of [
      ['1234', '6222021234567890128'],
      ['123456', '6217000010001234'],
      ['000000000000', '621700001234'],
      ['98765', '6200000000000000007'],
    ] as const) {
      const ours = await encipherFormat4(key, pin, pan, random);
      expect(ours).toMatch(/^[0-9A-F]{32}$/);
      expect(ours).toBe(serverEncipher(raw, pin, pan, random).toString('hex').toUpperCase());
    }
  });

  it('the server deciphers the PIN; a random fill makes every block different', async () => {
    const raw = randomBytes(16);
    const key = await sessionPinKey(raw);
    const pan = '6222021234567890128';
    const a = await encipherFormat4(key, '246810', pan);
    const b = await encipherFormat4(key, '246810', pan);
    expect(a).not.toBe(b);
    expect(decipherFormat4(raw, Buffer.from(a, 'hex'), pan)).toBe('246810');
    expect(decipherFormat4(raw, Buffer.from(b, 'hex'), pan)).toBe('246810');
    // Another PAN (or key) does not give the PIN back.
    expect(() => decipherFormat4(raw, Buffer.from(a, 'hex'), '6222021234567890136')).toThrow();
    expect(() => decipherFormat4(randomBytes(16), Buffer.from(a, 'hex'), pan)).toThrow();
  });

  it('refuses what is not a PIN or a PAN', async () => {
    const key = await sessionPinKey(randomBytes(16));
    await expect(encipherFormat4(key, '123', '6222021234567890128')).rejects.toThrow();
    await expect(encipherFormat4(key, '12a4', '6222021234567890128')).rejects.toThrow();
    await expect(encipherFormat4(key, '1234', '62220212345')).rejects.toThrow();
    expect(() => panField4('12345678901234567890')).toThrow();
  });
});
