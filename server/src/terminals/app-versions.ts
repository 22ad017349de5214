import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { compareVersions, isSemver } from './apps-semver.js';
import type { AppsDb } from './apps-tables.js';

/**
 * App versions: one signed bundle each, immutable once published (only approval is recorded
 * later). "Latest approved" is the highest approved version by SemVer precedence.
 */

export interface AppVersion {
  id: string;
  app_id: string;
  version: string;
  /** SHA-256 of the exact bundle bytes, lower-case hex. */
  digest: string;
  /** Ed25519 by the platform signing key over the canonical string (bundles.ts), base64url. */
  signature: string;
  size: number;
  entry: string;
  file_count: number;
  min_shell_version: string | null;
  release_notes_zh: string | null;
  release_notes_en: string | null;
  approved: boolean;
  approved_at: number | null;
  approved_by: string | null;
  created_by: string;
  created_at: number;
}

export function toVersion(r: AppsDb['app_versions']): AppVersion {
  return {
    ...r,
    size: toSafeInt(r.size),
    file_count: toSafeInt(r.file_count),
    approved: r.approved_at !== null,
    approved_at: toSafeIntOrNull(r.approved_at),
    created_at: toSafeInt(r.created_at),
  };
}

/** Versions of one app, newest (highest precedence) first. */
export async function listVersions(db: Kysely<AppsDb>, appId: string): Promise<AppVersion[]> {
  const rows = await db.selectFrom('app_versions').selectAll().where('app_id', '=', appId).execute();
  return rows.map(toVersion).sort((a, b) => compareVersions(b.version, a.version));
}

export async function getVersion(db: Kysely<AppsDb>, appId: string, version: string): Promise<AppVersion | undefined> {
  if (!isSemver(version)) return undefined;
  const r = await db.selectFrom('app_versions').selectAll().where('app_id', '=', appId).where('version', '=', version).executeTakeFirst();
  return r ? toVersion(r) : undefined;
}

export async function getVersionById(db: Kysely<AppsDb>, id: string): Promise<AppVersion | undefined> {
  const r = await db.selectFrom('app_versions').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toVersion(r) : undefined;
}

export async function requireVersion(db: Kysely<AppsDb>, appId: string, version: string): Promise<AppVersion> {
  const v = await getVersion(db, appId, version);
  if (!v) throw new XiaoweiError('app_version_not_found');
  return v;
}

/** Marks a version approved ("latest approved" set items then offer it); approving twice changes nothing. */
export async function approveVersion(db: Kysely<AppsDb>, appId: string, version: string, by: string, now: number): Promise<AppVersion> {
  const v = await requireVersion(db, appId, version);
  await db.updateTable('app_versions').set({ approved_at: now, approved_by: by }).where('id', '=', v.id).where('approved_at', 'is', null).execute();
  return (await getVersionById(db, v.id))!;
}

/**
 * Bundle bytes are immutable per version id, so every process may keep recent ones in memory:
 * a rollout to thousands of terminals then reads each bundle from the database once, not once
 * per download. Bounded by total bytes.
 */
export class BundleCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  async get(db: Kysely<AppsDb>, versionId: string): Promise<Buffer | undefined> {
    const hit = this.entries.get(versionId);
    if (hit) {
      // Most recently used last: Map keeps insertion order.
      this.entries.delete(versionId);
      this.entries.set(versionId, hit);
      return hit;
    }
    const row = await db.selectFrom('app_version_bundles').select('bytes').where('version_id', '=', versionId).executeTakeFirst();
    if (!row) return undefined;
    const bytes = Buffer.isBuffer(row.bytes) ? row.bytes : Buffer.from(row.bytes);
    if (bytes.length <= this.maxBytes / 4) {
      this.entries.set(versionId, bytes);
      this.bytes += bytes.length;
      while (this.bytes > this.maxBytes) {
        const [oldest, buf] = this.entries.entries().next().value!;
        this.entries.delete(oldest);
        this.bytes -= buf.length;
      }
    }
    return bytes;
  }
}
