import { describe, expect, it } from 'vitest';
import {
  BundleError,
  bundleSigningString,
  compareSemver,
  importSigningKey,
  isSafeBundlePath,
  verifyBundle,
  type BundleExpectation,
} from '../terminal/src/core/bundle';
import { fromBase64Url, ownBytes, sha256Hex, toBase64, toBase64Url, toHex } from '../terminal/src/core/encoding';
import { packBundle } from '../terminal/build/pack';

/**
 * Bundle verification on the terminal (node's WebCrypto, the same API the browser has): the
 * primitives against published vectors, then every way a bundle must be refused.
 */

const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// RFC 8032 §7.1, TEST 1 (https://www.rfc-editor.org/rfc/rfc8032#section-7.1).
const RFC8032_T1 = {
  secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  signature:
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};
// RFC 8032 §7.1, TEST 2: the one-byte message 0x72.
const RFC8032_T2 = {
  public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  signature:
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
};

/** The RFC 8032 TEST 1 private key as a WebCrypto signing key (PKCS #8 = fixed prefix ‖ seed, RFC 8410 §7). */
async function platformKey(): Promise<CryptoKey> {
  const pkcs8 = hex(`302e020100300506032b657004220420${RFC8032_T1.secret}`);
  return crypto.subtle.importKey('pkcs8', ownBytes(pkcs8), { name: 'Ed25519' }, false, ['sign']);
}

async function publish(bundleBytes: Uint8Array, app: string, version: string): Promise<BundleExpectation> {
  const digest = await sha256Hex(bundleBytes);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await platformKey(), ownBytes(utf8(bundleSigningString(app, version, digest)))));
  return { app, version, digest, signature: toBase64Url(signature), size: bundleBytes.byteLength };
}

