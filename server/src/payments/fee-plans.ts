/**
 * Fee plans (merchant discount rates): a rate in basis points, a minimum and an optional maximum
 * per transaction, and a fixed fee on top (`feeFor` in contracts.ts does the arithmetic). A plan
 * belongs to an organisation; merchants of that organisation and of everything under it may use
 * it. A change applies to every merchant on the plan from the next transaction on; a retired plan
 * keeps its merchants but is given to no new one.
 */
import type { Kysely } from 'kysely';
import type { IdentityTables } from '../identity/tables.js';
import { XiaoweiError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import type { FeePlan, PaymentsDb } from './contracts.js';

/** Upper bound of every fee amount a plan names (¥1,000,000 in fen): beyond any retail fee. */
export const FEE_MAX = 100_000_000;
export const FEE_PLAN_NAME_MAX = 60;

export interface FeePlanInput {
  name: string;
  rate_bp: number;
  min_fee: number;
  max_fee: number | null;
  fixed_fee: number;
}

export function toFeePlan(r: FeePlan): FeePlan {
  return {
    id: r.id,
    org_id: r.org_id,
    name: r.name,
    rate_bp: toSafeInt(r.rate_bp, 'rate_bp'),
    min_fee: toSafeInt(r.min_fee, 'min_fee'),
    max_fee: toSafeIntOrNull(r.max_fee, 'max_fee'),
    fixed_fee: toSafeInt(r.fixed_fee, 'fixed_fee'),
    status: r.status === 'retired' ? 'retired' : 'active',
    created_at: toSafeInt(r.created_at),
    updated_at: toSafeInt(r.updated_at),
  };
}

/** Why a plan's numbers are not acceptable, or undefined. */
export function feePlanProblem(p: FeePlanInput): string | undefined {
  const fen = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= FEE_MAX;
  if (typeof p.name !== 'string' || p.name.trim().length === 0 || p.name.length > FEE_PLAN_NAME_MAX)
    return `name must be 1–${FEE_PLAN_NAME_MAX} characters`;
  if (!Number.isSafeInteger(p.rate_bp) || p.rate_bp < 0 || p.rate_bp > 10_000) return 'rate_bp must be a whole number from 0 to 10000';
  if (!fen(p.min_fee)) return `min_fee must be whole fen from 0 to ${FEE_MAX}`;
  if (p.max_fee !== null && !fen(p.max_fee)) return `max_fee must be null or whole fen from 0 to ${FEE_MAX}`;
  if (!fen(p.fixed_fee)) return `fixed_fee must be whole fen from 0 to ${FEE_MAX}`;
  if (p.max_fee !== null && p.max_fee < p.min_fee) return 'max_fee must not be below min_fee';
  return undefined;
}

/** The organisation and its ancestors up to the bank, nearest first. */
export async function orgAndAncestors(db: Kysely<unknown>, orgId: string): Promise<string[]> {
  const idb = db as unknown as Kysely<IdentityTables>;
  const out: string[] = [];
  let id: string | null = orgId;
  while (id !== null && out.length < 16 && !out.includes(id)) {
    const row: { parent_id: string | null } | undefined = await idb
      .selectFrom('organisations')
      .select('parent_id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) break;
    out.push(id);
    id = row.parent_id;
  }
  return out;
}

async function isNameTaken(db: PaymentsDb, orgId: string, name: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom('pay_fee_plans').select('id').where('org_id', '=', orgId).where('name', '=', name);
  if (exceptId) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function createFeePlan(db: Kysely<unknown>, orgId: string, input: FeePlanInput, nowUs: number): Promise<FeePlan> {
  const pdb = db as PaymentsDb;
  const problem = feePlanProblem(input);
  if (problem) throw new XiaoweiError('fee_plan_invalid', problem);
  const name = input.name.trim();
  if (await isNameTaken(pdb, orgId, name)) throw new XiaoweiError('fee_plan_exists', name);
  const row: FeePlan = {
    id: newId(),
    org_id: orgId,
    name,
    rate_bp: input.rate_bp,
    min_fee: input.min_fee,
    max_fee: input.max_fee,
    fixed_fee: input.fixed_fee,
    status: 'active',
    created_at: nowUs,
    updated_at: nowUs,
  };
  try {
    await pdb.insertInto('pay_fee_plans').values(row).execute();
  } catch (error) {
    // Two staff naming a plan alike at once: the unique index decides.
    if (await isNameTaken(pdb, orgId, name)) throw new XiaoweiError('fee_plan_exists', name);
    throw error;
  }
  return row;
}

export async function getFeePlan(db: Kysely<unknown>, id: string): Promise<FeePlan | undefined> {
  const row = await (db as PaymentsDb).selectFrom('pay_fee_plans').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toFeePlan(row) : undefined;
}

/** Plans of these organisations (null = all), by name. */
export async function listFeePlans(db: Kysely<unknown>, orgIds: readonly string[] | null, status?: FeePlan['status']): Promise<FeePlan[]> {
  if (orgIds !== null && orgIds.length === 0) return [];
  let q = (db as PaymentsDb).selectFrom('pay_fee_plans').selectAll();
  if (orgIds !== null) q = q.where('org_id', 'in', [...orgIds]);
  if (status) q = q.where('status', '=', status);
  const rows = await q.orderBy('name').orderBy('id').limit(1000).execute();
  return rows.map(toFeePlan);
}

export interface FeePlanPatch extends Partial<FeePlanInput> {
  status?: FeePlan['status'];
}

export async function updateFeePlan(db: Kysely<unknown>, plan: FeePlan, patch: FeePlanPatch, nowUs: number): Promise<FeePlan> {
  const pdb = db as PaymentsDb;
  const next: FeePlan = {
    ...plan,
    name: patch.name !== undefined ? patch.name.trim() : plan.name,
    rate_bp: patch.rate_bp ?? plan.rate_bp,
    min_fee: patch.min_fee ?? plan.min_fee,
    max_fee: patch.max_fee !== undefined ? patch.max_fee : plan.max_fee,
    fixed_fee: patch.fixed_fee ?? plan.fixed_fee,
    status: patch.status ?? plan.status,
    updated_at: nowUs,
  };
  const problem = feePlanProblem(next);
  if (problem) throw new XiaoweiError('fee_plan_invalid', problem);
  if (next.name !== plan.name && (await isNameTaken(pdb, plan.org_id, next.name, plan.id)))
    throw new XiaoweiError('fee_plan_exists', next.name);
  try {
    await pdb
      .updateTable('pay_fee_plans')
      .set({
        name: next.name,
        rate_bp: next.rate_bp,
        min_fee: next.min_fee,
        max_fee: next.max_fee,
        fixed_fee: next.fixed_fee,
        status: next.status,
        updated_at: nowUs,
      })
      .where('id', '=', plan.id)
      .execute();
  } catch (error) {
    if (await isNameTaken(pdb, plan.org_id, next.name, plan.id)) throw new XiaoweiError('fee_plan_exists', next.name);
    throw error;
  }
  return next;
}
