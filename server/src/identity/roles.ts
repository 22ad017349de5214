/** Roles, what each may do, and which must use a second factor. */
export const ROLES = ['admin', 'branch_staff', 'auditor', 'merchant_owner', 'cashier', 'buyer', 'agent', 'customer'] as const;
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
  // payments: read transactions, merchants, fee plans, cards, settlements; write = manage them
  'payment:read',
  'payment:write',
  // risk rules and the review queue
  'risk:read',
  'risk:write',
  // run settlement, resolve reconciliation exceptions
  'settlement:run',
  // a customer pays (QR, payment code, account-to-account transfer) from the own accounts
  'payment:pay',
  // the channel gateway: switch link status, conventional POS terminals and their keys, core-banking inquiry
  'gateway:read',
  // register conventional POS terminals and load their master keys, key ceremonies, switch link control
  'gateway:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Merchant-side users read their own party's accounts and transfers, nothing else. */
const READ_OWN: Permission[] = ['account:read', 'transfer:read'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  branch_staff: [
    'org:read', 'party:read', 'party:write', 'account:read', 'account:write', 'transfer:create', 'transfer:read', 'user:read', 'dashboard:read',
    'terminal:read', 'terminal:write', 'app:read', 'payment:read', 'payment:write', 'risk:read', 'risk:write', 'settlement:run',
    'gateway:read', 'gateway:write',
  ],
  auditor: ['org:read', 'party:read', 'account:read', 'transfer:read', 'user:read', 'audit:read', 'dashboard:read', 'terminal:read', 'app:read', 'payment:read', 'risk:read', 'gateway:read'],
  merchant_owner: [...READ_OWN, 'terminal:read', 'payment:read'],
  cashier: READ_OWN,
  buyer: READ_OWN,
  agent: READ_OWN,
  customer: [...READ_OWN, 'payment:pay'],
};

/** Staff roles see data of their organisation subtree; the others only their own party's. */
export const STAFF_ROLES: readonly Role[] = ['admin', 'branch_staff', 'auditor'];

/** Roles that must sign in with a one-time code (PCI DSS 8.4.2 asks it for administrative access). */
export const TOTP_REQUIRED: readonly Role[] = ['admin', 'auditor'];

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
