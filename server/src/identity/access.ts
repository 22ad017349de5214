import type { Kysely } from 'kysely';
import type { Actor } from '../platform/http/actor.js';
import type { IdentityTables } from './tables.js';
import { subtreeOf } from './organisations.js';

/**
 * Whether an actor may see data owned by `ownerId` (a party or an organisation). Staff see
 * owners in their organisation subtree; a merchant-side user sees only their own party.
 */
export async function canSeeOwner(db: Kysely<IdentityTables>, actor: Actor, ownerId: string | null): Promise<boolean> {
  if (!ownerId) return actor.org_scope !== null && actor.role === 'admin';
  if (actor.org_scope === null) return actor.merchant_id === ownerId;
  if (actor.org_scope.has(ownerId)) return true;
  const party = await db.selectFrom('parties').select('org_id').where('id', '=', ownerId).executeTakeFirst();
  return party !== undefined && scopeHas(db, actor, party.org_id);
}

/** Owner ids a merchant-side actor may see, or null for staff (who filter by organisation). */
export function ownOwnerIds(actor: Actor): string[] | null {
  return actor.org_scope === null ? (actor.merchant_id ? [actor.merchant_id] : []) : null;
}

/** Owner ids visible to the actor, or null for staff whose scope is the whole bank. */
export async function visibleOwners(db: Kysely<IdentityTables>, actor: Actor): Promise<string[] | null> {
  if (actor.org_scope === null) return actor.merchant_id ? [actor.merchant_id] : [];
  const root = await db.selectFrom('organisations').select('id').where('parent_id', 'is', null).execute();
  if (root.every((r) => actor.org_scope!.has(r.id))) return null;
  const orgs = [...actor.org_scope];
  const parties = await db.selectFrom('parties').select('id').where('org_id', 'in', orgs).execute();
  return [...orgs, ...parties.map((p) => p.id)];
}

/**
 * Is the organisation inside the staff actor's scope? A miss re-reads the subtree once, because an
 * organisation added through another process may not be in this process's cached scope yet.
 */
export async function scopeHas(db: Kysely<IdentityTables>, actor: Actor, orgId: string): Promise<boolean> {
  if (actor.org_scope === null) return false;
  if (actor.org_scope.has(orgId)) return true;
  return (await subtreeOf(db, actor.org_id)).has(orgId);
}

