import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { verifyEd25519, type CryptoService } from '../crypto/index.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { createApp, getAppByCode, getApp, isAppCode, type App, type NewApp } from './apps.js';
import { compareVersions, isSemver, MAX_VERSION_LENGTH } from './apps-semver.js';
import type { AppsDb } from './apps-tables.js';
import { toVersion, type AppVersion } from './app-versions.js';

/**
 * App bundles (docs/terminal-protocol.md, "App bundles"): one JSON file
 *   {"format":"xiaowei-bundle/1","app":"<code>","version":"<semver>","entry":"index.html",
 *    "files":{"<path>":"<base64>",…}}
 * The digest is SHA-256 of the exact bytes as uploaded; the platform signs, with Ed25519, the
 * canonical string `XW1-BUNDLE\n<app>\n<version>\n<digest hex>`. A terminal checks both before it
 * installs, so neither the network nor the database can slip it other code.
 */

export const BUNDLE_FORMAT = 'xiaowei-bundle/1';
export const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;
export const MAX_BUNDLE_FILES = 2000;
export const MAX_BUNDLE_PATH = 200;

const TOP_LEVEL_KEYS = ['format', 'app', 'version', 'entry', 'files'];
// Path segments of letters, digits, '.', '_' and '-' that do not start with a dot: no '..', no
// '.', no hidden files, no backslash, no percent-escapes, no absolute paths.
const SEGMENT_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
// A plain character-class run (a grouped repetition would overflow the regex stack on 20 MiB).
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with padding (RFC 4648 §4): whole quanta, '=' only at the end. */
function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64_RE.test(text);
}

export interface BundleManifest {
  app: string;
  version: string;
  entry: string;
  /** Path → decoded size in bytes. */
  files: Map<string, number>;
}

function invalid(detail: string): XiaoweiError {
  return new XiaoweiError('bundle_invalid', detail.slice(0, 200));
}

/** Shows a path from the bundle in an error; JSON escapes control and lone surrogate characters. */
function shown(path: string): string {
  return JSON.stringify(path.slice(0, 80));
}

export function isBundlePath(path: string): boolean {
  if (path.length === 0 || path.length > MAX_BUNDLE_PATH) return false;
  return path.split('/').every((segment) => SEGMENT_RE.test(segment));
}

/** Checks the bundle bytes against the format; throws `bundle_invalid` / `bundle_too_large`. */
export function parseBundle(bytes: Uint8Array): BundleManifest {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new XiaoweiError('bundle_too_large', String(MAX_BUNDLE_BYTES));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid('not UTF-8 text');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('not a JSON object');
  const obj = doc as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!TOP_LEVEL_KEYS.includes(key)) throw invalid(`unknown field ${shown(key)}`);
  if (obj.format !== BUNDLE_FORMAT) throw invalid(`format must be "${BUNDLE_FORMAT}"`);
  const { app, version, entry, files } = obj;
  if (typeof app !== 'string' || !isAppCode(app)) throw invalid('app must be an app code');
  if (typeof version !== 'string' || !isSemver(version)) throw invalid(`version must be a semantic version of at most ${MAX_VERSION_LENGTH} characters`);
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw invalid('files must be an object');
  const sizes = new Map<string, number>();
  const folded = new Set<string>();
  for (const [path, content] of Object.entries(files as Record<string, unknown>)) {
    if (!isBundlePath(path)) throw invalid(`path not allowed: ${shown(path)}`);
    // Paths that differ only by case would collide on a case-insensitive store.
    const lower = path.toLowerCase();
    if (folded.has(lower)) throw invalid(`paths differ only by case: ${shown(path)}`);
    folded.add(lower);
    if (typeof content !== 'string' || !isBase64(content)) throw invalid(`content of ${shown(path)} is not base64`);
    const padding = content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0;
    sizes.set(path, (content.length / 4) * 3 - padding);
    if (sizes.size > MAX_BUNDLE_FILES) throw invalid(`more than ${MAX_BUNDLE_FILES} files`);
  }
  if (sizes.size === 0) throw invalid('files is empty');
  if (typeof entry !== 'string' || !sizes.has(entry)) throw invalid('entry must name one of the files');
  if (!/\.html$/.test(entry)) throw invalid('entry must be an .html file');
  return { app, version, entry, files: sizes };
}

