/**
 * Merchant settlement for a date: set-based SQL over the date's rows, one ledger transfer per
 * merchant, idempotent and crash-safe.
 *
 * Which transactions a run for date D settles (per merchant, by its cycle):
 *   T0 — every unsettled transaction of business date ≤ D (so D's own transactions on D's run);
 *   T1 — every unsettled transaction of business date ≤ D − 1 (D's transactions on the run for D + 1).
 * "≤" rather than "=": anything that arrived late (a held sale approved after its date's run, a
 * refund after a carried settlement) goes into the next settlement instead of being lost.
 *
 * A run, in three steps, each safe to repeat:
 *   1. claim a row `stl:<D>:<merchant>` (status open) for every merchant with due rows and no
 *      settlement for D yet (one short transaction); then, one transaction per chunk of open rows
 *      (several at once on PostgreSQL), stamp the due rows with that id, total them, fix the
 *      status — net > 0 → pending, net = 0 → settled (no transfer), net < 0 → carried (no
 *      transfer; the rows are unstamped again, so the next settlement nets them against new
 *      sales). Open rows a crash left are finished first;
 *   2. the ledger transfers receivable → settlement account for every pending row (any date:
 *      this is also how a crashed run completes); ids are `<settlement id>:settle`, so a transfer
 *      that committed before a crash answers `exists`;
 *   3. the rows whose transfer stands become settled.
 * A second run for D finds every merchant already has its row and changes nothing.
 *
 * Payouts through the core: with an external core-banking system (`deps.core.kind` 'iso8583'), a
 * merchant with a `core_account` is paid there. The route is fixed at the claim (`payout_state`
 * 'due', see payout-migration.ts) and never changes, so step 2's ledger leg (same transfer id)
 * credits `bank:core-clearing` instead of the 2002 account, and then the core credit follows
 * under a payout id recorded before the call; the row is settled when the core posted it.
 *
 * What each stamped row counts for (see `KIND` below), each by its own effect on the receivable, so
 * the settlement's net is exactly the receivable's change whatever order things happened in: sales
 * (sale, completion, qr_sale that were approved — voided/reversed/refunded later or not: amount and
 * fee), refunds (amount and the fee returned), reversals (voids, completion voids and reversals that
 * moved money back: their amount and returned fee). A voided sale and its void in one settlement
 * thus net to zero; split over two settlements each counts where it is.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { CoreAdapter, CoreResult } from '../gateway/core/contracts.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import type { PaymentsDeps } from './deps.js';
import type { PayoutState, PayoutTables } from './payout-migration.js';
import { reconcilePending } from './reconciliation.js';
import type { SettlementDeps, SettlementScope } from './settlement-types.js';
import type { TransferInput } from '../ledger/index.js';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt } from '../platform/int.js';
import type { PaymentsSharedTables } from './contracts.js';
import { settlementTransfer } from './postings.js';
import type { SettlementTables } from './settlement-migration.js';

export type SettlementDb = Kysely<SettlementTables & PayoutTables & PaymentsSharedTables & { parties: { id: string; name: string } }>;
export type SettlementRow = SettlementTables['pay_settlements'] & PayoutTables['pay_settlements'];
/** Settlement's deps, and the core-banking adapter when the gateway attached one (the CLI has none). */
export type RunDeps = SettlementDeps & Pick<PaymentsDeps, 'core'>;

export const SALE_TYPES = ['sale', 'completion', 'qr_sale'] as const;
export const UNDO_TYPES = ['void', 'completion_void', 'reversal'] as const;
/**
 * A reversal of one of these (a void or refund the terminal got no answer to) charged the customer
 * again: it counts as a sale (its amount and fee). The void or refund itself, now 'reversed', still
 * counts as the undoing it was when it posted — each row by its own effect, whichever settlement
 * stamps it.
 */
const REDONE_TYPES = ['void', 'completion_void', 'refund'] as const;
const CLAIM_TYPES = [...SALE_TYPES, 'refund', ...UNDO_TYPES];
const TRANSFER_CHUNK = 1000;
const LOCK_KEY = 7_310_001;

export const DATE_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$';

/** The settlement id of a merchant for a date: also the stamp on its rows and the ledger transfer's stem. */
export const settlementId = (date: string, merchantPartyId: string): string => `stl:${date}:${merchantPartyId}`;

/** Throws validation_failed unless `date` is a real calendar date YYYY-MM-DD. */
export function checkDate(date: string): void {
  const d = new Date(`${date}T00:00:00Z`);
  if (!new RegExp(DATE_PATTERN).test(date) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== date) {
    throw new XiaoweiError('validation_failed', `date must be YYYY-MM-DD, got ${date}`);
  }
}

export function previousDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

const list = (xs: readonly string[]) => sql.join(xs.map((x) => sql.lit(x)));

/**
 * What a stamped row `t` counts as, by its own effect on the receivable: 'sale' (a sale, completion
 * or QR sale that was approved — later voided, reversed or refunded ones too: the undoing row counts
 * on its own), 'refund' (amount, and the fee returned in `fee`), 'reversal' (a void, completion void
 * or reversal that moved money back: its own amount and returned fee) or 'none' (no effect: a
 * reversal with nothing to undo, a released hold, a placeholder). `o` is the row's original.
 */
