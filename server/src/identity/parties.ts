import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { Secrets } from '../platform/secrets.js';
import { isValidNationalId, maskNationalId } from './national-id.js';
import type { IdentityTables } from './tables.js';

export const PARTY_KINDS = ['person', 'business'] as const;
export const PARTY_ROLES = ['customer', 'farmer', 'merchant', 'buyer', 'agent'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** A party as the API shows it: the national ID only masked. */
export interface Party {
  id: string;
  kind: (typeof PARTY_KINDS)[number];
  name: string;
  roles: PartyRole[];
  org_id: string;
  national_id_masked: string | null;
  phone: string | null;
  region_code: string | null;
  created_at: number;
}

export interface NewParty {
  kind: Party['kind'];
  name: string;
  roles: PartyRole[];
  org_id: string;
  national_id?: string | null;
  phone?: string | null;
  region_code?: string | null;
}

function toParty(r: IdentityTables['parties']): Party {
  return {
    id: r.id,
    kind: r.kind as Party['kind'],
    name: r.name,
    roles: r.roles.split(',').filter(Boolean) as PartyRole[],
    org_id: r.org_id,
    national_id_masked: maskNationalId(r.national_id_last4),
    phone: r.phone,
    region_code: r.region_code,
    created_at: toSafeInt(r.created_at),
  };
}

/** Registers a party; the national ID is encrypted at rest and indexed by a keyed hash. */
export async function createParty(db: Kysely<IdentityTables>, secrets: Secrets, input: NewParty, id = newId()): Promise<Party> {
  let sealed: Pick<IdentityTables['parties'], 'national_id_enc' | 'national_id_hmac' | 'national_id_last4'> = {
    national_id_enc: null,
    national_id_hmac: null,
    national_id_last4: null,
  };
  if (input.national_id) {
    const nid = input.national_id.toUpperCase();
    if (!isValidNationalId(nid)) throw new XiaoweiError('validation_failed', 'national_id is not a valid 18-character resident ID');
    const hmac = secrets.blindIndex('national_id', nid);
    const clash = await db.selectFrom('parties').select('id').where('national_id_hmac', '=', hmac).executeTakeFirst();
    if (clash) throw new XiaoweiError('conflict', 'a party with this national ID exists');
    sealed = { national_id_enc: secrets.encrypt('national_id', nid), national_id_hmac: hmac, national_id_last4: nid.slice(-4) };
  }
  const org = await db.selectFrom('organisations').select('id').where('id', '=', input.org_id).executeTakeFirst();
  if (!org) throw new XiaoweiError('validation_failed', 'org_id must name an existing organisation');
  const row: IdentityTables['parties'] = {
    id,
    kind: input.kind,
    name: input.name,
    roles: [...new Set(input.roles)].join(','),
    org_id: input.org_id,
    ...sealed,
    phone: input.phone ?? null,
    region_code: input.region_code ?? null,
    created_at: Date.now(),
  };
  await db.insertInto('parties').values(row).execute();
  return toParty(row);
}

export async function getParty(db: Kysely<IdentityTables>, id: string): Promise<Party | undefined> {
  const r = await db.selectFrom('parties').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toParty(r) : undefined;
}

export interface PartyQuery {
  orgIds?: ReadonlySet<string>;
  role?: PartyRole;
  search?: string;
  limit?: number;
  offset?: number;
}

export async function listParties(db: Kysely<IdentityTables>, q: PartyQuery): Promise<{ items: Party[]; total: number }> {
  let base = db.selectFrom('parties');
  if (q.orgIds) base = base.where('org_id', 'in', [...q.orgIds]);
  if (q.role) base = base.where('roles', 'like', `%${q.role}%`);
  if (q.search) base = base.where('name', 'like', `%${q.search.replace(/[%_]/g, '')}%`);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(Math.min(q.limit ?? 50, 500))
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map(toParty), total: toSafeInt(total.n) };
}