export function bundleDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the platform signs for a bundle (UTF-8). */
export function bundleSigningString(app: string, version: string, digestHex: string): string {
  return `XW1-BUNDLE\n${app}\n${version}\n${digestHex}`;
}

export async function signBundle(crypto: Pick<CryptoService, 'sign'>, app: string, version: string, digestHex: string): Promise<string> {
  const signature = await crypto.sign(Buffer.from(bundleSigningString(app, version, digestHex), 'utf8'));
  return signature.toString('base64url');
}

export type BundleCheck = { ok: true } | { ok: false; reason: 'digest_mismatch' | 'signature_invalid' | 'manifest_mismatch' | 'bundle_invalid' };

/**
 * What a terminal (or the simulator) does before installing: the bytes hash to the digest, the
 * signature verifies with the platform key over app, version and digest, and the bundle says it
 * is that app and version.
 */
export function verifyBundle(bytes: Uint8Array, expected: { app: string; version: string; digest: string; signature: string }, signingPublicKey: Uint8Array): BundleCheck {
  if (bundleDigest(bytes) !== expected.digest) return { ok: false, reason: 'digest_mismatch' };
  const signed = Buffer.from(bundleSigningString(expected.app, expected.version, expected.digest), 'utf8');
  if (!verifyEd25519(signingPublicKey, signed, Buffer.from(expected.signature, 'base64url'))) return { ok: false, reason: 'signature_invalid' };
  let manifest: BundleManifest;
  try {
    manifest = parseBundle(bytes);
  } catch {
    return { ok: false, reason: 'bundle_invalid' };
  }
  if (manifest.app !== expected.app || manifest.version !== expected.version) return { ok: false, reason: 'manifest_mismatch' };
  return { ok: true };
}

/** Builds bundle bytes from files (tests, tools). Keys are written in the order given. */
export function buildBundle(app: string, version: string, files: Record<string, string | Uint8Array>, entry = 'index.html'): Buffer {
  const encoded: Record<string, string> = {};
  for (const [path, content] of Object.entries(files)) encoded[path] = Buffer.from(content).toString('base64');
  return Buffer.from(JSON.stringify({ format: BUNDLE_FORMAT, app, version, entry, files: encoded }), 'utf8');
}

export interface PublishMeta {
  /** User id (or 'seed') recorded as the publisher. */
  created_by: string;
  /** The upload route's app: the bundle must be this app's. */
  app_id?: string;
  /** When the caller names the version too, the bundle must carry it. */
  version?: string;
  /** Creates the app on first publication (the seed command) when no app has the bundle's code. */
  app?: Omit<NewApp, 'code'>;
  min_shell_version?: string | null;
  release_notes_zh?: string | null;
  release_notes_en?: string | null;
  /** Approve at once ("latest approved" set items offer it). */
  approve?: boolean;
  /** µs since the epoch. */
  now?: number;
}

export interface Published {
  app: App;
  version: AppVersion;
  /** False when this exact bundle was already published (publishing is idempotent). */
  created: boolean;
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'));
}

/**
 * Validates, digests, signs and stores a bundle as a new version of its app. Publishing the same
 * bytes again returns the stored version (so the seed may run on every start); different bytes
 * under an existing version — or a version equal in precedence to one, e.g. only its build
 * metadata differs — are refused, because a published version never changes.
 */