const KIND = sql`case
  when t.type in (${list(SALE_TYPES)}) then
    case when t.auth_code is not null and t.status in ('approved', 'refunded', 'voided', 'reversed') then 'sale' else 'none' end
  when t.type = 'refund' then case when t.status in ('approved', 'reversed') and t.auth_code is not null then 'refund' else 'none' end
  when t.type in (${list(UNDO_TYPES)}) then
    case when t.status in ('approved', 'reversed') and t.amount > 0 and o.id is not null and o.auth_code is not null and o.type in (${list(SALE_TYPES)}) then 'reversal'
         when t.type = 'reversal' and t.status = 'approved' and t.amount > 0 and o.id is not null and o.type in (${list(REDONE_TYPES)}) then 'sale'
         else 'none' end
  else 'none'
end`;

/** Effect of a row on the merchant's receivable, by kind (fen). */
export function lineNet(kind: string, amount: number, fee: number): number {
  if (kind === 'sale') return amount - fee;
  if (kind === 'refund' || kind === 'reversal') return -amount + fee;
  return 0;
}

export interface SettlementRunSummary {
  date: string;
  /** Settlement rows of the date (every merchant that had something due). */
  merchants: number;
  /** Of them created by this run. */
  created: number;
  settled: number;
  carried: number;
  /** Rows whose ledger transfer was refused, or whose core payout is not done (they stay pending with the reason; the next run retries). */
  pending: number;
  transactions: number;
  gross: number;
  fees: number;
  refunds: number;
  net: number;
  /** Reconciliation done as part of the run. */
  reconciled_batches: number;
  failures: { settlement_id: string; merchant_party_id: string; error: string }[];
}

export type SettlementProgress = (step: 'reconcile' | 'claim' | 'transfer' | 'done', done: number, total: number) => void;

export interface RunOptions {
  onProgress?: SettlementProgress;
  /** Reconcile closed batches not reconciled yet before settling (default true). */
  reconcile?: boolean;
  /** Tests only: stop after the open rows are claimed (1a), before any is stamped, as a crash would. */
  stopAfterOpen?: boolean;
  /** Tests only: merchants per stamping transaction on PostgreSQL (default STAMP_CHUNK). */
  stampChunk?: number;
  /** Tests only: stop after step 1 (claim, stamp, totals), as a crash would. */
  stopAfterClaim?: boolean;
  /** Tests only: stop after step 2 (the ledger transfers), as a crash would. */
  stopAfterTransfers?: boolean;
}

/** Settles every merchant for `date` (YYYY-MM-DD). Idempotent; completes a crashed earlier run. */
export async function runSettlement(deps: RunDeps, date: string, options: RunOptions = {}): Promise<SettlementRunSummary> {
  checkDate(date);
  const db = deps.db as SettlementDb;
  const progress = options.onProgress ?? (() => undefined);
  let reconciled = 0;
  if (options.reconcile !== false) {
    reconciled = await reconcilePending(deps, (done, total) => progress('reconcile', done, total));
  }
  progress('claim', 0, 1);
  const created = await claim(deps, date, deps.core?.kind === 'iso8583', progress, options);
  progress('claim', 1, 1);
  if (options.stopAfterClaim || options.stopAfterOpen) return summarise(db, date, created, reconciled, []);
  const failures = await transferPending(deps, progress, options.stopAfterTransfers ?? false);
  progress('done', 1, 1);
  return summarise(db, date, created, reconciled, failures);
}

interface Totals {
  sale_count: number;
  sale_amount: number;
  fee_amount: number;
  refund_count: number;
  refund_amount: number;
  refund_fee: number;
  reversal_count: number;
  reversal_amount: number;
  reversal_fee: number;
}
const zeroTotals = (): Totals => ({
  sale_count: 0,
  sale_amount: 0,
  fee_amount: 0,
  refund_count: 0,
  refund_amount: 0,
  refund_fee: 0,
  reversal_count: 0,
  reversal_amount: 0,
  reversal_fee: 0,
});

/**
 * What a stamped row counts as without looking at its original: KIND for sale types and refunds;
 * 'undo' for voids/reversals, decided in `claim` once their originals are read.
 */
const RETURNED_KIND = sql`case
  when type in (${list(SALE_TYPES)}) then
    case when auth_code is not null and status in ('approved', 'refunded', 'voided', 'reversed') then 'sale' else 'none' end
  when type = 'refund' then case when status in ('approved', 'reversed') and auth_code is not null then 'refund' else 'none' end
  when type in (${list(UNDO_TYPES)}) then case when status in ('approved', 'reversed') and amount > 0 and original_id is not null then 'undo' else 'none' end
  else 'none'
end`;

/**
 * Step 1: claim, then stamp and total. Returns how many settlements this run created.
 *
 * 1a. One short transaction claims an `open` row per merchant with something due and no
 *     settlement for the date yet (PostgreSQL: under an advisory lock, so concurrent runs agree).
 * 1b. Every `open` row — this run's, or one a crashed run left — is stamped and totalled in its
 *     own transaction per chunk of merchants: lock the chunk's rows still open, stamp the due rows
 *     (`business_date <= due_date`), total them, fix the status. A crash rolls the chunk back and
 *     leaves its rows open for the next run; a concurrent run waits on the lock and then finds them
 *     no longer open. Open rows left by a crash are finished before anything new is claimed.
 *
 * The stamping UPDATE returns what each row counts for, so the totals need no second pass. On
 * PostgreSQL it is the cost of the run (a non-HOT update: a new entry in every index of
 * `pay_transactions`, CPU-bound in the backend), so the chunks go over several connections at once;
 * on SQLite (one writer) a date's open rows are one chunk, visited in rowid order (one write per page).
 */
