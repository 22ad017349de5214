import type { Kysely } from 'kysely';

/**
 * Administrative divisions (national statistics codes: city 4 digits, district 6, town 9,
 * village 12). Reference data, loaded by seed/reference.ts from server/reference/; read-only here.
 */
export const REGION_LEVELS = ['city', 'district', 'town', 'village'] as const;
export type RegionLevel = (typeof REGION_LEVELS)[number];

export interface RegionTables {
  regions: {
    code: string;
    name: string;
    name_en: string | null;
    level: string;
    parent_code: string | null;
  };
}

export interface Region {
  code: string;
  name: string;
  name_en: string | null;
  level: RegionLevel;
  parent_code: string | null;
}

export interface RegionQuery {
  /** Children of this region only. */
  parent?: string | undefined;
  level?: string | undefined;
}

function toRegion(r: RegionTables['regions']): Region {
  return { code: r.code, name: r.name, name_en: r.name_en, level: r.level as RegionLevel, parent_code: r.parent_code };
}

/** Regions matching the filters, ordered by code (each unit before its children); no filter = all. */
export async function listRegions(db: Kysely<RegionTables>, q: RegionQuery = {}): Promise<Region[]> {
  let query = db.selectFrom('regions').select(['code', 'name', 'name_en', 'level', 'parent_code']).orderBy('code');
  if (q.parent !== undefined) query = query.where('parent_code', '=', q.parent);
  if (q.level !== undefined) query = query.where('level', '=', q.level);
  return (await query.execute()).map(toRegion);
}

export async function getRegion(db: Kysely<RegionTables>, code: string): Promise<Region | undefined> {
  const r = await db
    .selectFrom('regions')
    .select(['code', 'name', 'name_en', 'level', 'parent_code'])
    .where('code', '=', code)
    .executeTakeFirst();
  return r ? toRegion(r) : undefined;
}