export async function publishBundle(db: Kysely<AppsDb>, crypto: Pick<CryptoService, 'sign'>, bundleBytes: Uint8Array, meta: PublishMeta): Promise<Published> {
  const now = meta.now ?? Date.now() * 1000;
  const manifest = parseBundle(bundleBytes);
  if (meta.version !== undefined && meta.version !== manifest.version) throw new XiaoweiError('bundle_mismatch', `the bundle is version ${manifest.version}, not ${meta.version}`);
  if (meta.min_shell_version && !isSemver(meta.min_shell_version)) throw new XiaoweiError('app_version_invalid', 'min_shell_version');

  let app: App | undefined;
  if (meta.app_id !== undefined) {
    app = await getApp(db, meta.app_id);
    if (!app) throw new XiaoweiError('app_not_found');
    if (app.code !== manifest.app) throw new XiaoweiError('bundle_mismatch', `the bundle is for app ${manifest.app}, not ${app.code}`);
  } else {
    app = await getAppByCode(db, manifest.app);
    if (!app && meta.app) {
      try {
        app = await createApp(db, { ...meta.app, code: manifest.app }, now);
      } catch (error) {
        // Another process created it first: use theirs.
        if (!(error instanceof XiaoweiError && error.code === 'app_exists')) throw error;
        app = await getAppByCode(db, manifest.app);
      }
    }
    if (!app) throw new XiaoweiError('app_not_found');
  }

  const digest = bundleDigest(bundleBytes);
  const existing = await sameOrConflicting(db, app.id, manifest.version, digest);
  if (existing) return { app, version: await maybeApprove(db, existing, meta, now), created: false };

  const signature = await signBundle(crypto, manifest.app, manifest.version, digest);
  const row: AppsDb['app_versions'] = {
    id: newId(),
    app_id: app.id,
    version: manifest.version,
    digest,
    signature,
    size: bundleBytes.length,
    entry: manifest.entry,
    file_count: manifest.files.size,
    min_shell_version: meta.min_shell_version ?? null,
    release_notes_zh: meta.release_notes_zh ?? null,
    release_notes_en: meta.release_notes_en ?? null,
    approved_at: meta.approve ? now : null,
    approved_by: meta.approve ? meta.created_by : null,
    created_by: meta.created_by,
    created_at: now,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('app_versions').values(row).execute();
      await trx.insertInto('app_version_bundles').values({ version_id: row.id, bytes: Buffer.from(bundleBytes) }).execute();
    });
  } catch (error) {
    // A concurrent publisher of the same version won the unique (app, version): same bytes are fine.
    if (!isUniqueViolation(error)) throw error;
    const raced = await sameOrConflicting(db, app.id, manifest.version, digest);
    if (!raced) throw error;
    return { app, version: await maybeApprove(db, raced, meta, now), created: false };
  }
  return { app, version: toVersion(row), created: true };
}

/** The stored version with these exact bytes, or a conflict error if the version is taken. */
async function sameOrConflicting(db: Kysely<AppsDb>, appId: string, version: string, digest: string): Promise<AppVersion | undefined> {
  const rows = (await db.selectFrom('app_versions').selectAll().where('app_id', '=', appId).execute()).map(toVersion);
  const same = rows.find((r) => r.version === version);
  if (same) {
    if (same.digest === digest) return same;
    throw new XiaoweiError('app_version_exists', version);
  }
  const equal = rows.find((r) => compareVersions(r.version, version) === 0);
  if (equal) throw new XiaoweiError('app_version_exists', `${version} has the precedence of ${equal.version}`);
  return undefined;
}

async function maybeApprove(db: Kysely<AppsDb>, v: AppVersion, meta: PublishMeta, now: number): Promise<AppVersion> {
  if (!meta.approve || v.approved) return v;
  await db.updateTable('app_versions').set({ approved_at: now, approved_by: meta.created_by }).where('id', '=', v.id).where('approved_at', 'is', null).execute();
  const r = await db.selectFrom('app_versions').selectAll().where('id', '=', v.id).executeTakeFirstOrThrow();
  return toVersion(r);
}