async function claim(deps: SettlementDeps, date: string, payouts: boolean, progress: SettlementProgress, options: RunOptions): Promise<number> {
  const db = deps.db as SettlementDb;
  const now = deps.now();
  const dueT1 = previousDate(date);
  const sqlite = deps.database.dialect === 'sqlite';
  const chunkSize = options.stampChunk ?? STAMP_CHUNK;
  await stampOpen(deps, payouts, progress, chunkSize);
  const created = await db.transaction().execute(async (trx) => {
    if (!sqlite) await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
    let n = 0;
    for (const [cycle, due] of [
      ['T0', date],
      ['T1', dueT1],
    ] as const) {
      const claimed = await sql<{ merchant_party_id: string }>`
        insert into pay_settlements (id, merchant_party_id, org_id, business_date, cycle, due_date, status,
          sale_count, sale_amount, fee_amount, refund_count, refund_amount, refund_fee, reversal_count, reversal_amount, reversal_fee, net,
          transfer_id, error, created_at, settled_at)
        select 'stl:' || cast(${date} as text) || ':' || m.party_id, m.party_id, m.org_id, cast(${date} as text), m.settlement_cycle, cast(${due} as text), 'open',
          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, null, cast(${now} as bigint), null
        from pay_merchants m
        where m.settlement_cycle = ${cycle}
          and not exists (select 1 from pay_settlements s where s.merchant_party_id = m.party_id and s.business_date = ${date})
          and exists (select 1 from pay_transactions t
                      where t.merchant_party_id = m.party_id and t.business_date <= ${due}
                        and t.settlement_id is null and t.status in ('approved', 'refunded', 'voided', 'reversed')
                        and t.type in (${list(CLAIM_TYPES)})
                        and (t.auth_code is not null or t.type not in (${list(SALE_TYPES)})))
        returning merchant_party_id`.execute(trx);
      n += claimed.rows.length;
    }
    return n;
  });
  if (!options.stopAfterOpen) await stampOpen(deps, payouts, progress, chunkSize);
  return created;
}

/**
 * Merchants per stamping transaction on PostgreSQL, and such transactions at once. Every chunk
 * visits all the heap pages its merchants' rows are spread over, so chunks are large; more than
 * two at once was slower on the 2-core bench machine (bench:settle: 4 at once 25.5 s, 2 at once 22 s
 * with 50 merchants a chunk, 17–19 s with 250–500).
 */
const STAMP_CHUNK = 250;
const STAMP_WORKERS = 2;

interface OpenChunk {
  date: string;
  due: string;
  ids: string[];
}

/** Step 1b over every open settlement: date by date (a crashed run's date first), chunks of a date in parallel on PostgreSQL. */
async function stampOpen(deps: SettlementDeps, payouts: boolean, progress: SettlementProgress, chunkSize: number): Promise<void> {
  const db = deps.db as SettlementDb;
  const sqlite = deps.database.dialect === 'sqlite';
  const open = await db
    .selectFrom('pay_settlements')
    .select(['id', 'business_date', 'due_date'])
    .where('status', '=', 'open')
    .orderBy('business_date')
    .orderBy('due_date')
    .orderBy('id')
    .execute();
  if (open.length === 0) return;
  // Groups of one (date, due date), in date order: an older open row takes its rows first.
  const groups: OpenChunk[][] = [];
  let last: OpenChunk | undefined;
  for (const o of open) {
    if (!last || last.date !== o.business_date || last.due !== o.due_date || (!sqlite && last.ids.length >= chunkSize)) {
      const chunk: OpenChunk = { date: o.business_date, due: o.due_date, ids: [] };
      const group = groups.at(-1);
      if (group && group[0]!.date === chunk.date && group[0]!.due === chunk.due) group.push(chunk);
      else groups.push([chunk]);
      last = chunk;
    }
    last.ids.push(o.id);
  }
  let done = 0;
  for (const group of groups) {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < group.length) {
        const chunk = group[next++]!;
        await stampChunk(deps, chunk, payouts);
        done += chunk.ids.length;
        progress('claim', done, open.length);
      }
    };
    await Promise.all(Array.from({ length: sqlite ? 1 : Math.min(STAMP_WORKERS, group.length) }, worker));
  }
}

