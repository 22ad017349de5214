/**
 * Acquiring merchants: a party (role merchant, or an agent running a service point) enrolled with
 * an MCC, a fee plan and a settlement cycle. Enrolment opens two ledger accounts owned by the
 * party, with ids derived from it so every process can name them:
 *   `m:<party_id>:recv`   merchant receivable (2004): sales credit it, settlement empties it;
 *   `m:<party_id>:settle` merchant settlement (2002): settlement pays into it.
 * Enrolling again with the same terms answers the existing merchant; with other terms it is refused.
 * A merchant may also name its account in the bank's external core-banking system (`core_account`):
 * with an external core, settlement pays into that account instead (settlement.ts).
 */
import type { Kysely } from 'kysely';
import { getParty } from '../identity/parties.js';
import type { IdentityTables } from '../identity/tables.js';
import { LEDGER_CNY, accountType, type Ledger } from '../ledger/index.js';
import { prepared } from '../platform/db/prepared.js';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt } from '../platform/int.js';
import type { FeePlan, PaymentsDb, PaymentsSharedTables } from './contracts.js';
import { getFeePlan, orgAndAncestors, toFeePlan } from './fee-plans.js';
import { CORE_ACCOUNT_PATTERN, type PayoutTables } from './payout-migration.js';

export type MerchantRow = PaymentsSharedTables['pay_merchants'] & PayoutTables['pay_merchants'];
export type MerchantStatus = MerchantRow['status'];
export type SettlementCycle = MerchantRow['settlement_cycle'];
export const MERCHANT_STATUSES = ['active', 'suspended', 'closed'] as const satisfies readonly MerchantStatus[];
export const SETTLEMENT_CYCLES = ['T0', 'T1'] as const satisfies readonly SettlementCycle[];

/** Party roles that may be enrolled as acquiring merchants. */
export const MERCHANT_PARTY_ROLES = ['merchant', 'agent'] as const;

export const MCC_PATTERN = '^[0-9]{4}$';

/**
 * Common merchant category codes (ISO 18245) of a rural bank's acquiring book, for the console's
 * picker. Any four-digit code is accepted; these are the ones the bank meets every day.
 */
export const COMMON_MCCS: readonly { mcc: string; zh: string; en: string }[] = [
  { mcc: '5411', zh: '超市、便利店、杂货店', en: 'Grocery stores and supermarkets' },
  { mcc: '5311', zh: '百货商店', en: 'Department stores' },
  { mcc: '5251', zh: '五金商店', en: 'Hardware stores' },
  { mcc: '5200', zh: '家居建材商店', en: 'Home supply and building materials' },
  { mcc: '5812', zh: '餐馆、饭店', en: 'Restaurants' },
  { mcc: '5814', zh: '快餐店', en: 'Fast food' },
  { mcc: '5912', zh: '药店', en: 'Drug stores and pharmacies' },
  { mcc: '5541', zh: '加油站', en: 'Service stations' },
  { mcc: '5722', zh: '家用电器商店', en: 'Household appliance stores' },
  { mcc: '5999', zh: '其他零售', en: 'Miscellaneous retail' },
  { mcc: '0763', zh: '农业合作社', en: 'Agricultural co-operatives' },
  { mcc: '5261', zh: '苗圃、农资、园艺用品', en: 'Nurseries, lawn and garden supply' },
  { mcc: '5422', zh: '肉类、水产冷冻品店', en: 'Meat and seafood provisioners' },
  { mcc: '5499', zh: '食品杂货专营店', en: 'Miscellaneous food stores' },
  { mcc: '7230', zh: '美容美发', en: 'Beauty and barber shops' },
  { mcc: '8062', zh: '医院、卫生院', en: 'Hospitals' },
  { mcc: '4900', zh: '水电燃气缴费', en: 'Utilities' },
  { mcc: '6012', zh: '金融机构（助农服务点）', en: 'Financial institutions (agent service points)' },
];

export const merchantAccountIds = (partyId: string): { receivable: string; settlement: string } => ({
  receivable: `m:${partyId}:recv`,
  settlement: `m:${partyId}:settle`,
});

