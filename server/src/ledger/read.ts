import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../platform/db/database.js';
import { toSafeInt } from '../platform/int.js';
import { accountFromRow, transferFromRow } from './rows.js';
import type { Account, Transfer } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;
type Row = Record<string, unknown>;

export interface StatementLine {
  transfer: Transfer;
  side: 'debit' | 'credit';
  /** The account's posted debits and credits right after this transfer. */
  debits_posted_after: number;
  credits_posted_after: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `before` for the next (older) page; null at the end. */
  next_cursor: string | null;
}

export const MAX_PAGE = 500;

export async function getAccounts(db: Db, ids: readonly string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const rows = (await db.selectFrom('ledger_accounts').selectAll().where('id', 'in', [...ids]).execute()) as Row[];
  return rows.map(accountFromRow);
}

async function watermark(db: Db, dialect: Dialect): Promise<number> {
  // PostgreSQL indexes inline: everything is in ledger_account_entries.
  if (dialect === 'postgres') return Number.MAX_SAFE_INTEGER;
  const row = (await db.selectFrom('ledger_meta').select('value').where('key', '=', 'entries_watermark').executeTakeFirst()) as Row | undefined;
  return row ? toSafeInt(row.value) : 0;
}

/** Transfers of one account, newest first, before the cursor timestamp. */
async function accountTransfers(db: Db, dialect: Dialect, accountId: string, before: number, limit: number): Promise<Transfer[]> {
  const wm = await watermark(db, dialect);
  const indexed = (await db
    .selectFrom('ledger_transfers as t')
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('ledger_account_entries')
          .select('ts')
          .where('account_id', '=', accountId)
          .where('ts', '<', before)
          .orderBy('ts', 'desc')
          .limit(limit)
          .as('e'),
      (join) => join.onRef('e.ts', '=', 't.ts'),
    )
    .selectAll('t')
    .where((eb) => eb.or([eb('t.debit_account_id', '=', accountId), eb('t.credit_account_id', '=', accountId)]))
    .execute()) as Row[];
  let tail: Row[] = [];
  if (wm < before) {
    tail = (await db
      .selectFrom('ledger_transfers')
      .selectAll()
      .where('ts', '>', wm)
      .where('ts', '<', before)
      .where((eb) => eb.or([eb('debit_account_id', '=', accountId), eb('credit_account_id', '=', accountId)]))
      .orderBy('ts', 'desc')
      .limit(limit)
      .execute());
  }
  const byTs = new Map<number, Transfer>();
  for (const r of [...indexed, ...tail]) {
    const t = transferFromRow(r);
    byTs.set(t.ts, t);
  }
  return [...byTs.values()].sort((a, b) => b.ts - a.ts).slice(0, limit);
}

function lineFor(accountId: string, t: Transfer): StatementLine {
  const debit = t.debit_account_id === accountId;
  return {
    transfer: t,
    side: debit ? 'debit' : 'credit',
    debits_posted_after: debit ? t.dr_debits_after : t.cr_debits_after,
    credits_posted_after: debit ? t.dr_credits_after : t.cr_credits_after,
  };
}

/** An account statement, newest first, with the running posted balance after each line. */
export async function statement(
  db: Db,
  dialect: Dialect,
  accountId: string,
  options: { before?: number; limit?: number } = {},
): Promise<Page<StatementLine>> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), MAX_PAGE);
  const transfers = await accountTransfers(db, dialect, accountId, options.before ?? Number.MAX_SAFE_INTEGER, limit);
  const items = transfers.map((t) => lineFor(accountId, t));
  const last = transfers.at(-1);
  return { items, next_cursor: transfers.length === limit && last ? String(last.ts) : null };
}

/** Posted balances of an account as they stood at `at` (microseconds). */
export async function balanceAt(db: Db, dialect: Dialect, accountId: string, at: number): Promise<{ debits_posted: number; credits_posted: number; ts: number | null }> {
  const [t] = await accountTransfers(db, dialect, accountId, at + 1, 1);
  if (!t) return { debits_posted: 0, credits_posted: 0, ts: null };
  const line = lineFor(accountId, t);
  return { debits_posted: line.debits_posted_after, credits_posted: line.credits_posted_after, ts: t.ts };
}

export interface TransferQuery {
  account_id?: string;
  code?: number;
  from?: number;
  to?: number;
  reference?: string;
  before?: number;
  limit?: number;
}