/** Step 1b for one chunk of open settlements of one date and due date, in one transaction. */
async function stampChunk(deps: SettlementDeps, chunk: OpenChunk, payouts: boolean): Promise<void> {
  const db = deps.db as SettlementDb;
  const now = deps.now();
  const sqlite = deps.database.dialect === 'sqlite';
  const { date, due } = chunk;
  await db.transaction().execute(async (trx) => {
    // Lock the rows still open: a concurrent run waits here, then finds them done. (SQLite: the
    // write lock is taken by this first statement; the chunk is the date's every open row.)
    const locked = sqlite
      ? await sql<{ id: string; merchant_party_id: string }>`
          update pay_settlements set status = 'open'
          where business_date = ${date} and due_date = ${due} and status = 'open'
          returning id, merchant_party_id`.execute(trx)
      : await sql<{ id: string; merchant_party_id: string }>`
          select id, merchant_party_id from pay_settlements
          where id = any(cast(${chunk.ids} as text[])) and status = 'open'
          order by id for update`.execute(trx);
    const open = locked.rows;
    if (open.length === 0) return;
    const totals = new Map<string, Totals>();
    const undo: { merchant: string; original: string; amount: number; fee: number }[] = [];
    // Stamp the due rows of those merchants, and learn what each counts for.
    const due_rows = sql`settlement_id is null and status in ('approved', 'refunded', 'voided', 'reversed')
        and business_date <= ${due}
        and type in (${list(CLAIM_TYPES)})
        and (auth_code is not null or type not in (${list(SALE_TYPES)}))
        and ${
          sqlite
            ? sql`merchant_party_id in (select s.merchant_party_id from pay_settlements s where s.business_date = ${date} and s.due_date = ${due} and s.status = 'open')`
            : // PostgreSQL: a hashed array test per row; the subquery form got a nested loop over the (unanalysed) claims.
              sql`merchant_party_id = any(cast(${open.map((r) => r.merchant_party_id)} as text[]))`
        }`;
    const where = sqlite ? sql`rowid in (select rowid from pay_transactions where ${due_rows} order by rowid)` : due_rows;
    const stamped = await sql<{ m: string; k: string; amount: unknown; fee: unknown; original_id: string | null }>`
      update pay_transactions set settlement_id = 'stl:' || cast(${date} as text) || ':' || merchant_party_id
      where ${where}
      returning merchant_party_id as m, ${RETURNED_KIND} as k, amount, fee, original_id`.execute(trx);
    for (const r of stamped.rows) {
      if (r.k === 'none') continue;
      const amount = toSafeInt(r.amount, 'amount');
      const fee = toSafeInt(r.fee, 'fee');
      if (r.k === 'undo') {
        undo.push({ merchant: r.m, original: r.original_id!, amount, fee });
        continue;
      }
      let t = totals.get(r.m);
      if (!t) totals.set(r.m, (t = zeroTotals()));
      if (r.k === 'sale') {
        t.sale_count++;
        t.sale_amount += amount;
        t.fee_amount += fee;
      } else {
        t.refund_count++;
        t.refund_amount += amount;
        t.refund_fee += fee;
      }
    }
    // A void or reversal moved money back only if its original was a posted sale; a reversal of a
    // void charged the sale again (see KIND).
    const originals = new Map<string, 'sale' | 'void'>();
    for (let i = 0; i < undo.length; i += 500) {
      const ids = [...new Set(undo.slice(i, i + 500).map((u) => u.original))];
      const rows = await trx
        .selectFrom('pay_transactions')
        .select(['id', 'type'])
        .where('id', 'in', ids)
        .where((eb) =>
          eb.or([eb.and([eb('auth_code', 'is not', null), eb('type', 'in', [...SALE_TYPES])]), eb('type', 'in', [...REDONE_TYPES])]),
        )
        .execute();
      for (const r of rows) originals.set(r.id, (REDONE_TYPES as readonly string[]).includes(r.type) ? 'void' : 'sale');
    }
    for (const u of undo) {
      const of = originals.get(u.original);
      if (!of) continue;
      let t = totals.get(u.merchant);
      if (!t) totals.set(u.merchant, (t = zeroTotals()));
      if (of === 'void') {
        t.sale_count++;
        t.sale_amount += u.amount;
        t.fee_amount += u.fee;
        continue;
      }
      t.reversal_count++;
      t.reversal_amount += u.amount;
      t.reversal_fee += u.fee;
    }

    // With an external core, merchants with a core account are paid there: decided here, once,
    // before any ledger leg exists (a leg made to one account is never repeated to another).
    const toCore = new Set<string>();
    for (let i = 0; payouts && i < open.length; i += 500) {
      const ids = open.slice(i, i + 500).map((o) => o.merchant_party_id);
      const rows = await trx
        .selectFrom('pay_merchants')
        .select('party_id')
        .where('party_id', 'in', ids)
        .where('core_account', 'is not', null)
        .execute();
      for (const r of rows) toCore.add(r.party_id);
    }
    for (const o of open) {
      const v = totals.get(o.merchant_party_id) ?? zeroTotals();
      const net = v.sale_amount - v.fee_amount - v.refund_amount + v.refund_fee - v.reversal_amount + v.reversal_fee;
      for (const x of [...(Object.values(v) as number[]), net])
        if (!Number.isSafeInteger(x)) throw new RangeError(`settlement ${o.id}: totals are not safe integers`);
      const status = net > 0 ? 'pending' : net === 0 ? 'settled' : 'carried';
      const payout = status === 'pending' && toCore.has(o.merchant_party_id);
      await trx
        .updateTable('pay_settlements')
        .set({
          ...v,
          net,
          status,
          settled_at: status === 'settled' ? now : null,
          transfer_id: status === 'pending' ? `${o.id}:settle` : null,
          ...(payout ? { payout_state: 'due' as const, payout_id: payoutId(o.id) } : {}),
        })
        .where('id', '=', o.id)
        .execute();
      if (status === 'carried')
        await trx.updateTable('pay_transactions').set({ settlement_id: null }).where('settlement_id', '=', o.id).execute();
    }
  });
}

/** `<id>:settle` → `<id>:settle:2` → `<id>:settle:3` … */
export function nextAttempt(transferId: string): string {
  const m = /^(.*:settle)(?::(\d+))?$/.exec(transferId);
  if (!m) return `${transferId}:2`;
  return `${m[1]}:${m[2] ? Number(m[2]) + 1 : 2}`;
}