/** Throws validation_failed unless `account` is a core account number (8–32 digits) or null. */
function checkCoreAccount(account: string | null | undefined): void {
  if (account !== undefined && account !== null && !new RegExp(CORE_ACCOUNT_PATTERN).test(account))
    throw new XiaoweiError('validation_failed', 'core_account must be 8–32 digits');
}

export function toMerchantRow(r: PaymentsSharedTables['pay_merchants'] & { core_account?: string | null }): MerchantRow {
  return {
    party_id: r.party_id,
    org_id: r.org_id,
    mcc: r.mcc,
    fee_plan_id: r.fee_plan_id,
    receivable_account_id: r.receivable_account_id,
    settlement_account_id: r.settlement_account_id,
    settlement_cycle: r.settlement_cycle === 'T0' ? 'T0' : 'T1',
    status: r.status,
    core_account: r.core_account ?? null,
    created_at: toSafeInt(r.created_at),
    updated_at: toSafeInt(r.updated_at),
  };
}

export interface LoadedMerchant extends MerchantRow {
  fee_plan: FeePlan;
}

/**
 * The merchant with its fee plan, or undefined when the party is not an acquiring merchant. Read
 * fresh each time (one indexed join): a suspension or a fee change applies to the next
 * transaction. The caller judges `status` (suspended or closed → '03').
 */
export async function loadMerchant(db: Kysely<unknown> | PaymentsDb, partyId: string): Promise<LoadedMerchant | undefined> {
  // Every terminal transaction loads its merchant: one merchant's query is built once (platform/db/prepared.ts).
  const row = await oneMerchant.first(db as PaymentsDb, { partyId });
  return row ? loadedMerchant(row) : undefined;
}

/** Several merchants with their fee plans in one query, by party id. */
export async function loadMerchants(db: Kysely<unknown> | PaymentsDb, partyIds: readonly string[]): Promise<Map<string, LoadedMerchant>> {
  const out = new Map<string, LoadedMerchant>();
  if (partyIds.length === 0) return out;
  const rows = await merchantsWithPlans(db as PaymentsDb)
    .where('m.party_id', 'in', [...partyIds])
    .execute();
  for (const row of rows) out.set(row.party_id, loadedMerchant(row));
  return out;
}

/** Merchants joined with their fee plans (the plan's columns prefixed `f_`). */
const merchantsWithPlans = (db: PaymentsDb) =>
  db
    .selectFrom('pay_merchants as m')
    .innerJoin('pay_fee_plans as f', 'f.id', 'm.fee_plan_id')
    .selectAll('m')
    .select([
      'f.id as f_id',
      'f.org_id as f_org_id',
      'f.name as f_name',
      'f.rate_bp as f_rate_bp',
      'f.min_fee as f_min_fee',
      'f.max_fee as f_max_fee',
      'f.fixed_fee as f_fixed_fee',
      'f.status as f_status',
      'f.created_at as f_created_at',
      'f.updated_at as f_updated_at',
    ]);

type MerchantWithPlan = Awaited<ReturnType<ReturnType<typeof merchantsWithPlans>['executeTakeFirstOrThrow']>>;

const oneMerchant = prepared<{ partyId: string }, MerchantWithPlan>((db, p) =>
  merchantsWithPlans(db as PaymentsDb).where('m.party_id', '=', p.partyId),
);

function loadedMerchant(row: MerchantWithPlan): LoadedMerchant {
  const fee_plan = toFeePlan({
    id: row.f_id,
    org_id: row.f_org_id,
    name: row.f_name,
    rate_bp: row.f_rate_bp,
    min_fee: row.f_min_fee,
    max_fee: row.f_max_fee,
    fixed_fee: row.f_fixed_fee,
    status: row.f_status,
    created_at: row.f_created_at,
    updated_at: row.f_updated_at,
  });
  return { ...toMerchantRow(row), fee_plan };
}

export interface EnrolInput {
  party_id: string;
  mcc: string;
  fee_plan_id: string;
  settlement_cycle: SettlementCycle;
  /**
   * An existing merchant settlement account (2002) of the party to settle into — a shop that
   * already banks here keeps its account. Absent: one is opened (`m:<party>:settle`).
   */
  settlement_account_id?: string | undefined;
  /** The merchant's account number in the external core-banking system (8–32 digits); absent = none. */
  core_account?: string | null | undefined;
}

