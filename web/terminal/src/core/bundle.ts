/**
 * App bundles on the terminal: the format (`xiaowei-bundle/1`) and the checks a downloaded bundle
 * must pass before anything of it is stored or run.
 *
 * A bundle is one JSON file `{"format","app","version","entry","files":{path: base64}}`. The server
 * publishes, per version, the SHA-256 digest of the exact bundle bytes and an Ed25519 signature by
 * the platform signing key over `XW1-BUNDLE\n<app>\n<version>\n<digest hex>`. The terminal learned
 * that public key at activation, so a bundle altered anywhere after signing — on the wire, in a
 * proxy cache, in the server's database — is refused: the digest no longer matches the bytes, and
 * no one without the signing key can make a signature for a new digest.
 */
import { fromBase64, fromBase64Url, ownBytes, sha256Hex } from './encoding';

export const BUNDLE_FORMAT = 'xiaowei-bundle/1';
/** Largest bundle the terminal accepts (the server's upload limit is the same order). */
export const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;

/** Why a bundle was refused: reported to the server as the `failed` detail. */
export type BundleRefusal =
  | 'too_large'
  | 'size_mismatch'
  | 'digest_mismatch'
  | 'bad_signature'
  | 'bad_format'
  | 'wrong_app'
  | 'wrong_version'
  | 'bad_path'
  | 'no_entry';

export class BundleError extends Error {
  constructor(
    readonly code: BundleRefusal,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'BundleError';
  }
}

/** What the server announced for a version (apps list or `update_available` payload). */
export interface BundleExpectation {
  app: string;
  version: string;
  /** SHA-256 of the bundle bytes, lower-case hex. */
  digest: string;
  /** Ed25519 over the canonical string, base64url. */
  signature: string;
  /** Bytes, when announced. */
  size?: number | undefined;
}

export interface VerifiedBundle {
  app: string;
  version: string;
  digest: string;
  entry: string;
  files: Record<string, Uint8Array>;
}

// The server's app code rule (server/src/terminals/apps.ts).
export const APP_CODE = /^[a-z][a-z0-9-]{1,31}$/;
// Strict SemVer 2.0.0 (semver.org, the suggested regular expression), without build metadata
// kept apart: a version string is compared whole.
export const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** Relative paths of plain segments: no `..`, no leading `/`, no backslash, no empty segment. */
const PATH_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function isSafeBundlePath(path: string): boolean {
  if (path.length === 0 || path.length > 200) return false;
  return path.split('/').every((segment) => PATH_SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** The exact bytes the platform key signs for a bundle. */
export function bundleSigningString(app: string, version: string, digestHex: string): string {
  return `XW1-BUNDLE\n${app}\n${version}\n${digestHex}`;
}

/** The platform signing public key (raw Ed25519, base64url, as activation answers it). */
export async function importSigningKey(publicKeyB64url: string): Promise<CryptoKey> {
  const raw = fromBase64Url(publicKeyB64url);
  if (raw.length !== 32) throw new BundleError('bad_signature', 'signing key is not 32 bytes');
  return crypto.subtle.importKey('raw', ownBytes(raw), { name: 'Ed25519' }, false, ['verify']);
}

/**
 * Checks, in this order: size, digest of the exact bytes, the signature over (app, version,
 * digest), then the JSON inside (format, same app and version, safe paths, an entry file). Only
 * then are the files decoded. Throws BundleError; never returns a half-checked bundle.
 */
export async function verifyBundle(bytes: Uint8Array, expected: BundleExpectation, signingKey: CryptoKey): Promise<VerifiedBundle> {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) throw new BundleError('too_large', String(bytes.byteLength));
  if (expected.size !== undefined && expected.size !== bytes.byteLength) {
    throw new BundleError('size_mismatch', `${bytes.byteLength} ≠ ${expected.size}`);
  }
  const digest = await sha256Hex(bytes);
  if (digest !== expected.digest.toLowerCase()) throw new BundleError('digest_mismatch');

  let signature: Uint8Array;
  try {
    signature = fromBase64Url(expected.signature);
  } catch {
    throw new BundleError('bad_signature', 'not base64url');
  }
  const signed = new TextEncoder().encode(bundleSigningString(expected.app, expected.version, digest));
  const valid = signature.length === 64 && (await crypto.subtle.verify({ name: 'Ed25519' }, signingKey, ownBytes(signature), signed));
  if (!valid) throw new BundleError('bad_signature');

  // Signed by the platform: from here on a failure is a publishing mistake, not an attack, but
  // the terminal still refuses what it cannot run safely.
  return parseBundle(bytes, expected.app, expected.version, digest);
}

/** Parses and checks the JSON of a bundle whose bytes are already trusted. */
export function parseBundle(bytes: Uint8Array, app: string, version: string, digest: string): VerifiedBundle {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BundleError('bad_format', 'not UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BundleError('bad_format', 'not an object');
  const record = json as Record<string, unknown>;
  if (record.format !== BUNDLE_FORMAT) throw new BundleError('bad_format', 'format');
  if (record.app !== app) throw new BundleError('wrong_app', String(record.app));
  if (record.version !== version) throw new BundleError('wrong_version', String(record.version));
  const entry = record.entry;
  const files = record.files;
  if (typeof entry !== 'string' || typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new BundleError('bad_format', 'entry/files');
  }
  const decoded: Record<string, Uint8Array> = {};
  for (const [path, content] of Object.entries(files as Record<string, unknown>)) {
    if (!isSafeBundlePath(path)) throw new BundleError('bad_path', path);
    if (typeof content !== 'string') throw new BundleError('bad_format', path);
    try {
      decoded[path] = fromBase64(content);
    } catch {
      throw new BundleError('bad_format', `${path}: not base64`);
    }
  }
  if (!isSafeBundlePath(entry) || !(entry in decoded)) throw new BundleError('no_entry', entry);
  return { app, version, digest, entry, files: decoded };
}

/**
 * Compares two SemVer strings by precedence (semver.org §11); build metadata is ignored.
 * Returns < 0, 0 or > 0. Invalid versions sort first so they never look newer.
 */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 1; i <= 3; i++) {
    const diff = Number(pa[i]) - Number(pb[i]);
    if (diff !== 0) return diff;
  }
  const preA = pa[4];
  const preB = pb[4];
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  const idsA = preA.split('.');
  const idsB = preB.split('.');
  for (let i = 0; i < Math.max(idsA.length, idsB.length); i++) {
    const x = idsA[i];
    const y = idsB[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff;
    } else if (nx !== ny) {
      return nx ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}