/** Steps 2 and 3: the ledger transfers of every pending settlement, then mark them settled (or pay them out through the core). */
async function transferPending(
  deps: RunDeps,
  progress: SettlementProgress,
  stopAfterTransfers: boolean,
): Promise<SettlementRunSummary['failures']> {
  const db = deps.db as SettlementDb;
  const pending = await db
    .selectFrom('pay_settlements as s')
    .innerJoin('pay_merchants as m', 'm.party_id', 's.merchant_party_id')
    .select([
      's.id',
      's.merchant_party_id',
      's.business_date',
      's.net',
      's.transfer_id',
      's.payout_state',
      's.payout_id',
      's.payout_account',
      'm.receivable_account_id',
      'm.settlement_account_id',
      'm.core_account',
    ])
    .where('s.status', '=', 'pending')
    .orderBy('s.id')
    .execute();
  const failures: SettlementRunSummary['failures'] = [];
  for (let i = 0; i < pending.length; i += TRANSFER_CHUNK) {
    const chunk = pending.slice(i, i + TRANSFER_CHUNK);
    // The id planned at the claim (or after a refusal, the next attempt's): a crash between the
    // commit and the marking finds it `exists`. A payout's leg goes to core-clearing under the same id.
    const transfers: TransferInput[] = chunk.map((p) => ({
      ...settlementTransfer(
        p.id,
        p.receivable_account_id,
        p.payout_state === 'none' ? p.settlement_account_id : BANK_ACCOUNTS.core_clearing,
        toSafeInt(p.net),
      ),
      id: p.transfer_id ?? `${p.id}:settle`,
    }));
    const results = await deps.ledger.createTransfers(transfers);
    const refused = new Map<number, string>();
    for (const r of results) if (r.result !== 'exists') refused.set(r.index, r.result);
    const ok: string[] = [];
    const payouts: PayoutRow[] = [];
    for (let j = 0; j < chunk.length; j++) {
      const p = chunk[j]!;
      const error = refused.get(j);
      if (error) {
        failures.push({ settlement_id: p.id, merchant_party_id: p.merchant_party_id, error });
        // The ledger answers a refused id with the same refusal forever: the next run tries a new one.
        await db
          .updateTable('pay_settlements')
          .set({ error, transfer_id: nextAttempt(p.transfer_id ?? `${p.id}:settle`) })
          .where('id', '=', p.id)
          .execute();
      } else if (p.payout_state === 'none') ok.push(p.id);
      // The net is in core-clearing now: the core step may go.
      else payouts.push({ ...p, net: toSafeInt(p.net) });
    }
    if (!stopAfterTransfers && ok.length > 0) {
      const at = deps.now();
      for (let k = 0; k < ok.length; k += 500) {
        const ids = ok.slice(k, k + 500);
        await db
          .updateTable('pay_settlements')
          .set({ status: 'settled', error: null, settled_at: at })
          .where('id', 'in', ids)
          .where('status', '=', 'pending')
          .execute();
      }
    }
    if (!stopAfterTransfers && payouts.length > 0) failures.push(...(await payOutAll(deps, payouts)));
    progress('transfer', Math.min(i + TRANSFER_CHUNK, pending.length), pending.length);
  }
  return failures;
}

// ─── Payouts through the core ────────────────────────────────────────────────────────────────────

interface PayoutRow {
  id: string;
  merchant_party_id: string;
  business_date: string;
  net: number;
  payout_state: PayoutState;
  payout_id: string | null;
  payout_account: string | null;
  /** The merchant's core account now (used when a payout id is first sent). */
  core_account: string | null;
}

/** Core calls in flight at once during a run (the ISO link multiplexes them). */
const PAYOUT_CONCURRENCY = 16;

/**
 * The first payout id of a settlement, `<settlement id>:payout`, short enough (≤ 64 with
 * `:<attempt>`) for the core's request id; an unusually long settlement id is hashed instead.
 */
export function payoutId(settlementIdValue: string): string {
  const base = /^[A-Za-z0-9._:-]{1,51}$/.test(settlementIdValue)
    ? settlementIdValue
    : `stlh:${createHash('sha256').update(settlementIdValue).digest('hex').slice(0, 40)}`;
  return `${base}:payout`;
}

/** `<…>:payout` → `<…>:payout:2` → `<…>:payout:3` … (after the core rejected the previous one). */
export function nextPayoutId(id: string): string {
  const m = /^(.*:payout)(?::(\d+))?$/.exec(id);
  if (!m) return `${id}:2`;
  return `${m[1]}:${m[2] ? Number(m[2]) + 1 : 2}`;
}

const both = (zh: string, en: string): string => `${zh} / ${en}`;
const PAYOUT_TEXT = {
  unknown: both('核心系统入账结果未知，下次结算先向核心系统查询', 'core payout outcome unknown: the next run asks the core first'),
  rejected: both(
    '核心系统拒绝了该笔入账（原因未返回），下次结算以新请求号重试',
    'the core rejected the payout (no reason given): the next run tries a new request id',
  ),
  reversed: both(
    '核心系统已冲正该笔入账，下次结算以新请求号重新入账',
    'the core reversed the payout: the next run pays again under a new request id',
  ),
  noAccount: both(
    '商户未登记核心账号，登记后下次结算入账',
    'the merchant has no core account: the next run after one is registered pays it',
  ),
  noCore: both('未接入外部核心系统，接入后入账', 'no external core-banking system is attached: the payout waits for it'),
};

function rejectedText(r: Extract<CoreResult, { outcome: 'rejected' }>): string {
  if (r.code === '91')
    return both(
      `核心系统入账未完成：${r.reason.zh}（91），下次结算先查询`,
      `core payout not done: ${r.reason.en} (91); the next run asks the core first`,
    );
  return both(
    `核心系统拒绝入账：${r.reason.zh}（${r.code}），下次结算以新请求号重试`,
    `core payout rejected: ${r.reason.en} (${r.code}); the next run tries a new request id`,
  );
}