/** May a merchant of `orgId` use this plan? Plans of its organisation or any above it. */
export async function planUsableBy(db: Kysely<unknown>, plan: FeePlan, orgId: string): Promise<boolean> {
  return (await orgAndAncestors(db, orgId)).includes(plan.org_id);
}

async function usablePlan(db: Kysely<unknown>, planId: string, orgId: string): Promise<FeePlan> {
  const plan = await getFeePlan(db, planId);
  if (!plan || !(await planUsableBy(db, plan, orgId))) throw new XiaoweiError('fee_plan_not_found');
  if (plan.status !== 'active') throw new XiaoweiError('fee_plan_retired');
  return plan;
}

/**
 * Enrols a party as an acquiring merchant (the caller has checked the party is in the actor's
 * scope). Returns the merchant and whether it was created now.
 */
export async function enrolMerchant(
  deps: { db: Kysely<unknown>; ledger: Ledger },
  input: EnrolInput,
  nowUs: number,
): Promise<{ merchant: LoadedMerchant; created: boolean }> {
  const db = deps.db as PaymentsDb;
  if (!new RegExp(MCC_PATTERN).test(input.mcc)) throw new XiaoweiError('validation_failed', 'mcc must be four digits');
  checkCoreAccount(input.core_account);
  const party = await getParty(deps.db as unknown as Kysely<IdentityTables>, input.party_id);
  if (!party || !party.roles.some((r) => (MERCHANT_PARTY_ROLES as readonly string[]).includes(r)))
    throw new XiaoweiError('merchant_party_invalid');

  // A repeat that does not name a core account is the same enrolment whatever the account is now.
  const same = (m: MerchantRow): boolean =>
    m.mcc === input.mcc &&
    m.fee_plan_id === input.fee_plan_id &&
    m.settlement_cycle === input.settlement_cycle &&
    (input.core_account === undefined || m.core_account === input.core_account);
  const existing = await loadMerchant(db, input.party_id);
  if (existing) {
    if (!same(existing)) throw new XiaoweiError('merchant_exists');
    return { merchant: existing, created: false };
  }
  await usablePlan(deps.db, input.fee_plan_id, party.org_id);

  // Accounts first: a merchant row never names an account that does not exist.
  const ids = merchantAccountIds(input.party_id);
  if (input.settlement_account_id !== undefined) {
    const [own] = await deps.ledger.lookupAccounts([input.settlement_account_id]);
    if (!own || own.owner_id !== party.id || own.code !== 2002)
      throw new XiaoweiError('merchant_settlement_account_invalid', input.settlement_account_id);
    ids.settlement = own.id;
  }
  const recv = accountType(2004)!;
  const settle = accountType(2002)!;
  const opening = [
    {
      id: ids.receivable,
      ledger: LEDGER_CNY,
      code: recv.code,
      flags: recv.flags,
      owner_id: party.id,
      name: `${recv.zh} ${recv.en}`,
      reference: party.id,
    },
    {
      id: ids.settlement,
      ledger: LEDGER_CNY,
      code: settle.code,
      flags: settle.flags,
      owner_id: party.id,
      name: `${settle.zh} ${settle.en}`,
      reference: party.id,
    },
  ].filter((a) => a.id !== input.settlement_account_id);
  const failures = await deps.ledger.createAccounts(opening);
  const bad = failures.find((f) => f.result !== 'exists');
  if (bad) throw new XiaoweiError('account_rejected', bad.result);

  const row: MerchantRow = {
    party_id: party.id,
    org_id: party.org_id,
    mcc: input.mcc,
    fee_plan_id: input.fee_plan_id,
    receivable_account_id: ids.receivable,
    settlement_account_id: ids.settlement,
    settlement_cycle: input.settlement_cycle,
    status: 'active',
    core_account: input.core_account ?? null,
    created_at: nowUs,
    updated_at: nowUs,
  };
  const inserted = await (db as unknown as Kysely<{ pay_merchants: MerchantRow }>)
    .insertInto('pay_merchants')
    .values(row)
    .onConflict((oc) => oc.column('party_id').doNothing())
    .executeTakeFirst();
  const merchant = await loadMerchant(db, input.party_id);
  if (!merchant) throw new Error(`merchant ${input.party_id} vanished after insert`);
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
    // Lost a race with an identical (or a different) enrolment.
    if (!same(merchant)) throw new XiaoweiError('merchant_exists');
    return { merchant, created: false };
  }
  return { merchant, created: true };
}

