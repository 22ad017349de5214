import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { hashPassword, verifyPassword } from '../identity/passwords.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { TerminalPrincipal } from './contracts.js';
import type { ProtocolTables } from './protocol-migration.js';
import { hashToken, requireTerminal } from './terminal-auth.js';

export const OPERATOR_ROLES = ['cashier', 'supervisor'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
/** Two digits, 01–99 (the conventional POS range; 00 and 99 carry no special meaning here). */
export const OPERATOR_NO_PATTERN = '^(0[1-9]|[1-9][0-9])$';
export const MAX_FAILED_OPERATOR_SIGN_ONS = 5;
export const OPERATOR_LOCK_MINUTES = 15;

/** An operator as staff see it: never the password hash. */
export interface Operator {
  id: string;
  owner_party_id: string;
  operator_no: string;
  name: string;
  role: OperatorRole;
  locked: boolean;
  disabled: boolean;
  created_at: number;
}

function toOperator(r: ProtocolTables['terminal_operators'], nowUs: number): Operator {
  return {
    id: r.id,
    owner_party_id: r.owner_party_id,
    operator_no: r.operator_no,
    name: r.name,
    role: r.role === 'supervisor' ? 'supervisor' : 'cashier',
    locked: toSafeInt(r.locked_until) > nowUs,
    disabled: toSafeInt(r.disabled) === 1,
    created_at: toSafeInt(r.created_at),
  };
}

/** Operator passwords are typed on a shop counter (often a PIN pad): 6–32 characters, not one repeated digit nor a run like 123456. */
export function operatorPasswordProblem(password: string): string | undefined {
  if (password.length < 6) return 'password must have at least 6 characters';
  if (password.length > 32) return 'password must have at most 32 characters';
  if (/^(\d)\1*$/.test(password) || '0123456789012345678901234567890123'.includes(password)) return 'password must not be one repeated digit or a run of digits';
  return undefined;
}

export interface NewOperator {
  owner_party_id: string;
  operator_no: string;
  name: string;
  role: OperatorRole;
  password: string;
}

export async function createOperator(db: Kysely<ProtocolTables>, input: NewOperator, nowUs: number): Promise<Operator> {
  const problem = operatorPasswordProblem(input.password);
  if (problem) throw new XiaoweiError('validation_failed', problem);
  const party = await db.selectFrom('parties').select('id').where('id', '=', input.owner_party_id).executeTakeFirst();
  if (!party) throw new XiaoweiError('validation_failed', 'owner_party_id must name an existing party');
  const taken = await db.selectFrom('terminal_operators').select('id').where('owner_party_id', '=', input.owner_party_id).where('operator_no', '=', input.operator_no).executeTakeFirst();
  if (taken) throw new XiaoweiError('conflict', `operator ${input.operator_no} exists for this merchant`);
  const row: ProtocolTables['terminal_operators'] = {
    id: newId(),
    owner_party_id: input.owner_party_id,
    operator_no: input.operator_no,
    name: input.name,
    role: input.role,
    password_hash: await hashPassword(input.password),
    failed_attempts: 0,
    locked_until: 0,
    disabled: 0,
    created_at: nowUs,
  };
  try {
    await db.insertInto('terminal_operators').values(row).execute();
  } catch (error) {
    // Two staff adding the same number at once: the unique index decides.
    const again = await db.selectFrom('terminal_operators').select('id').where('owner_party_id', '=', input.owner_party_id).where('operator_no', '=', input.operator_no).executeTakeFirst();
    if (again) throw new XiaoweiError('conflict', `operator ${input.operator_no} exists for this merchant`);
    throw error;
  }
  return toOperator(row, nowUs);
}

export async function listOperators(db: Kysely<ProtocolTables>, ownerPartyId: string, nowUs: number): Promise<Operator[]> {
  const rows = await db.selectFrom('terminal_operators').selectAll().where('owner_party_id', '=', ownerPartyId).orderBy('operator_no').execute();
  return rows.map((r) => toOperator(r, nowUs));
}

export async function getOperator(db: Kysely<ProtocolTables>, id: string, nowUs: number): Promise<Operator | undefined> {
  const row = await db.selectFrom('terminal_operators').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toOperator(row, nowUs) : undefined;
}

/** Disables (or re-enables) an operator; disabling also ends its sign-ons at every terminal. */
export async function setOperatorDisabled(db: Kysely<ProtocolTables>, id: string, disabled: boolean, nowUs: number): Promise<Operator> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('terminal_operators').set({ disabled: disabled ? 1 : 0, ...(disabled ? {} : { failed_attempts: 0, locked_until: 0 }) }).where('id', '=', id).execute();
    if (disabled) await trx.updateTable('terminal_operator_sessions').set({ closed_at: nowUs }).where('operator_id', '=', id).where('closed_at', 'is', null).execute();
  });
  const after = await getOperator(db, id, nowUs);
  if (!after) throw new XiaoweiError('not_found');
  return after;
}