/** The core step of settlements whose ledger leg stands (their net is in bank:core-clearing). */
async function payOutAll(deps: RunDeps, rows: PayoutRow[]): Promise<SettlementRunSummary['failures']> {
  const core = deps.core?.kind === 'iso8583' ? deps.core : undefined;
  const failures: SettlementRunSummary['failures'] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const p = rows[next++]!;
      let error: string | null;
      try {
        error = await payOut(deps, core, p);
      } catch {
        // Unexpected (not a core answer): the row stays as it was ('sent' stays sent), the next run resumes it.
        error = PAYOUT_TEXT.unknown;
      }
      if (error) failures.push({ settlement_id: p.id, merchant_party_id: p.merchant_party_id, error });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PAYOUT_CONCURRENCY, rows.length) }, worker));
  return failures.sort((a, b) => (a.settlement_id < b.settlement_id ? -1 : 1));
}

/**
 * One payout: the core credit of the net under the row's payout id, recorded as 'sent' before the
 * call. A row found 'sent' asks the core what became of that id first: posted → settled; rejected
 * or reversed → the next id; not found → the same request again; unknown → wait for the next run.
 * Every change is conditional on the payout id and state it started from, so runs in several
 * processes at once agree (the core is idempotent on the id). Returns the error text, or null.
 */
async function payOut(deps: RunDeps, core: CoreAdapter | undefined, p: PayoutRow): Promise<string | null> {
  const db = deps.db as SettlementDb;
  const id = p.payout_id;
  if (id === null) throw new Error(`settlement ${p.id}: payout ${p.payout_state} without a payout id`);
  const row = () => db.updateTable('pay_settlements').where('id', '=', p.id).where('status', '=', 'pending').where('payout_id', '=', id);
  const note = async (error: string, code?: string): Promise<string> => {
    await row()
      .set({ error, ...(code ? { payout_code: code } : {}) })
      .where('payout_state', 'in', ['due', 'sent'])
      .execute();
    return error;
  };
  const nextId = async (error: string, code: string): Promise<string> => {
    // Only a definite rejection moves on: that id can never post.
    await row()
      .set({ payout_state: 'due', payout_id: nextPayoutId(id), payout_account: null, payout_code: code, error })
      .where('payout_state', '=', 'sent')
      .execute();
    return error;
  };
  if (!core) return note(PAYOUT_TEXT.noCore);

  let account: string;
  if (p.payout_state === 'sent') {
    const status = await core.status(id);
    if (status === 'posted') return settlePayout(deps, p.id, id);
    if (status === 'unknown') return note(PAYOUT_TEXT.unknown, 'unknown');
    if (status === 'rejected') return nextId(PAYOUT_TEXT.rejected, '05');
    if (status === 'reversed') return nextId(PAYOUT_TEXT.reversed, 'reversed');
    // not_found: it never arrived; the same request again (same id, same account).
    if (p.payout_account === null) throw new Error(`settlement ${p.id}: payout sent without an account`);
    account = p.payout_account;
  } else {
    if (p.core_account === null) return note(PAYOUT_TEXT.noAccount);
    account = p.core_account;
    // Recorded before the call: from here on this id's outcome must be learnt, never guessed.
    const marked = await row().set({ payout_state: 'sent', payout_account: account }).where('payout_state', '=', 'due').executeTakeFirst();
    if (Number(marked.numUpdatedRows) === 0) return null; // another run has moved it on
  }
  const result = await core.credit({ id, account, amount: p.net, narrative: `商户结算 ${p.business_date} merchant settlement` });
  if (result.outcome === 'posted') return settlePayout(deps, p.id, id);
  if (result.outcome === 'unknown') return note(PAYOUT_TEXT.unknown, 'unknown');
  // '91': provably not sent — it stays 'sent', and the next run's status query finds it not found.
  if (result.code === '91') return note(rejectedText(result), '91');
  return nextId(rejectedText(result), result.code);
}

async function settlePayout(deps: RunDeps, settlementIdValue: string, id: string): Promise<null> {
  await (deps.db as SettlementDb)
    .updateTable('pay_settlements')
    .set({ status: 'settled', payout_state: 'done', payout_code: '00', error: null, settled_at: deps.now() })
    .where('id', '=', settlementIdValue)
    .where('status', '=', 'pending')
    .where('payout_id', '=', id)
    .where('payout_state', '=', 'sent')
    .execute();
  return null;
}

async function summarise(
  db: SettlementDb,
  date: string,
  created: number,
  reconciled: number,
  failures: SettlementRunSummary['failures'],
): Promise<SettlementRunSummary> {
  const r = await db
    .selectFrom('pay_settlements')
    .select((eb) => [
      eb.fn.countAll().as('merchants'),
      eb.fn.sum(sql`case when status = 'settled' then 1 else 0 end`).as('settled'),
      eb.fn.sum(sql`case when status = 'carried' then 1 else 0 end`).as('carried'),
      eb.fn.sum(sql`case when status = 'pending' then 1 else 0 end`).as('pending'),
      eb.fn.sum('sale_amount').as('gross'),
      eb.fn.sum('fee_amount').as('fees'),
      eb.fn.sum('refund_amount').as('refunds'),
      eb.fn.sum(sql`case when status = 'carried' then 0 else net end`).as('net'),
    ])
    .where('business_date', '=', date)
    .executeTakeFirstOrThrow();
  const count = await db
    .selectFrom('pay_transactions')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('settlement_id', 'in', db.selectFrom('pay_settlements').select('id').where('business_date', '=', date))
    .executeTakeFirstOrThrow();
  const n = (v: unknown) => toSafeInt(v ?? 0);
  return {
    date,
    merchants: n(r.merchants),
    created,
    settled: n(r.settled),
    carried: n(r.carried),
    pending: n(r.pending),
    transactions: n(count.n),
    gross: n(r.gross),
    fees: n(r.fees),
    refunds: n(r.refunds),
    net: n(r.net),
    reconciled_batches: reconciled,
    failures,
  };
}

