import type { Kysely } from 'kysely';
import type { IdentityTables } from '../identity/tables.js';
import { createOrganisation } from '../identity/organisations.js';
import type { RegionTables } from '../identity/regions.js';
import { generatePassword } from '../identity/passwords.js';
import { createUser } from '../identity/users.js';
import { ACCOUNT_TYPES, LEDGER_CNY, type Ledger } from '../ledger/index.js';
import { seedReference } from './reference.js';

export const BANK_CODE = 'QDRCB';

/** Ids of the bank's internal accounts, stable so that every module can name them. */
export const BANK_ACCOUNTS = {
  settlement: 'bank:settlement',
  cash: 'bank:cash',
  fee_income: 'bank:fee-income',
  suspense: 'bank:suspense',
  switch_clearing: 'bank:switch-clearing',
  core_clearing: 'bank:core-clearing',
} as const;

export interface BootstrapResult {
  bankId: string;
  /** Set only when the admin user was created now: shown once, stored nowhere in clear. */
  adminPassword?: string;
}

/**
 * Installation data every bank needs, created once: reference data (administrative divisions),
 * the bank organisation, its internal accounts and the first administrator with a generated
 * password (no default password ever ships). Safe to run on every start.
 */
export async function bootstrap(db: Kysely<IdentityTables>, ledger: Ledger): Promise<BootstrapResult> {
  await seedReference(db as unknown as Kysely<RegionTables>);
  const findBank = () => db.selectFrom('organisations').select('id').where('code', '=', BANK_CODE).executeTakeFirst();
  // Several processes may start together on one PostgreSQL database: whoever loses the race reads.
  const bank =
    (await findBank()) ??
    (await createOrganisation(db, {
      parent_id: null,
      kind: 'bank',
      code: BANK_CODE,
      name: '青岛农村商业银行',
      name_en: 'Qingdao Rural Commercial Bank',
      region_code: '3702',
    }).catch(async (error: unknown) => {
      const winner = await findBank();
      if (!winner) throw error;
      return winner;
    }));
  const internal = ACCOUNT_TYPES.filter((t) => t.internal);
  const ids = [BANK_ACCOUNTS.settlement, BANK_ACCOUNTS.cash, BANK_ACCOUNTS.fee_income, BANK_ACCOUNTS.suspense, BANK_ACCOUNTS.switch_clearing, BANK_ACCOUNTS.core_clearing];
  const failures = await ledger.createAccounts(
    internal.map((t, i) => ({ id: ids[i]!, ledger: LEDGER_CNY, code: t.code, flags: t.flags, owner_id: bank.id, name: `${t.zh} ${t.en}` })),
  );
  const bad = failures.find((f) => f.result !== 'exists');
  if (bad) throw new Error(`bootstrap: internal account ${ids[bad.index]} rejected: ${bad.result}`);

  const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
  if (admin) return { bankId: bank.id };
  const adminPassword = generatePassword();
  try {
    await createUser(db, { username: 'admin', display_name: '系统管理员 Administrator', role: 'admin', org_id: bank.id, password: adminPassword });
  } catch (error) {
    if (await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst()) return { bankId: bank.id };
    throw error;
  }
  return { bankId: bank.id, adminPassword };
}
