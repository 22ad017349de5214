import type { Kysely } from 'kysely';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REGION_LEVELS, type RegionLevel, type RegionTables } from '../identity/regions.js';

/**
 * server/reference/qingdao-regions.json, found relative to this module: src/seed/ (tsx, vitest)
 * and dist/seed/ (after tsc) both sit two levels below server/.
 */
export const QINGDAO_REGIONS_FILE = fileURLToPath(new URL('../../reference/qingdao-regions.json', import.meta.url));

/** One division as the reference file gives it. */
export interface ReferenceRegion {
  code: string;
  name: string;
  level: RegionLevel;
  parent: string | null;
  en?: string;
}

let cached: readonly ReferenceRegion[] | undefined;

/** The Qingdao divisions (city, 10 districts, 141 towns, 2,120 villages), checked once and cached. */
export function loadQingdaoRegions(): readonly ReferenceRegion[] {
  if (cached) return cached;
  const parsed = JSON.parse(fs.readFileSync(QINGDAO_REGIONS_FILE, 'utf8')) as { regions?: unknown };
  if (!Array.isArray(parsed.regions)) throw new Error(`${QINGDAO_REGIONS_FILE}: no "regions" array`);
  const codes = new Set<string>();
  const regions = parsed.regions.map((raw: unknown, i): ReferenceRegion => {
    const r = raw as Partial<ReferenceRegion>;
    const ok =
      typeof r.code === 'string' &&
      /^\d{4,12}$/.test(r.code) &&
      typeof r.name === 'string' &&
      r.name.length > 0 &&
      REGION_LEVELS.includes(r.level as RegionLevel) &&
      (r.parent === null || (typeof r.parent === 'string' && r.code.startsWith(r.parent) && codes.has(r.parent))) &&
      (r.en === undefined || typeof r.en === 'string') &&
      !codes.has(r.code);
    if (!ok) throw new Error(`${QINGDAO_REGIONS_FILE}: region #${i} is malformed or out of order: ${JSON.stringify(raw)}`);
    codes.add(r.code!);
    return r as ReferenceRegion;
  });
  cached = regions;
  return regions;
}

/** Rows per INSERT: 5 parameters each stays far below SQLite's and PostgreSQL's limits. */
const CHUNK = 500;

/**
 * Loads the reference data that every installation needs (today: the administrative divisions).
 * Idempotent: inserts missing rows only, never changes existing ones. Returns how many were added.
 */
export async function seedReference(db: Kysely<RegionTables>): Promise<number> {
  const regions = loadQingdaoRegions();
  let added = 0;
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < regions.length; i += CHUNK) {
      const rows = regions
        .slice(i, i + CHUNK)
        .map((r) => ({ code: r.code, name: r.name, name_en: r.en ?? null, level: r.level, parent_code: r.parent }));
      const result = await trx
        .insertInto('regions')
        .values(rows)
        .onConflict((oc) => oc.column('code').doNothing())
        .executeTakeFirst();
      added += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
  });
  return added;
}
