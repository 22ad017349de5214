import type { OrgKind, PartyKind, PartyRole, Role } from './types';

/*
 * Runtime lists of the API's enums. Written as records so that the compiler fails here when the
 * server adds a value to the generated schema and the console does not know it yet.
 */
const keys = <K extends string>(record: Record<K, true>): K[] => Object.keys(record) as K[];

export const PARTY_KINDS = keys<PartyKind>({ person: true, business: true });
export const PARTY_ROLES = keys<PartyRole>({ customer: true, farmer: true, merchant: true, buyer: true, agent: true });
export const ORG_KINDS = keys<OrgKind>({ bank: true, branch: true, service_point: true });
export const ROLES = keys<Role>({
  admin: true,
  branch_staff: true,
  auditor: true,
  merchant_owner: true,
  cashier: true,
  buyer: true,
  agent: true,
  customer: true,
});
