import type { Kysely } from 'kysely';
import { scopeHas } from '../identity/access.js';
import { getParty } from '../identity/parties.js';
import type { IdentityTables } from '../identity/tables.js';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import type { FleetTables } from './fleet-tables.js';

/**
 * Who sees which terminals: staff those whose `org_id` is in their organisation subtree; a
 * merchant-side user only those its party owns. Everything else answers `not_found`, so nobody
 * learns that another branch's or merchant's terminal exists.
 */
export type FleetScope = { kind: 'staff'; orgIds: readonly string[] } | { kind: 'owner'; partyId: string | null };

export function fleetScope(actor: Actor): FleetScope {
  return actor.org_scope === null ? { kind: 'owner', partyId: actor.merchant_id } : { kind: 'staff', orgIds: [...actor.org_scope] };
}

/** Staff only: the fleet's write routes act for a bank organisation, never for a merchant. */
export function requireStaff(actor: Actor): void {
  if (actor.org_scope === null) throw new XiaoweiError('forbidden');
}

/** May the actor see a terminal with these owner and organisation? */
export async function canSeeTerminal(
  db: Kysely<FleetTables>,
  actor: Actor,
  t: { owner_party_id: string; org_id: string },
): Promise<boolean> {
  if (actor.org_scope === null) return actor.merchant_id !== null && actor.merchant_id === t.owner_party_id;
  return scopeHas(db as unknown as Kysely<IdentityTables>, actor, t.org_id);
}

/** May the staff actor manage things of this organisation? */
export async function staffHasOrg(db: Kysely<FleetTables>, actor: Actor, orgId: string): Promise<boolean> {
  return actor.org_scope !== null && scopeHas(db as unknown as Kysely<IdentityTables>, actor, orgId);
}

/** Party roles that hold terminals: shops, service-point agents and produce buyers. */
export const OWNER_ROLES = ['merchant', 'agent', 'buyer'] as const;

/** The organisation a would-be owner belongs to, or why it cannot own a terminal for this actor. */
export async function resolveOwner(
  db: Kysely<FleetTables>,
  actor: Actor,
  partyId: string,
): Promise<{ org_id: string } | { problem: 'terminal_owner_invalid' }> {
  const party = await getParty(db as unknown as Kysely<IdentityTables>, partyId);
  if (!party || !(await staffHasOrg(db, actor, party.org_id))) return { problem: 'terminal_owner_invalid' };
  if (!party.roles.some((r) => (OWNER_ROLES as readonly string[]).includes(r))) return { problem: 'terminal_owner_invalid' };
  return { org_id: party.org_id };
}