/** Transfer search, newest first. */
export async function searchTransfers(db: Db, dialect: Dialect, q: TransferQuery): Promise<Page<Transfer>> {
  const limit = Math.min(Math.max(q.limit ?? 50, 1), MAX_PAGE);
  const before = Math.min(q.before ?? Number.MAX_SAFE_INTEGER, q.to !== undefined ? q.to + 1 : Number.MAX_SAFE_INTEGER);
  let items: Transfer[];
  if (q.account_id && q.code === undefined && q.reference === undefined) {
    items = await accountTransfers(db, dialect, q.account_id, before, limit);
    if (q.from !== undefined) items = items.filter((t) => t.ts >= q.from!);
  } else {
    let query = db.selectFrom('ledger_transfers').selectAll().where('ts', '<', before);
    if (q.from !== undefined) query = query.where('ts', '>=', q.from);
    if (q.code !== undefined) query = query.where('code', '=', q.code);
    if (q.reference !== undefined) query = query.where('reference', '=', q.reference);
    if (q.account_id) {
      const id = q.account_id;
      query = query.where((eb) => eb.or([eb('debit_account_id', '=', id), eb('credit_account_id', '=', id)]));
    }
    items = ((await query.orderBy('ts', 'desc').limit(limit).execute()) as Row[]).map(transferFromRow);
  }
  const last = items.at(-1);
  return { items, next_cursor: items.length === limit && last ? String(last.ts) : null };
}

export async function getTransfer(db: Db, id: string): Promise<Transfer | undefined> {
  const row = (await db.selectFrom('ledger_transfers').selectAll().where('id', '=', id).executeTakeFirst());
  return row ? transferFromRow(row) : undefined;
}

export interface DailyTotal {
  day: string;
  ledger: number;
  code: number;
  count: number;
  amount: number;
}

/** Money moved per business day and transfer code, from the rollup table. */
export async function dailyTotals(db: Db, fromDay: string, toDay: string): Promise<DailyTotal[]> {
  const rows = (await db
    .selectFrom('ledger_daily')
    .selectAll()
    .where('day', '>=', fromDay)
    .where('day', '<=', toDay)
    .orderBy('day')
    .orderBy('code')
    .execute()) as Row[];
  return rows.map((r) => ({ day: r.day as string, ledger: toSafeInt(r.ledger), code: toSafeInt(r.code), count: toSafeInt(r.count), amount: toSafeInt(r.amount) }));
}

export interface BalanceByCode {
  ledger: number;
  code: number;
  accounts: number;
  debits_posted: number;
  credits_posted: number;
}

/** Account count and posted totals per account code. */
export async function balancesByCode(db: Db): Promise<BalanceByCode[]> {
  const rows = (await db
    .selectFrom('ledger_accounts')
    .select(['ledger', 'code'])
    .select((eb) => [
      eb.fn.countAll().as('accounts'),
      eb.fn.sum('debits_posted').as('debits_posted'),
      eb.fn.sum('credits_posted').as('credits_posted'),
    ])
    .groupBy(['ledger', 'code'])
    .orderBy('code')
    .execute()) as Row[];
  return rows.map((r) => ({
    ledger: toSafeInt(r.ledger),
    code: toSafeInt(r.code),
    accounts: toSafeInt(r.accounts),
    debits_posted: toSafeInt(r.debits_posted ?? 0),
    credits_posted: toSafeInt(r.credits_posted ?? 0),
  }));
}

export { sql };

/** Accounts, newest first; `owners` null = every owner. */
export async function listAccounts(
  db: Db,
  q: { owners: readonly string[] | null; code?: number | undefined; limit: number; offset: number },
): Promise<{ items: Account[]; total: number }> {
  if (q.owners !== null && q.owners.length === 0) return { items: [], total: 0 };
  let base = db.selectFrom('ledger_accounts');
  if (q.owners !== null) base = base.where('owner_id', 'in', [...q.owners]);
  if (q.code !== undefined) base = base.where('code', '=', q.code);
  const total = (await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as Row;
  const rows = (await base.selectAll().orderBy('timestamp', 'desc').limit(Math.min(q.limit, MAX_PAGE)).offset(q.offset).execute()) as Row[];
  return { items: rows.map(accountFromRow), total: toSafeInt(total.n) };
}