export interface MerchantPatch {
  mcc?: string;
  fee_plan_id?: string;
  settlement_cycle?: SettlementCycle;
  status?: MerchantStatus;
  /** null removes it: later settlements go to the settlement account (2002). */
  core_account?: string | null;
}

export async function updateMerchant(
  db: Kysely<unknown>,
  merchant: LoadedMerchant,
  patch: MerchantPatch,
  nowUs: number,
): Promise<LoadedMerchant> {
  const pdb = db as unknown as Kysely<{ pay_merchants: MerchantRow }>;
  if (patch.mcc !== undefined && !new RegExp(MCC_PATTERN).test(patch.mcc))
    throw new XiaoweiError('validation_failed', 'mcc must be four digits');
  checkCoreAccount(patch.core_account);
  if (patch.fee_plan_id !== undefined && patch.fee_plan_id !== merchant.fee_plan_id)
    await usablePlan(db, patch.fee_plan_id, merchant.org_id);
  if (merchant.status === 'closed' && patch.status !== undefined && patch.status !== 'closed') {
    throw new XiaoweiError('conflict', 'a closed merchant stays closed');
  }
  const set: Partial<MerchantRow> = { updated_at: nowUs };
  if (patch.mcc !== undefined) set.mcc = patch.mcc;
  if (patch.fee_plan_id !== undefined) set.fee_plan_id = patch.fee_plan_id;
  if (patch.settlement_cycle !== undefined) set.settlement_cycle = patch.settlement_cycle;
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.core_account !== undefined) set.core_account = patch.core_account;
  await pdb.updateTable('pay_merchants').set(set).where('party_id', '=', merchant.party_id).execute();
  return (await loadMerchant(db, merchant.party_id))!;
}

export interface MerchantQuery {
  q?: string | undefined;
  status?: MerchantStatus | undefined;
  limit: number;
  offset: number;
}

export interface MerchantListItem extends LoadedMerchant {
  name: string;
}

/** Merchants visible in a scope: staff organisations (null = all), or one own party. */
export async function listMerchants(
  db: Kysely<unknown>,
  scope: { orgIds: readonly string[] | null } | { partyId: string | null },
  q: MerchantQuery,
): Promise<{ items: MerchantListItem[]; total: number }> {
  const pdb = db as unknown as Kysely<PaymentsSharedTables & IdentityTables>;
  let base = pdb.selectFrom('pay_merchants as m').innerJoin('parties as p', 'p.id', 'm.party_id');
  if ('partyId' in scope) {
    if (!scope.partyId) return { items: [], total: 0 };
    base = base.where('m.party_id', '=', scope.partyId);
  } else if (scope.orgIds !== null) {
    if (scope.orgIds.length === 0) return { items: [], total: 0 };
    base = base.where('m.org_id', 'in', [...scope.orgIds]);
  }
  if (q.status) base = base.where('m.status', '=', q.status);
  if (q.q) {
    const text = q.q;
    const like = `%${text.replace(/[%_\\]/g, '')}%`;
    base = base.where((eb) => eb.or([eb('p.name', 'like', like), eb('m.party_id', '=', text), eb('m.mcc', '=', text)]));
  }
  const total = toSafeInt((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const rows = await base
    .select(['m.party_id', 'p.name'])
    .orderBy('m.created_at', 'desc')
    .orderBy('m.party_id')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
  const loaded = await loadMerchants(
    db,
    rows.map((r) => r.party_id),
  );
  const items: MerchantListItem[] = [];
  for (const r of rows) {
    const m = loaded.get(r.party_id);
    if (m) items.push({ ...m, name: r.name });
  }
  return { items, total };
}
