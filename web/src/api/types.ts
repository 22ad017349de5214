import type { paths } from './schema';

type Json<P extends keyof paths, M extends 'get' | 'post', S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

// Types the server's OpenAPI document declares.
export type Organisation = Json<'/api/v1/organisations', 'get', 200>[number];
export type NewOrganisation = NonNullable<paths['/api/v1/organisations']['post']['requestBody']>['content']['application/json'];
export type Party = Json<'/api/v1/parties/{id}', 'get', 200>;
export type NewParty = NonNullable<paths['/api/v1/parties']['post']['requestBody']>['content']['application/json'];
export type PartyRole = Party['roles'][number];
export type PartyKind = Party['kind'];
export type User = Json<'/api/v1/users', 'get', 200>[number];
export type NewUser = NonNullable<paths['/api/v1/users']['post']['requestBody']>['content']['application/json'];
export type Role = User['role'];
export type OrgKind = Organisation['kind'];
export type Account = Json<'/api/v1/accounts/{id}', 'get', 200>;
export type Transfer = Json<'/api/v1/transfers/{id}', 'get', 200>;
export type NewTransfer = NonNullable<paths['/api/v1/transfers']['post']['requestBody']>['content']['application/json'];
export type TransferCodeNumber = NewTransfer['code'];
export type NewAccount = NonNullable<paths['/api/v1/accounts']['post']['requestBody']>['content']['application/json'];
export type AccountCode = NewAccount['code'];
export type LoginReply = Json<'/api/v1/auth/login', 'post', 200>;

/*
 * Hand-written reply types for routes whose OpenAPI entry has no response schema yet
 * (GET /auth/me, /chart, /accounts/:id/statement, /transfers, /dashboard/overview, /audit).
 * They mirror server/src/identity/routes.ts and server/src/ledger/routes.ts; drop each one once
 * the server declares its schema and `npm run gen:api` types it.
 */

export interface Me {
  user_id: string;
  username: string;
  display_name: string;
  role: Role;
  org_id: string;
  merchant_id: string | null;
  permissions: string[];
}

export interface AccountType {
  code: AccountCode;
  key: string;
  zh: string;
  en: string;
  internal: boolean;
  normal: 'debit' | 'credit';
  flags: number;
}

export interface TransferCode {
  code: TransferCodeNumber;
  key: string;
  zh: string;
  en: string;
}

export interface Chart {
  account_types: AccountType[];
  transfer_codes: TransferCode[];
}

export interface StatementLine extends Transfer {
  side: 'debit' | 'credit';
  balance_after: number;
}

export interface StatementPage {
  items: StatementLine[];
  /** Microseconds as a string; pass back as `before` for the next (older) page. */
  next_cursor: string | null;
}

export interface TransferPage {
  items: Transfer[];
  next_cursor: string | null;
}

export interface DailyTotal {
  day: string;
  ledger: number;
  code: number;
  count: number;
  amount: number;
}

export interface BalanceByType {
  code: number;
  type: string;
  accounts: number;
  balance: number;
}

export interface Overview {
  from: string;
  to: string;
  daily: DailyTotal[];
  balances_by_type: BalanceByType[];
}

export interface AuditEntry {
  id: string;
  at: number;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
  ip: string | null;
  request_id: string | null;
}

export interface AuditPage {
  items: AuditEntry[];
}