function bundleJson(overrides: Record<string, unknown> = {}): Uint8Array {
  return utf8(
    JSON.stringify({
      format: 'xiaowei-bundle/1',
      app: 'info',
      version: '1.2.0',
      entry: 'index.html',
      files: { 'index.html': toBase64(utf8('<!doctype html><p>info</p>')), 'assets/app.js': toBase64(utf8('console.log(1)')) },
      ...overrides,
    }),
  );
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BundleError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('primitives against published vectors', () => {
  it('SHA-256 of "abc" (FIPS 180-2, appendix B.1)', async () => {
    expect(await sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('verifies RFC 8032 TEST 1 and TEST 2 with WebCrypto Ed25519 and refuses a flipped bit', async () => {
    for (const [vector, message] of [
      [RFC8032_T1, new Uint8Array(0)],
      [RFC8032_T2, hex('72')],
    ] as const) {
      const key = await importSigningKey(toBase64Url(hex(vector.public)));
      const signature = hex(vector.signature);
      expect(await crypto.subtle.verify({ name: 'Ed25519' }, key, ownBytes(signature), ownBytes(message))).toBe(true);
      signature[0]! ^= 1;
      expect(await crypto.subtle.verify({ name: 'Ed25519' }, key, ownBytes(signature), ownBytes(message))).toBe(false);
    }
  });

  it('our PKCS #8 import of the RFC 8032 TEST 1 key reproduces its published signature', async () => {
    const signature = await crypto.subtle.sign({ name: 'Ed25519' }, await platformKey(), new Uint8Array(0));
    expect(toHex(new Uint8Array(signature))).toBe(RFC8032_T1.signature);
  });

  it('round-trips base64url (RFC 4648 §10 vectors, url alphabet)', () => {
    expect(toBase64Url(utf8('foobar'))).toBe('Zm9vYmFy');
    expect(toBase64Url(utf8('fooba'))).toBe('Zm9vYmE');
    expect(new TextDecoder().decode(fromBase64Url('Zm9vYg'))).toBe('foob');
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    expect(() => fromBase64Url('a+b')).toThrow();
  });
});

describe('bundle verification', () => {
  const signingPublic = toBase64Url(hex(RFC8032_T1.public));

  it('accepts a signed bundle and decodes its files', async () => {
    const bytes = bundleJson();
    const bundle = await verifyBundle(bytes, await publish(bytes, 'info', '1.2.0'), await importSigningKey(signingPublic));
    expect(bundle.entry).toBe('index.html');
    expect(new TextDecoder().decode(bundle.files['assets/app.js'])).toBe('console.log(1)');
    expect(bundle.digest).toBe(await sha256Hex(bytes));
  });

  it('the canonical string is exactly XW1-BUNDLE, app, version, digest on their own lines', () => {
    expect(bundleSigningString('info', '1.2.0', 'ab'.repeat(32))).toBe(`XW1-BUNDLE\ninfo\n1.2.0\n${'ab'.repeat(32)}`);
  });

  it('refuses bytes changed after signing (one byte), keeping nothing', async () => {
    const bytes = bundleJson();
    const expected = await publish(bytes, 'info', '1.2.0');
    const tampered = bytes.slice();
    tampered[tampered.length - 3]! ^= 0x01;
    expect(await refusal(verifyBundle(tampered, expected, await importSigningKey(signingPublic)))).toBe('digest_mismatch');
  });

  it('refuses tampered bytes that come with their own (recomputed) digest: the signature no longer matches', async () => {
    const bytes = bundleJson();
    const expected = await publish(bytes, 'info', '1.2.0');
    const tampered = bundleJson({ files: { 'index.html': toBase64(utf8('<p>evil</p>')) } });
    const forged = { ...expected, digest: await sha256Hex(tampered), size: tampered.byteLength };
    expect(await refusal(verifyBundle(tampered, forged, await importSigningKey(signingPublic)))).toBe('bad_signature');
  });

  it('refuses a signature by another key, a signature for another version, and garbage signatures', async () => {
    const bytes = bundleJson();
    const expected = await publish(bytes, 'info', '1.2.0');
    const other = await importSigningKey(toBase64Url(hex(RFC8032_T2.public)));
    expect(await refusal(verifyBundle(bytes, expected, other))).toBe('bad_signature');
    const key = await importSigningKey(signingPublic);
    // The server claims 1.3.0 with the 1.2.0 signature: the signed string names the version.
    expect(await refusal(verifyBundle(bytes, { ...expected, version: '1.3.0' }, key))).toBe('bad_signature');
    expect(await refusal(verifyBundle(bytes, { ...expected, signature: 'not*base64' }, key))).toBe('bad_signature');
    expect(await refusal(verifyBundle(bytes, { ...expected, signature: toBase64Url(new Uint8Array(64)) }, key))).toBe('bad_signature');
    expect(await refusal(verifyBundle(bytes, { ...expected, signature: expected.signature.slice(0, 20) }, key))).toBe('bad_signature');
  });

  it('refuses a size that differs from the announced one before hashing', async () => {
    const bytes = bundleJson();
    const expected = await publish(bytes, 'info', '1.2.0');
    expect(await refusal(verifyBundle(bytes, { ...expected, size: bytes.byteLength + 1 }, await importSigningKey(signingPublic)))).toBe('size_mismatch');
  });

  it('refuses signed bundles whose contents are wrong: other app, other version, traversal, no entry, bad format', async () => {
    const key = await importSigningKey(signingPublic);
    const cases: [Uint8Array, string][] = [
      [bundleJson({ app: 'cashier' }), 'wrong_app'],
      [bundleJson({ version: '1.2.1' }), 'wrong_version'],
      [bundleJson({ files: { '../evil.js': toBase64(utf8('x')), 'index.html': 'AA==' } }), 'bad_path'],
      [bundleJson({ files: { '/abs.js': 'AA==', 'index.html': 'AA==' } }), 'bad_path'],
      [bundleJson({ files: { 'a\\b.js': 'AA==', 'index.html': 'AA==' } }), 'bad_path'],
      [bundleJson({ entry: 'main.html' }), 'no_entry'],
      [bundleJson({ format: 'xiaowei-bundle/2' }), 'bad_format'],
      [bundleJson({ files: { 'index.html': 'not base64!' } }), 'bad_format'],
      [utf8('[1,2,3]'), 'bad_format'],
      [Uint8Array.of(0xff, 0xfe, 0x00), 'bad_format'],
    ];
    for (const [bytes, code] of cases) {
      expect(await refusal(verifyBundle(bytes, await publish(bytes, 'info', '1.2.0'), key)), code).toBe(code);
    }
  });

  it('allows plain relative paths only', () => {
    expect(isSafeBundlePath('index.html')).toBe(true);
    expect(isSafeBundlePath('assets/index-3f2a.js')).toBe(true);
    for (const bad of ['', '.', '..', 'a/../b', './a', 'a//b', '/a', 'a/', 'a\\b', '.hidden', 'a b', 'x'.repeat(201)]) {
      expect(isSafeBundlePath(bad), bad).toBe(false);
    }
  });

  it('the build packer writes bundles the terminal accepts, with deterministic bytes', async () => {
    const files = { 'index.html': utf8('<!doctype html>'), 'assets/a.js': utf8('1') };
    const a = packBundle({ app: 'info', version: '2.0.0', entry: 'index.html', files });
    const b = packBundle({ app: 'info', version: '2.0.0', entry: 'index.html', files: { 'assets/a.js': files['assets/a.js'], 'index.html': files['index.html'] } });
    expect(toHex(a)).toBe(toHex(b));
    const bundle = await verifyBundle(a, await publish(a, 'info', '2.0.0'), await importSigningKey(signingPublic));
    expect(Object.keys(bundle.files).sort()).toEqual(['assets/a.js', 'index.html']);
    expect(() => packBundle({ app: 'info', version: '2.0', entry: 'index.html', files })).toThrow();
    expect(() => packBundle({ app: 'info', version: '2.0.0', entry: 'main.html', files })).toThrow();
  });
});

describe('semver precedence (semver.org §11)', () => {
  it('orders the specification example chain', () => {
    const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0'];
    for (let i = 1; i < chain.length; i++) expect(compareSemver(chain[i - 1]!, chain[i]!), `${chain[i - 1]} < ${chain[i]}`).toBeLessThan(0);
    expect(compareSemver('1.0.0+build.1', '1.0.0+build.2')).toBe(0);
    expect(compareSemver('01.0.0', '1.0.0')).toBeLessThan(0);
  });
});