// ─── Reading settlements and statements ──────────────────────────────────────────────────────────

export interface SettlementView {
  id: string;
  merchant_party_id: string;
  merchant_name: string | null;
  org_id: string;
  business_date: string;
  cycle: 'T0' | 'T1';
  due_date: string;
  status: SettlementRow['status'];
  sale_count: number;
  sale_amount: number;
  fee_amount: number;
  refund_count: number;
  refund_amount: number;
  refund_fee: number;
  reversal_count: number;
  reversal_amount: number;
  reversal_fee: number;
  net: number;
  transfer_id: string | null;
  error: string | null;
  created_at: number;
  settled_at: number | null;
  /** none: paid on the ledger (2002); due / sent / done: through the core (payout-migration.ts). */
  payout_state: PayoutState;
  payout_id: string | null;
  payout_account: string | null;
  payout_code: string | null;
}

const INT_FIELDS = [
  'sale_count',
  'sale_amount',
  'fee_amount',
  'refund_count',
  'refund_amount',
  'refund_fee',
  'reversal_count',
  'reversal_amount',
  'reversal_fee',
  'net',
  'created_at',
] as const;

function toView(r: SettlementRow & { merchant_name: string | null }): SettlementView {
  const out = { ...r };
  for (const k of INT_FIELDS) out[k] = toSafeInt(r[k], k);
  out.settled_at = r.settled_at === null ? null : toSafeInt(r.settled_at);
  return out;
}

/** Who may see which settlements: staff by organisation subtree, a merchant user only its own party. */

export async function listSettlements(
  db: SettlementDb,
  scope: SettlementScope,
  q: {
    date?: string | undefined;
    merchant_party_id?: string | undefined;
    status?: string | undefined;
    limit?: number | undefined;
    offset?: number | undefined;
  },
): Promise<{ items: SettlementView[]; total: number }> {
  let base = db.selectFrom('pay_settlements as s').where('s.status', '<>', 'open');
  if (scope.kind === 'owner') base = base.where('s.merchant_party_id', '=', scope.partyId ?? '\u0000none');
  else base = base.where('s.org_id', 'in', scope.orgIds.length > 0 ? [...scope.orgIds] : ['\u0000none']);
  if (q.date) base = base.where('s.business_date', '=', q.date);
  if (q.merchant_party_id) base = base.where('s.merchant_party_id', '=', q.merchant_party_id);
  if (q.status) base = base.where('s.status', '=', q.status as SettlementRow['status']);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .leftJoin('parties as p', 'p.id', 's.merchant_party_id')
    .selectAll('s')
    .select('p.name as merchant_name')
    .orderBy('s.business_date', 'desc')
    .orderBy('s.merchant_party_id')
    .limit(q.limit ?? 100)
    .offset(q.offset ?? 0)
    .execute();
  return { items: rows.map((r) => toView(r as SettlementRow & { merchant_name: string | null })), total: toSafeInt(total.n) };
}

/** One settlement the scope may see, or not_found (never forbidden: nobody learns another's exists). */
export async function visibleSettlement(db: SettlementDb, scope: SettlementScope, id: string): Promise<SettlementView> {
  const row = await db
    .selectFrom('pay_settlements as s')
    .leftJoin('parties as p', 'p.id', 's.merchant_party_id')
    .selectAll('s')
    .select('p.name as merchant_name')
    .where('s.id', '=', id)
    .where('s.status', '<>', 'open')
    .executeTakeFirst();
  if (!row) throw new XiaoweiError('not_found');
  const ok = scope.kind === 'owner' ? scope.partyId !== null && row.merchant_party_id === scope.partyId : scope.orgIds.includes(row.org_id);
  if (!ok) throw new XiaoweiError('not_found');
  return toView(row);
}

export interface StatementLine {
  transaction_id: string;
  /** µs since the epoch. */
  time: number;
  business_date: string;
  type: string;
  status: string;
  /** sale, refund, reversal (void, completion void or reversal that moved money back), none. */
  kind: string;
  /** Card last 4, 'QR' for QR payments, null otherwise. */
  card: string | null;
  /** Signed from the merchant's side: refunds, voids and reversals are negative (amount − fee = net, except kind none). */
  amount: number;
  fee: number;
  /** Effect on the merchant: what the line adds to the settlement's net. */
  net: number;
  terminal_serial: string | null;
  trace_no: number | null;
  auth_code: string | null;
  original_id: string | null;
}

export interface Statement {
  settlement: SettlementView;
  lines: StatementLine[];
}