/** Dummy hash so that an unknown operator number costs the same time as a wrong password. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface OperatorSignOnResult {
  operatorToken: string;
  operator: { operatorNo: string; name: string; role: OperatorRole };
}

/** Counts a failure in one atomic update, so parallel wrong guesses cannot slip past the lock. */
async function recordFailure(db: Kysely<ProtocolTables>, id: string, nowUs: number): Promise<never> {
  const lockUntil = nowUs + OPERATOR_LOCK_MINUTES * 60_000_000;
  const after = await db
    .updateTable('terminal_operators')
    .set((eb) => ({
      failed_attempts: eb.case().when('failed_attempts', '>=', MAX_FAILED_OPERATOR_SIGN_ONS - 1).then(0).else(eb('failed_attempts', '+', 1)).end(),
      locked_until: eb.case().when('failed_attempts', '>=', MAX_FAILED_OPERATOR_SIGN_ONS - 1).then(lockUntil).else(eb.ref('locked_until')).end(),
    }))
    .where('id', '=', id)
    .returning('locked_until')
    .executeTakeFirst();
  if (after && toSafeInt(after.locked_until) > nowUs) throw new XiaoweiError('terminal_operator_locked', String(OPERATOR_LOCK_MINUTES));
  throw new XiaoweiError('terminal_operator_credentials');
}

/**
 * Operator sign-on at a terminal: the operator number is looked up among the terminal's own
 * merchant's operators only. The token is bound to the terminal's current session (a new
 * terminal sign-on or sign-off ends it) and replaces the operator signed on before at this terminal.
 */
export async function operatorSignOn(db: Kysely<ProtocolTables>, terminal: TerminalPrincipal, operatorNo: string, password: string, nowUs: number): Promise<OperatorSignOnResult> {
  const row = await db.selectFrom('terminal_operators').selectAll().where('owner_party_id', '=', terminal.owner_party_id).where('operator_no', '=', operatorNo).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row) throw new XiaoweiError('terminal_operator_credentials');
  if (toSafeInt(row.locked_until) > nowUs) throw new XiaoweiError('terminal_operator_locked', String(OPERATOR_LOCK_MINUTES));
  if (!ok) return recordFailure(db, row.id, nowUs);
  if (toSafeInt(row.disabled) === 1) throw new XiaoweiError('terminal_operator_disabled');
  const token = randomBytes(32).toString('base64url');
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('terminal_operator_sessions').set({ closed_at: nowUs }).where('session_id', '=', terminal.session_id).where('closed_at', 'is', null).execute();
    await trx.insertInto('terminal_operator_sessions').values({ token_hash: hashToken(token), operator_id: row.id, session_id: terminal.session_id, terminal_id: terminal.terminal_id, created_at: nowUs, closed_at: null }).execute();
    await trx.updateTable('terminal_operators').set({ failed_attempts: 0, locked_until: 0 }).where('id', '=', row.id).execute();
  });
  const role: OperatorRole = row.role === 'supervisor' ? 'supervisor' : 'cashier';
  return { operatorToken: token, operator: { operatorNo: row.operator_no, name: row.name, role } };
}

/** Ends the operator sign-ons of the terminal's session. */
export async function operatorSignOff(db: Kysely<ProtocolTables>, terminal: TerminalPrincipal, nowUs: number): Promise<void> {
  await db.updateTable('terminal_operator_sessions').set({ closed_at: nowUs }).where('session_id', '=', terminal.session_id).where('closed_at', 'is', null).execute();
}

/** The operator signed on at the terminal that sent this request. */
export function requireOperator(request: FastifyRequest): NonNullable<TerminalPrincipal['operator']> {
  const operator = requireTerminal(request).operator;
  if (!operator) throw new XiaoweiError('terminal_operator_required');
  return operator;
}

/** For voids, refunds and the like: a supervisor must be the operator signed on at the terminal. */
export function requireSupervisor(request: FastifyRequest): NonNullable<TerminalPrincipal['operator']> {
  const operator = requireOperator(request);
  if (operator.role !== 'supervisor') throw new XiaoweiError('terminal_supervisor_required');
  return operator;
}
