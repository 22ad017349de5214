import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { IdentityTables } from './tables.js';

export const ORG_KINDS = ['bank', 'branch', 'service_point'] as const;
export type OrgKind = (typeof ORG_KINDS)[number];

export interface Organisation {
  id: string;
  parent_id: string | null;
  kind: OrgKind;
  code: string;
  name: string;
  name_en: string | null;
  region_code: string | null;
  created_at: number;
}

const CHILD_KIND: Record<OrgKind, OrgKind | undefined> = { bank: 'branch', branch: 'service_point', service_point: undefined };

function toOrg(r: IdentityTables['organisations']): Organisation {
  return { ...r, kind: r.kind as OrgKind, created_at: toSafeInt(r.created_at) };
}

export async function listOrganisations(db: Kysely<IdentityTables>, scope?: ReadonlySet<string>): Promise<Organisation[]> {
  let q = db.selectFrom('organisations').selectAll().orderBy('code');
  if (scope) q = q.where('id', 'in', [...scope]);
  return (await q.execute()).map(toOrg);
}

export async function getOrganisation(db: Kysely<IdentityTables>, id: string): Promise<Organisation | undefined> {
  const r = await db.selectFrom('organisations').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toOrg(r) : undefined;
}

/** Ids of an organisation and everything under it (bank → branches → service points). */
export async function subtreeOf(db: Kysely<IdentityTables>, rootId: string): Promise<Set<string>> {
  const all = await db.selectFrom('organisations').select(['id', 'parent_id']).execute();
  const children = new Map<string, string[]>();
  for (const o of all) {
    if (!o.parent_id) continue;
    const list = children.get(o.parent_id) ?? [];
    list.push(o.id);
    children.set(o.parent_id, list);
  }
  const out = new Set<string>([rootId]);
  const stack = [rootId];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  return out;
}

/**
 * Subtrees are read on every staff request; they change only when an organisation is added, which
 * clears this process's cache at once (other processes catch up within SCOPE_TTL_MS).
 */
const SCOPE_TTL_MS = 10_000;
const scopeCache = new Map<string, { ids: Set<string>; until: number }>();

export async function cachedSubtreeOf(db: Kysely<IdentityTables>, rootId: string): Promise<Set<string>> {
  const cached = scopeCache.get(rootId);
  if (cached && cached.until > Date.now()) return cached.ids;
  const ids = await subtreeOf(db, rootId);
  scopeCache.set(rootId, { ids, until: Date.now() + SCOPE_TTL_MS });
  return ids;
}

export interface NewOrganisation {
  parent_id: string | null;
  kind: OrgKind;
  code: string;
  name: string;
  name_en?: string | null;
  region_code?: string | null;
}

/** Adds an organisation; a bank has no parent, a branch sits under a bank, a service point under a branch. */
export async function createOrganisation(db: Kysely<IdentityTables>, input: NewOrganisation): Promise<Organisation> {
  if (input.kind === 'bank') {
    if (input.parent_id) throw new XiaoweiError('validation_failed', 'a bank has no parent organisation');
  } else {
    const parent = input.parent_id ? await getOrganisation(db, input.parent_id) : undefined;
    if (!parent) throw new XiaoweiError('validation_failed', 'parent_id must name an existing organisation');
    if (CHILD_KIND[parent.kind] !== input.kind) {
      throw new XiaoweiError('validation_failed', `a ${input.kind} cannot sit under a ${parent.kind}`);
    }
  }
  const existing = await db.selectFrom('organisations').select('id').where('code', '=', input.code).executeTakeFirst();
  if (existing) throw new XiaoweiError('conflict', `organisation code ${input.code} exists`);
  const row = {
    id: newId(),
    parent_id: input.parent_id,
    kind: input.kind,
    code: input.code,
    name: input.name,
    name_en: input.name_en ?? null,
    region_code: input.region_code ?? null,
    created_at: Date.now(),
  };
  await db.insertInto('organisations').values(row).execute();
  scopeCache.clear();
  return row;
}