/** The lines of a settlement (the rows stamped with its id), oldest first; their nets sum to the settlement's net. */
export async function statementLines(db: SettlementDb, settlementIdValue: string): Promise<StatementLine[]> {
  const rows = await sql<Record<string, unknown>>`
    select t.id, t.created_at, t.business_date, t.type, t.status, t.card_last4, t.amount, t.fee, t.trace_no, t.auth_code, t.original_id,
      term.serial as terminal_serial, ${KIND} as kind
    from pay_transactions t
      left join pay_transactions o on o.id = t.original_id
      left join terminals term on term.id = t.terminal_id
    where t.settlement_id = ${settlementIdValue}
    order by t.created_at, t.id`.execute(db);
  return rows.rows.map((r) => {
    const amount = toSafeInt(r.amount);
    const fee = toSafeInt(r.fee);
    const kind = String(r.kind);
    const type = String(r.type);
    return {
      transaction_id: String(r.id),
      time: toSafeInt(r.created_at),
      business_date: String(r.business_date),
      type,
      status: String(r.status),
      kind,
      card: type === 'qr_sale' ? 'QR' : ((r.card_last4 as string | null) ?? null),
      // From the merchant's side: what goes back (refunds, voids, reversals) is negative, so amount − fee = net.
      amount: kind === 'refund' || kind === 'reversal' ? -amount : amount,
      fee: kind === 'refund' || kind === 'reversal' ? -fee : fee,
      net: lineNet(kind, amount, fee),
      terminal_serial: (r.terminal_serial as string | null) ?? null,
      trace_no: r.trace_no === null || r.trace_no === undefined ? null : toSafeInt(r.trace_no),
      auth_code: (r.auth_code as string | null) ?? null,
      original_id: (r.original_id as string | null) ?? null,
    };
  });
}

// ─── CSV (a UI edge: yuan with two decimals only here) ────────────────────────────────────────────

/** Fen → "12.34" (exact; no floating point). */
export function yuan(fen: number): string {
  const neg = fen < 0;
  const abs = BigInt(Math.abs(fen));
  const s = `${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}

const CSV_HEAD = {
  'zh-CN': [
    '时间',
    '业务日期',
    '交易类型',
    '状态',
    '卡号后四位/二维码',
    '金额(元)',
    '手续费(元)',
    '结算净额(元)',
    '终端序列号',
    '凭证号',
    '授权码',
    '交易编号',
  ],
  en: [
    'Time',
    'Business date',
    'Type',
    'Status',
    'Card last 4 / QR',
    'Amount (CNY)',
    'Fee (CNY)',
    'Net (CNY)',
    'Terminal serial',
    'Trace no',
    'Auth code',
    'Transaction id',
  ],
} as const;

const TYPE_TEXT: Record<string, { zh: string; en: string }> = {
  sale: { zh: '消费', en: 'Sale' },
  completion: { zh: '预授权完成', en: 'Completion' },
  qr_sale: { zh: '扫码支付', en: 'QR payment' },
  refund: { zh: '退货', en: 'Refund' },
  void: { zh: '消费撤销', en: 'Void' },
  completion_void: { zh: '预授权完成撤销', en: 'Completion void' },
  reversal: { zh: '冲正', en: 'Reversal' },
};

const PAYOUT_STATE_TEXT: Record<PayoutState, { zh: string; en: string }> = {
  none: { zh: '入结算账户', en: 'to the settlement account' },
  due: { zh: '待入账', en: 'due' },
  sent: { zh: '已发送，待确认', en: 'sent, outcome pending' },
  done: { zh: '已入账', en: 'paid' },
};

function csvCell(v: string): string {
  // Quote everything that could break a cell; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d+\.\d{2}$/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Beijing local time "YYYY-MM-DD HH:MM:SS" of a µs timestamp. */
function beijing(us: number): string {
  return new Date(Math.floor(us / 1000) + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** The statement as CSV: UTF-8 with a BOM (Excel), header row in the locale, amounts in yuan. */
export function statementCsv(statement: Statement, locale: 'zh-CN' | 'en'): string {
  const lang = locale === 'en' ? 'en' : 'zh';
  const rows: string[][] = [[...CSV_HEAD[locale]]];
  for (const l of statement.lines) {
    rows.push([
      beijing(l.time),
      l.business_date,
      TYPE_TEXT[l.type]?.[lang] ?? l.type,
      l.status,
      l.card ?? '',
      yuan(l.amount),
      yuan(l.fee),
      yuan(l.net),
      l.terminal_serial ?? '',
      l.trace_no === null ? '' : String(l.trace_no),
      l.auth_code ?? '',
      l.transaction_id,
    ]);
  }
  const s = statement.settlement;
  const total = locale === 'en' ? 'Total' : '合计';
  rows.push([
    total,
    s.business_date,
    '',
    s.status,
    '',
    yuan(s.sale_amount - s.refund_amount - s.reversal_amount),
    yuan(s.fee_amount - s.refund_fee - s.reversal_fee),
    yuan(s.net),
    '',
    '',
    '',
    s.id,
  ]);
  if (s.payout_state && s.payout_state !== 'none') {
    // Paid into the merchant's core account: state (and why not yet), core answer, account, payout id.
    const state = PAYOUT_STATE_TEXT[s.payout_state][lang];
    const why = s.error && s.payout_state !== 'done' ? `: ${s.error.split(' / ')[lang === 'en' ? 1 : 0] ?? s.error}` : '';
    const label = locale === 'en' ? 'Core payout' : '核心系统入账';
    rows.push([
      label,
      s.business_date,
      `${state}${why}`,
      s.payout_code ?? '',
      s.payout_account ?? '',
      '',
      '',
      yuan(s.net),
      '',
      '',
      '',
      s.payout_id ?? '',
    ]);
  }
  return `\uFEFF${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export type { SettlementDeps, SettlementScope } from './settlement-types.js';
