import { createHash, createPrivateKey, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCryptoService, verifyEd25519 } from '../crypto/index.js';
import { XiaoweiError } from '../platform/errors.js';
import { Secrets } from '../platform/secrets.js';
import { MAX_BUNDLE_BYTES, buildBundle, bundleDigest, bundleSigningString, isBundlePath, parseBundle, signBundle, verifyBundle } from './bundles.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof XiaoweiError) return `${error.code}: ${error.detail ?? ''}`;
    throw error;
  }
  return 'ok';
};

const doc = (over: Record<string, unknown>): Buffer =>
  Buffer.from(JSON.stringify({ format: 'xiaowei-bundle/1', app: 'cashier', version: '1.0.0', entry: 'index.html', files: { 'index.html': 'PGgxPmhpPC9oMT4=' }, ...over }));

describe('app bundles', () => {
  it('parses a bundle', () => {
    const bytes = buildBundle('cashier', '1.2.0-rc.1', { 'index.html': '<h1>收银</h1>', 'assets/app.js': 'console.log(1)', 'assets/logo.png': new Uint8Array([137, 80, 78, 71]) });
    const m = parseBundle(bytes);
    expect(m).toMatchObject({ app: 'cashier', version: '1.2.0-rc.1', entry: 'index.html' });
    expect(m.files.get('index.html')).toBe(Buffer.byteLength('<h1>收银</h1>'));
    expect(m.files.get('assets/logo.png')).toBe(4);
  });

  it('refuses paths that could leave the bundle or hide in it', () => {
    for (const bad of ['../etc/passwd', 'a/../b', './a', '/abs', 'a//b', 'a/', '.hidden', 'a\\b', 'a%2e%2e/b', 'a b', 'ä.js', '', 'x'.repeat(201)]) {
      expect(isBundlePath(bad), bad).toBe(false);
      expect(codeOf(() => parseBundle(doc({ files: { 'index.html': 'AA==', [bad]: 'AA==' } }))), bad).toMatch(/^bundle_invalid/);
    }
    for (const good of ['index.html', 'assets/app-1.2.js', 'a/b/c_d.v2.css', 'Z9']) expect(isBundlePath(good), good).toBe(true);
    expect(codeOf(() => parseBundle(doc({ files: { 'index.html': 'AA==', 'A.js': 'AA==', 'a.js': 'AA==' } })))).toMatch(/differ only by case/);
  });

  it('refuses anything not in the format', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('not json'), /not JSON/],
      [Buffer.from([0xff, 0xfe, 0x00]), /not UTF-8/],
      [Buffer.from('[]'), /not a JSON object/],
      [doc({ format: 'xiaowei-bundle/2' }), /format/],
      [doc({ extra: 1 }), /unknown field/],
      [doc({ app: 'Cashier' }), /app must be/],
      [doc({ version: '1.0' }), /version must be/],
      [doc({ version: '01.0.0' }), /version must be/],
      [doc({ entry: 'main.html' }), /entry must name/],
      [doc({ entry: 'app.js', files: { 'app.js': 'AA==' } }), /\.html/],
      [doc({ files: {} }), /files is empty/],
      [doc({ files: [] }), /files must be an object/],
      [doc({ files: { 'index.html': 'not base64!' } }), /not base64/],
      [doc({ files: { 'index.html': 'AAA' } }), /not base64/],
      [doc({ files: { 'index.html': 5 } }), /not base64/],
    ];
    for (const [bytes, message] of cases) expect(codeOf(() => parseBundle(bytes)), bytes.toString().slice(0, 60)).toMatch(message);
  });

  it('refuses a bundle over the size limit before reading it', () => {
    const big = Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20);
    expect(codeOf(() => parseBundle(big))).toBe(`bundle_too_large: ${MAX_BUNDLE_BYTES}`);
    // Exactly at the limit is still read (and here refused only for not being JSON).
    expect(codeOf(() => parseBundle(Buffer.alloc(MAX_BUNDLE_BYTES, 0x20)))).toMatch(/^bundle_invalid/);
  });

  it('matches the worked example of docs/terminal-protocol.md ("App bundles")', async () => {
    // Key pair of RFC 8032 §7.1 TEST 1 in place of the platform key: Ed25519 is deterministic, so
    // the signature is a fixed value a third party can reproduce.
    const secret = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const publicKey = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: secret.toString('base64url'), x: publicKey.toString('base64url') }, format: 'jwk' });
    const rfcKey = { sign: async (data: Uint8Array) => sign(null, data, privateKey) };

    const bytes = buildBundle('hello', '1.0.0', { 'index.html': '<h1>你好</h1>' });
    const text = bytes.toString('utf8');
    expect(text).toBe('{"format":"xiaowei-bundle/1","app":"hello","version":"1.0.0","entry":"index.html","files":{"index.html":"PGgxPuS9oOWlvTwvaDE+"}}');
    const digest = bundleDigest(bytes);
    const signature = await signBundle(rfcKey, 'hello', '1.0.0', digest);
    expect(verifyBundle(bytes, { app: 'hello', version: '1.0.0', digest, signature }, publicKey)).toEqual({ ok: true });

    const doc = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/terminal-protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## App bundles'));
    expect(section).toContain(text.slice(0, 80));
    expect(section).toContain(`those exact ${bytes.length} bytes`);
    expect(section).toContain(publicKey.toString('base64url'));
    expect(section).toContain(`digest    ${digest}`);
    expect(section).toContain(`signature ${signature}`);
    expect(digest).toBe('9cae8d7dc20b309f9f41e8b71fa4c914f38bb62868b7045b3eb83dd800e4851d');
    expect(signature).toBe('keKx-79aG9D14N-eDsVobH-tBZhSiNBdrwjZ3VlI5QD5nviTs0M3FXtZZ8reg9dRN5H-i-BwNh_tctZ6sCM8BQ');
  });

  it('signs app, version and digest, and a terminal-side check catches any tampering', async () => {
    const crypto = createCryptoService(Secrets.ephemeral());
    const key = await crypto.signingPublicKey();
    const bytes = buildBundle('cashier', '1.0.0', { 'index.html': '<p>ok</p>' });
    const digest = bundleDigest(bytes);
    expect(digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    const signature = await signBundle(crypto, 'cashier', '1.0.0', digest);
    expect(bundleSigningString('cashier', '1.0.0', digest)).toBe(`XW1-BUNDLE\ncashier\n1.0.0\n${digest}`);
    expect(verifyEd25519(key, Buffer.from(`XW1-BUNDLE\ncashier\n1.0.0\n${digest}`), Buffer.from(signature, 'base64url'))).toBe(true);
    const expected = { app: 'cashier', version: '1.0.0', digest, signature };
    expect(verifyBundle(bytes, expected, key)).toEqual({ ok: true });

    // One byte changed after signing.
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0x01;
    expect(verifyBundle(tampered, expected, key)).toEqual({ ok: false, reason: 'digest_mismatch' });
    // A new digest for the changed bytes has no signature behind it.
    expect(verifyBundle(tampered, { ...expected, digest: bundleDigest(tampered) }, key)).toEqual({ ok: false, reason: 'signature_invalid' });
    // The signature binds app and version: it does not carry over to another app or version.
    expect(verifyBundle(bytes, { ...expected, version: '1.0.1' }, key)).toEqual({ ok: false, reason: 'signature_invalid' });
    // Signed by another platform key.
    const other = await createCryptoService(Secrets.ephemeral()).signingPublicKey();
    expect(verifyBundle(bytes, expected, other)).toEqual({ ok: false, reason: 'signature_invalid' });
    // A correctly signed bundle whose content claims to be another version.
    const liar = buildBundle('cashier', '9.9.9', { 'index.html': '<p>x</p>' });
    const liarDigest = bundleDigest(liar);
    const liarSig = await signBundle(crypto, 'cashier', '1.0.0', liarDigest);
    expect(verifyBundle(liar, { app: 'cashier', version: '1.0.0', digest: liarDigest, signature: liarSig }, key)).toEqual({ ok: false, reason: 'manifest_mismatch' });
  });
});
