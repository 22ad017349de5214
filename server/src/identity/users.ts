import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import { hashPassword, passwordProblem } from './passwords.js';
import { ROLES, STAFF_ROLES, type Role } from './roles.js';
import type { IdentityTables } from './tables.js';

/** A user as the API shows it: never the password hash or the TOTP secret. */
export interface User {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  org_id: string;
  merchant_id: string | null;
  totp_enabled: boolean;
  locked: boolean;
  disabled: boolean;
  created_at: number;
  last_login_at: number | null;
}

export function toUser(r: IdentityTables['users'], now = Date.now()): User {
  return {
    id: r.id,
    username: r.username,
    display_name: r.display_name,
    role: r.role as Role,
    org_id: r.org_id,
    merchant_id: r.merchant_id,
    totp_enabled: toSafeInt(r.totp_enabled) === 1,
    locked: toSafeInt(r.locked_until) > now,
    disabled: toSafeInt(r.disabled) === 1,
    created_at: toSafeInt(r.created_at),
    last_login_at: toSafeIntOrNull(r.last_login_at),
  };
}

export interface NewUser {
  username: string;
  display_name: string;
  role: Role;
  org_id: string;
  merchant_id?: string | null;
  password: string;
}

export async function createUser(db: Kysely<IdentityTables>, input: NewUser): Promise<User> {
  if (!ROLES.includes(input.role)) throw new XiaoweiError('validation_failed', 'unknown role');
  const problem = passwordProblem(input.password);
  if (problem) throw new XiaoweiError('validation_failed', problem);
  if (!STAFF_ROLES.includes(input.role) && !input.merchant_id) {
    throw new XiaoweiError('validation_failed', `a ${input.role} user needs merchant_id (the party they act for)`);
  }
  const org = await db.selectFrom('organisations').select('id').where('id', '=', input.org_id).executeTakeFirst();
  if (!org) throw new XiaoweiError('validation_failed', 'org_id must name an existing organisation');
  if (input.merchant_id) {
    const party = await db.selectFrom('parties').select('id').where('id', '=', input.merchant_id).executeTakeFirst();
    if (!party) throw new XiaoweiError('validation_failed', 'merchant_id must name an existing party');
  }
  const taken = await db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst();
  if (taken) throw new XiaoweiError('conflict', `username ${input.username} is taken`);
  const row: IdentityTables['users'] = {
    id: newId(),
    username: input.username,
    display_name: input.display_name,
    role: input.role,
    org_id: input.org_id,
    merchant_id: input.merchant_id ?? null,
    password_hash: await hashPassword(input.password),
    totp_secret_enc: null,
    totp_enabled: 0,
    failed_logins: 0,
    locked_until: 0,
    disabled: 0,
    created_at: Date.now(),
    last_login_at: null,
  };
  await db.insertInto('users').values(row).execute();
  return toUser(row);
}

export async function listUsers(db: Kysely<IdentityTables>, orgIds?: ReadonlySet<string>): Promise<User[]> {
  let q = db.selectFrom('users').selectAll().orderBy('username');
  if (orgIds) q = q.where('org_id', 'in', [...orgIds]);
  return (await q.execute()).map((r) => toUser(r));
}

export async function findUserByName(db: Kysely<IdentityTables>, username: string): Promise<IdentityTables['users'] | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}
