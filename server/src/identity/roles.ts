/** Roles, what each may do, and which must use a second factor. */
export const ROLES = ['admin', 'branch_staff', 'auditor', 'merchant_owner', 'cashier', 'buyer', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'org:read',
  'org:write',
  'party:read',
  'party:write',
  'account:read',
  'account:write',
  'transfer:create',
  'transfer:read',
  'user:read',
  'user:write',
  'audit:read',
  'dashboard:read',
  'terminal:read',
  'terminal:write',
  'app:read',
  'app:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Merchant-side users read their own party's accounts and transfers, nothing else. */
const READ_OWN: Permission[] = ['account:read', 'transfer:read'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  branch_staff: [
    'org:read', 'party:read', 'party:write', 'account:read', 'account:write', 'transfer:create', 'transfer:read', 'user:read', 'dashboard:read',
    'terminal:read', 'terminal:write', 'app:read',
  ],
  auditor: ['org:read', 'party:read', 'account:read', 'transfer:read', 'user:read', 'audit:read', 'dashboard:read', 'terminal:read', 'app:read'],
  merchant_owner: [...READ_OWN, 'terminal:read'],
  cashier: READ_OWN,
  buyer: READ_OWN,
  agent: READ_OWN,
};

/** Staff roles see data of their organisation subtree; the others only their own party's. */
export const STAFF_ROLES: readonly Role[] = ['admin', 'branch_staff', 'auditor'];

/** Roles that must sign in with a one-time code (PCI DSS 8.4.2 asks it for administrative access). */
export const TOTP_REQUIRED: readonly Role[] = ['admin', 'auditor'];

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
