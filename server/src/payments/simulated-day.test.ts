/**
 * A simulated business day, end to end through the real terminal protocol (MAC-signed requests
 * over a socket, PIN blocks under the session keys): thousands of mixed transactions from many
 * terminals of several merchants — sales, voids, refunds, pre-authorisations with completions and
 * their voids, reversals (also of originals that never arrived), retries of the same clientId,
 * the same clientId with other fields, declines (wrong PIN, PIN tries, insufficient funds, off-us
 * cards) — then batch close on every terminal and settlement for the date. Everything expected
 * is computed here, independently, from the answers the terminals got and the fee plan.
 *
 * The second suite runs a real server process on a SQLite file, kills it with SIGKILL in the
 * middle of a stream of sales, starts it again, and checks that every sale the terminals saw
 * approved is in the ledger and in the transactions table exactly once, and that retrying the
 * unanswered ones with the same clientId gives each at most one effect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { killAll, freePort, newMasterKey, startServer, type ServerProcess } from '../../test/support/spawn-server.js';
import { buildApp } from '../app.js';
import { currentTotp, setTotpSecret } from '../identity/sessions.js';
import type { IdentityTables } from '../identity/tables.js';
import { createLedger } from '../ledger/index.js';
import { loadConfig } from '../platform/config.js';
import { openDatabase } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrations.js';
import { Secrets } from '../platform/secrets.js';
import { bootstrap } from '../seed/bootstrap.js';
import { TerminalApiError } from '../terminals/client.js';
import { makePinBlock } from './card-access.js';
import { COMPLETION_MAX_PERCENT, businessDate, feeFor, refundFee, type BatchTotals, type FeePlan, type PaymentsSharedTables, type TxnReply } from './contracts.js';
import { runSettlement } from './settlement.js';
import { setupPaymentsWorld, type PaymentsWorld, type WorldTerminal } from './test-support.js';

/** Operations per terminal; 3 merchants × 3 terminals. */
const OPS_PER_TERMINAL = Number(process.env.XIAOWEI_SIMDAY_OPS ?? 180);
const MERCHANTS = 3;
const TERMINALS_PER_MERCHANT = 3;
const CUSTOMERS = 8;
const BALANCE = 5_000_000; // ¥50,000 each
const LIMITS = { per_txn_limit: 20_000_000, daily_limit: 100_000_000 };
const SALE = '/api/v1/terminal/pay/sale';

/** A deterministic generator, so a failing run can be repeated (seed printed on failure). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Luhn-valid PAN of another bank (off-us for this host). */
function offUsPan(r: () => number): string {
  const body = '622848' + Array.from({ length: 12 }, () => Math.floor(r() * 10)).join('');
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

interface Sent {
  path: string;
  body: Record<string, unknown>;
  reply: TxnReply;
}

/** What this side knows of one sale-like transaction (sale or completion), from the answers alone. */
interface Book {
  reply: TxnReply;
  merchant: string;
  account: string;
  terminal: string;
  batchNo: number | null;
  /** approved | voided | reversed (a completion voided is 'voided' too). */
  state: 'approved' | 'voided' | 'reversed';
  refunded: number;
  refundedFee: number;
  /** A refund of it is in flight from some terminal (so another terminal does not void it meanwhile). */
  busy?: boolean;
}

interface Ledgerless {
  /** Per merchant: expected receivable movement (= settlement net). */
  net: Map<string, number>;
  /** Per customer account: expected posted balance change. */
  spent: Map<string, number>;
}

const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);

async function send(t: WorldTerminal, p: string, body: Record<string, unknown>): Promise<TxnReply> {
  return t.client.request<TxnReply>('POST', p, body);
}

describe.each(DIALECTS)('a simulated business day on %s', (dialect) => {
  let h: Harness;
  const worlds: PaymentsWorld[] = [];
  let plan: FeePlan;

  beforeAll(async () => {
    h = await createHarness(dialect);
    for (let m = 0; m < MERCHANTS; m++) {
      const w = await setupPaymentsWorld(h, { customers: CUSTOMERS, balance: BALANCE, cardLimits: LIMITS, settlementCycle: 'T0', signedOn: 'supervisor' });
      for (let k = 1; k < TERMINALS_PER_MERCHANT; k++) await w.addTerminal();
      // addTerminal signs the cashier on; the extra terminals work with the supervisor too.
      for (const t of w.terminals) await t.signOnSupervisor();
      worlds.push(w);
    }
    plan = worlds[0]!.feePlan;
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('balances: every terminal batch, every merchant settlement, every customer balance, the ledger', async () => {
    const seed = Number(process.env.XIAOWEI_SIMDAY_SEED ?? Date.now() % 1_000_000);
    const deps = worlds[0]!.deps;
    const startDate = businessDate(deps.now(), deps.cutoffMinutes);
    const allCustomers = worlds.flatMap((w) => w.customers);
    // The last customer of each world is kept for wrong PINs (its card locks after 3 tries).
    const wrongPinCards = new Set(worlds.map((w) => w.customers[w.customers.length - 1]!.card.pan));
    const payers = allCustomers.filter((c) => !wrongPinCards.has(c.card.pan));
    const accountOfPan = new Map(allCustomers.map((c) => [c.card.pan, c.accountId]));
    const expected: Ledgerless = { net: new Map(), spent: new Map() };
    const books = new Map<string, Book>(); // by transaction id
    const firstAnswers: Sent[] = [];
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    const count = (k: string): void => void (counts[k] = (counts[k] ?? 0) + 1);

    const perTerminal = async (w: PaymentsWorld, t: WorldTerminal, ti: number): Promise<void> => {
      const r = rng(seed * 31 + ti);
      const merchant = w.merchant.partyId;
      // PIN blocks per card under this terminal's session key (computed once; reused for its sales).
      const key = await t.pinKeyHex();
      const pinBlocks = new Map(allCustomers.map((c) => [c.card.pan, makePinBlock(c.card.pin, c.card.pan, key)]));
      const mine: Book[] = [];
      const holds: { reply: TxnReply; account: string; completed: boolean }[] = [];
      let n = 0;
      const cid = (): string => `sd-${ti}-${++n}`;
      const pickPayer = () => payers[Math.floor(r() * payers.length)]!;
      const record = (p: string, body: Record<string, unknown>, reply: TxnReply): TxnReply => {
        firstAnswers.push({ path: p, body, reply });
        return reply;
      };
      /** `busy`: this terminal will act on the sale next (a reversal), so other terminals leave it alone. */
      const sale = async (amount: number, c = pickPayer(), pinBlock = pinBlocks.get(c.card.pan)!, busy = false): Promise<TxnReply> => {
        const body = { clientId: cid(), amount, card: { pan: c.card.pan, expiry: c.card.expiry }, pinBlock };
        const reply = record(SALE, body, await send(t, SALE, body));
        if (reply.approved) {
          if (reply.fee !== feeFor(plan, amount)) problems.push(`sale ${reply.id}: fee ${reply.fee} ≠ ${feeFor(plan, amount)}`);
          const b: Book = { reply, merchant, account: c.accountId, terminal: t.id, batchNo: reply.batchNo, state: 'approved', refunded: 0, refundedFee: 0, busy };
          books.set(reply.id, b);
          mine.push(b);
          add(expected.net, merchant, amount - reply.fee);
          add(expected.spent, c.accountId, -amount);
        }
        return reply;
      };

      for (let op = 0; op < OPS_PER_TERMINAL; op++) {
        const x = r();
        if (x < 0.45) {
          const reply = await sale(100 + Math.floor(r() * 30_000));
          count(reply.approved ? 'sale approved' : `sale ${reply.responseCode}`);
          if (!reply.approved) problems.push(`sale declined ${reply.responseCode}`);
        } else if (x < 0.52) {
          // Void a sale of this terminal still approved and not refunded (same open batch).
          const target = mine.find((b) => b.state === 'approved' && b.refunded === 0 && !b.busy && b.reply.type === 'sale');
          if (!target) continue;
          target.busy = true;
          const body = { clientId: cid(), originalId: target.reply.id };
          const reply = record('/api/v1/terminal/pay/void', body, await send(t, '/api/v1/terminal/pay/void', body));
          count(`void ${reply.responseCode}`);
          if (!reply.approved) problems.push(`void of ${target.reply.id} declined ${reply.responseCode}`);
          else {
            target.state = 'voided';
            add(expected.net, merchant, -(target.reply.amount - target.reply.fee));
            add(expected.spent, target.account, target.reply.amount);
          }
          target.busy = false;
        } else if (x < 0.6) {
          // Refund part (or the rest) of an approved sale of this merchant, from any of its terminals.
          const candidates = [...books.values()].filter((b) => b.merchant === merchant && b.state === 'approved' && !b.busy && b.refunded < b.reply.amount);
          if (candidates.length === 0) continue;
          const target = candidates[Math.floor(r() * candidates.length)]!;
          target.busy = true;
          const left = target.reply.amount - target.refunded;
          const amount = r() < 0.3 ? left : 1 + Math.floor(r() * left);
          const fee = refundFee({ amount: target.reply.amount, fee: target.reply.fee, refunded_amount: target.refunded, refunded_fee: target.refundedFee }, amount);
          const body = { clientId: cid(), originalId: target.reply.id, amount };
          const reply = record('/api/v1/terminal/pay/refund', body, await send(t, '/api/v1/terminal/pay/refund', body));
          count(`refund ${reply.responseCode}`);
          if (!reply.approved) problems.push(`refund of ${target.reply.id} declined ${reply.responseCode}`);
          else {
            if (reply.fee !== fee) problems.push(`refund ${reply.id}: returned fee ${reply.fee} ≠ ${fee}`);
            target.refunded += amount;
            target.refundedFee += reply.fee;
            add(expected.net, merchant, -(amount - reply.fee));
            add(expected.spent, target.account, amount);
          }
          // A refund above what is left is refused with 64 and changes nothing.
          if (r() < 0.2) {
            const over = { clientId: cid(), originalId: target.reply.id, amount: target.reply.amount - target.refunded + 1 };
            const refused = record('/api/v1/terminal/pay/refund', over, await send(t, '/api/v1/terminal/pay/refund', over));
            count(`refund over ${refused.responseCode}`);
            if (refused.approved || refused.responseCode !== '64') problems.push(`refund above the original answered ${refused.responseCode}`);
          }
          target.busy = false;
        } else if (x < 0.68) {
          // Pre-authorisation, then (mostly) a completion up to 115 %, sometimes its void, or the hold's void.
          const c = pickPayer();
          const amount = 1_000 + Math.floor(r() * 20_000);
          const body = { clientId: cid(), amount, card: { pan: c.card.pan, expiry: c.card.expiry }, pinBlock: pinBlocks.get(c.card.pan)! };
          const hold = record('/api/v1/terminal/pay/preauth', body, await send(t, '/api/v1/terminal/pay/preauth', body));
          count(`preauth ${hold.responseCode}`);
          if (!hold.approved) {
            problems.push(`preauth declined ${hold.responseCode}`);
            continue;
          }
          holds.push({ reply: hold, account: c.accountId, completed: false });
          const y = r();
          if (y < 0.7) {
            const final = Math.floor((amount * (50 + Math.floor(r() * (COMPLETION_MAX_PERCENT - 49)))) / 100);
            const cb = { clientId: cid(), originalId: hold.id, amount: final };
            const done = record('/api/v1/terminal/pay/completion', cb, await send(t, '/api/v1/terminal/pay/completion', cb));
            count(`completion ${done.responseCode}`);
            if (!done.approved) problems.push(`completion of ${amount} for ${final} declined ${done.responseCode}`);
            else {
              if (done.fee !== feeFor(plan, final)) problems.push(`completion ${done.id}: fee ${done.fee} ≠ ${feeFor(plan, final)}`);
              holds[holds.length - 1]!.completed = true;
              const voidIt = r() < 0.2;
              const b: Book = { reply: done, merchant, account: c.accountId, terminal: t.id, batchNo: done.batchNo, state: 'approved', refunded: 0, refundedFee: 0, busy: voidIt };
              books.set(done.id, b);
              mine.push(b);
              add(expected.net, merchant, final - done.fee);
              add(expected.spent, c.accountId, -final);
              if (voidIt) {
                const vb = { clientId: cid(), originalId: done.id };
                const v = record('/api/v1/terminal/pay/completion-void', vb, await send(t, '/api/v1/terminal/pay/completion-void', vb));
                count(`completion-void ${v.responseCode}`);
                if (!v.approved) problems.push(`completion void declined ${v.responseCode}`);
                else {
                  b.state = 'voided';
                  add(expected.net, merchant, -(final - done.fee));
                  add(expected.spent, c.accountId, final);
                }
                b.busy = false;
              }
            }
            // A second completion of the same hold is refused.
            if (r() < 0.2) {
              const again = { clientId: cid(), originalId: hold.id, amount: 100 };
              const refused = record('/api/v1/terminal/pay/completion', again, await send(t, '/api/v1/terminal/pay/completion', again));
              count(`completion again ${refused.responseCode}`);
              if (refused.approved) problems.push('a second completion of one hold was approved');
            }
          } else if (y < 0.85) {
            const vb = { clientId: cid(), originalId: hold.id };
            const v = record('/api/v1/terminal/pay/preauth-void', vb, await send(t, '/api/v1/terminal/pay/preauth-void', vb));
            count(`preauth-void ${v.responseCode}`);
            if (!v.approved) problems.push(`preauth void declined ${v.responseCode}`);
          }
        } else if (x < 0.74) {
          // A sale whose answer "was lost": the terminal reverses it; the effect must vanish.
          const c = pickPayer();
          const reply = await sale(100 + Math.floor(r() * 30_000), c, pinBlocks.get(c.card.pan), true);
          const rb = { clientId: cid(), originalClientId: `sd-${ti}-${n - 1}` };
          const rev = record('/api/v1/terminal/pay/reversal', rb, await send(t, '/api/v1/terminal/pay/reversal', rb));
          count(`reversal ${rev.responseCode}`);
          if (!rev.approved || rev.responseCode !== '00') problems.push(`reversal answered ${rev.responseCode}`);
          const b = books.get(reply.id);
          if (b) b.busy = false;
          if (b && rev.approved) {
            b.state = 'reversed';
            add(expected.net, merchant, -(b.reply.amount - b.reply.fee));
            add(expected.spent, b.account, b.reply.amount);
          }
          // The reversal again (a retry): acknowledged, no second effect.
          const again = await send(t, '/api/v1/terminal/pay/reversal', rb);
          if (JSON.stringify(again) !== JSON.stringify(rev)) problems.push(`reversal retry answered differently: ${JSON.stringify(again)} vs ${JSON.stringify(rev)}`);
        } else if (x < 0.77) {
          // The reversal overtakes its original: the late original must not be approved.
          const late = cid();
          const rb = { clientId: cid(), originalClientId: late };
          const rev = record('/api/v1/terminal/pay/reversal', rb, await send(t, '/api/v1/terminal/pay/reversal', rb));
          count(`early reversal ${rev.responseCode}`);
          if (rev.responseCode !== '00') problems.push(`early reversal answered ${rev.responseCode}`);
          const c = pickPayer();
          const body = { clientId: late, amount: 777, card: { pan: c.card.pan, expiry: c.card.expiry }, pinBlock: pinBlocks.get(c.card.pan)! };
          const reply = record(SALE, body, await send(t, SALE, body));
          count(`late original ${reply.responseCode}`);
          if (reply.approved) problems.push(`a late original after its reversal was approved (${reply.id})`);
        } else if (x < 0.83) {
          // Retry: the same clientId and fields again gets the very first answer.
          const mineFirst = firstAnswers.filter((s) => String(s.body.clientId).startsWith(`sd-${ti}-`));
          const pick = mineFirst[Math.floor(r() * mineFirst.length)];
          if (!pick) continue;
          const again = await send(t, pick.path, pick.body);
          count('retry');
          if (JSON.stringify(again) !== JSON.stringify(pick.reply)) problems.push(`retry of ${String(pick.body.clientId)} answered ${JSON.stringify(again)}, first ${JSON.stringify(pick.reply)}`);
          // The same clientId with another amount: 94, nothing changes.
          // (Not for a late original: its row is the reversal's, which knows no fields to compare.)
          if (pick.path === SALE && pick.reply.responseCode !== '22' && r() < 0.3) {
            const other = await send(t, SALE, { ...pick.body, amount: Number(pick.body.amount) + 1 });
            count(`duplicate ${other.responseCode}`);
            if (other.responseCode !== '94' || other.approved) problems.push(`same clientId, other amount answered ${other.responseCode}`);
          }
        } else if (x < 0.87) {
          // Wrong PIN on the dedicated card: 55, then 75 once the tries are used up.
          const victim = w.customers[w.customers.length - 1]!;
          const reply = await sale(500, victim, makePinBlock(victim.card.pin === '258369' ? '369258' : '258369', victim.card.pan, key));
          count(`wrong pin ${reply.responseCode}`);
          if (reply.approved || !['55', '75'].includes(reply.responseCode)) problems.push(`wrong PIN answered ${reply.responseCode}`);
        } else if (x < 0.92) {
          // More than the account holds: 51.
          const reply = await sale(BALANCE * 2);
          count(`insufficient ${reply.responseCode}`);
          if (reply.approved || reply.responseCode !== '51') problems.push(`a sale above the balance answered ${reply.responseCode}`);
        } else if (x < 0.96) {
          // Another bank's card: 91 (never approved, never pending).
          const body = { clientId: cid(), amount: 1234, card: { pan: offUsPan(r), expiry: '3012' }, pinBlock: pinBlocks.values().next().value! };
          const reply = record(SALE, body, await send(t, SALE, body));
          count(`off-us ${reply.responseCode}`);
          if (reply.approved || reply.responseCode !== '91') problems.push(`off-us card answered ${reply.responseCode}`);
        } else {
          const c = pickPayer();
          const body = { clientId: cid(), card: { pan: c.card.pan, expiry: c.card.expiry }, pinBlock: pinBlocks.get(c.card.pan)! };
          const reply = record('/api/v1/terminal/pay/balance', body, await send(t, '/api/v1/terminal/pay/balance', body));
          count(`balance ${reply.responseCode}`);
          if (!reply.approved || typeof reply.balance !== 'number') problems.push(`balance inquiry answered ${reply.responseCode}`);
        }
      }
      void accountOfPan;
    };

    const jobs = worlds.flatMap((w, wi) => w.terminals.map((t, k) => perTerminal(w, t, wi * TERMINALS_PER_MERCHANT + k)));
    const settled = await Promise.allSettled(jobs);
    for (const s of settled) if (s.status === 'rejected') problems.push(`terminal failed: ${s.reason instanceof TerminalApiError ? `${s.reason.code} ${s.reason.message}` : String(s.reason)}`);
    expect(problems.slice(0, 20), `seed ${seed}; counts ${JSON.stringify(counts)}`).toEqual([]);
    expect(firstAnswers.length).toBeGreaterThan(OPS_PER_TERMINAL * worlds.length * TERMINALS_PER_MERCHANT * 0.8);

    // Batch close on every terminal with the totals the terminal itself kept: balanced.
    for (const w of worlds) {
      for (const t of w.terminals) {
        const open = await t.client.request<{ batchNo: number; totals: BatchTotals }>('GET', '/api/v1/terminal/pay/batch');
        const mineInBatch = [...books.values()].filter((b) => b.terminal === t.id && b.batchNo === open.batchNo && b.state === 'approved');
        const refunds = firstAnswers.filter((s) => s.reply.type === 'refund' && s.reply.approved && s.reply.batchNo === open.batchNo && String(s.body.clientId).startsWith(`sd-${worlds.indexOf(w) * TERMINALS_PER_MERCHANT + w.terminals.indexOf(t)}-`));
        const totals: BatchTotals = {
          saleCount: mineInBatch.length,
          saleAmount: mineInBatch.reduce((a, b) => a + b.reply.amount, 0),
          refundCount: refunds.length,
          refundAmount: refunds.reduce((a, s) => a + s.reply.amount, 0),
        };
        expect(open.totals, `host totals of terminal ${t.serial}`).toEqual(totals);
        const closed = await t.client.request<{ result: string; nextBatchNo: number }>('POST', '/api/v1/terminal/pay/batch/close', { clientId: `close-${t.id}`, totals });
        expect(closed.result).toBe('balanced');
        // A void after the close is refused.
        const old = mineInBatch.find((b) => b.reply.type === 'sale');
        if (old) {
          const v = await send(t, '/api/v1/terminal/pay/void', { clientId: `late-void-${t.id}`, originalId: old.reply.id });
          expect(v.approved).toBe(false);
        }
      }
    }

    // Customers: every posted balance moved by exactly what the answers say.
    for (const w of worlds) {
      for (const c of w.customers) expect(await w.balanceOf(c.accountId), `customer ${c.accountId}`).toBe(BALANCE + (expected.spent.get(c.accountId) ?? 0));
    }
    // Merchants before settlement: the receivable holds the day's net.
    for (const w of worlds) expect(await w.balanceOf(w.merchant.receivable), `receivable of ${w.merchant.partyId}`).toBe(expected.net.get(w.merchant.partyId) ?? 0);

    // Settlement (T0) of the date(s) the day ran in: net = sales − refunds − fees + returned fees.
    const endDate = businessDate(deps.now(), deps.cutoffMinutes);
    for (const date of new Set([startDate, endDate])) await runSettlement(deps, date);
    const sdb = deps.db as Kysely<PaymentsSharedTables & { pay_settlements: { merchant_party_id: string; net: number | string; status: string } }>;
    for (const w of worlds) {
      const rows = await sdb.selectFrom('pay_settlements').select(['net', 'status']).where('merchant_party_id', '=', w.merchant.partyId).execute();
      const net = rows.reduce((a, r) => a + Number(r.net), 0);
      expect(net, `settlement net of ${w.merchant.partyId}`).toBe(expected.net.get(w.merchant.partyId) ?? 0);
      expect(await w.balanceOf(w.merchant.settlement)).toBe(net);
      expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    }
    // Running it again changes nothing.
    await runSettlement(deps, endDate);
    for (const w of worlds) expect(await w.balanceOf(w.merchant.receivable)).toBe(0);

    // Reversed and voided sales: their rows say so.
    const undone = [...books.values()].filter((b) => b.state !== 'approved');
    if (undone.length > 0) {
      const rows = await sdb.selectFrom('pay_transactions').select(['id', 'status']).where('id', 'in', undone.map((b) => b.reply.id)).execute();
      const status = new Map(rows.map((r) => [r.id, r.status]));
      for (const b of undone) expect(status.get(b.reply.id), `transaction ${b.reply.id}`).toBe(b.state);
    }

    const report = await deps.ledger.verify();
    expect(report, report.ok ? '' : String((report as { problem?: string }).problem)).toMatchObject({ ok: true });
  }, 180_000);
});

// ─── kill -9 ────────────────────────────────────────────────────────────────────────────────────

describe.skipIf(!DIALECTS.includes('sqlite'))('kill -9 in the middle of card sales (SQLite, a real server process)', () => {
  // Made in beforeAll, so a run that filters this suite out leaves no folder behind.
  let dataDir = '';
  let dbUrl = '';
  const masterKey = newMasterKey();
  let server: ServerProcess | undefined;
  let world: PaymentsWorld;
  let port: number;
  /** Per terminal: format 4 PIN blocks of the world's cards under its session key (sessions survive the restart). */
  const pinBlocks = new Map<WorldTerminal, Map<string, string>>();

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-simday-kill-'));
    dbUrl = `sqlite:${path.join(dataDir, 'xiaowei.db')}`;
    // Provision with an in-process app on the server's database file and port, then hand both over.
    const database = openDatabase({ url: dbUrl });
    await migrate(database);
    const config = loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent', XIAOWEI_MASTER_KEY: masterKey, XIAOWEI_PENDING_SWEEP_MS: '3600000' });
    const secrets = Secrets.load({ hexKey: masterKey, dataDir });
    const db = database.kysely as Kysely<IdentityTables>;
    const ledger = createLedger(database, config);
    const { bankId } = await bootstrap(db, ledger);
    await ledger.drain();
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    const { hashPassword } = await import('../identity/passwords.js');
    await db.updateTable('users').set({ password_hash: await hashPassword('Admin-pass-2026') }).where('id', '=', admin.id).execute();
    const totp = await setTotpSecret({ db, secrets }, admin.id);
    const built = await buildApp({ config, database, secrets, logger: false, webDist: null });
    port = await freePort();
    await built.app.listen({ port, host: '127.0.0.1' });
    const login = await built.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'Admin-pass-2026', totp: currentTotp(totp) } });
    const adminToken = login.json<{ token: string }>().token;
    world = await setupPaymentsWorld({ app: built.app, db, secrets, bankId, adminToken, payments: built.payments }, { customers: 6, balance: 50_000_000, cardLimits: LIMITS });
    for (let k = 1; k < 6; k++) await world.addTerminal();
    for (const t of world.terminals) {
      const key = await t.pinKeyHex();
      pinBlocks.set(t, new Map(world.customers.map((c) => [c.card.pan, makePinBlock(c.card.pin, c.card.pan, key)])));
    }
    await built.app.close();
    await database.close();
    server = await startServer({ dataDir, masterKey, port, env: { XIAOWEI_PENDING_SWEEP_MS: '3600000' } });
  }, 120_000);

  afterAll(async () => {
    await killAll();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every approved sale exactly once; a retry of an unanswered one has at most one effect', async () => {
    const plan = world.feePlan;
    type Outcome = { body: Record<string, unknown>; t: WorldTerminal; reply?: TxnReply; lost?: boolean };
    const sent: Outcome[] = [];
    let stop = false;
    const before = server!;
    const worker = async (t: WorldTerminal, ti: number): Promise<void> => {
      for (let n = 1; !stop && n < 5000; n++) {
        const c = world.customers[(ti + n) % world.customers.length]!;
        const body = { clientId: `k9-${ti}-${n}`, amount: 100 + ((ti * 7919 + n * 104_729) % 20_000), card: { pan: c.card.pan, expiry: c.card.expiry }, pinBlock: pinBlocks.get(t)!.get(c.card.pan)! };
        const o: Outcome = { body, t };
        sent.push(o);
        try {
          o.reply = await t.client.request<TxnReply>('POST', SALE, body);
        } catch {
          o.lost = true; // the connection died with the process (or was refused): outcome unknown
        }
      }
    };
    const workers = world.terminals.map((t, i) => worker(t, i));
    const started = Date.now();
    while ((sent.filter((o) => o.reply?.approved).length < 50 || Date.now() - started < 1000) && Date.now() - started < 30_000 && !before.exited()) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await before.kill('SIGKILL');
    await Promise.all(workers);
    const approved = sent.filter((o) => o.reply?.approved);
    const lost = sent.filter((o) => o.lost);
    expect(approved.length).toBeGreaterThanOrEqual(50);
    expect(lost.length, 'sales were in flight when the process was killed').toBeGreaterThan(0);
    expect(sent.filter((o) => o.reply && !o.reply.approved).map((o) => o.reply!.responseCode)).toEqual([]);

    server = await startServer({ dataDir, masterKey, port, env: { XIAOWEI_PENDING_SWEEP_MS: '3600000' } });
    // Retry every unanswered sale with its clientId; ask again for a sample of the approved ones.
    const retried: Outcome[] = [];
    for (const o of lost) {
      const reply = await o.t.client.request<TxnReply>('POST', SALE, o.body);
      retried.push({ ...o, reply });
    }
    for (const o of approved.slice(0, 20)) {
      const again = await o.t.client.request<TxnReply>('POST', SALE, o.body);
      expect(again).toEqual(o.reply);
    }
    await server.kill('SIGTERM');

    // From the database: each final approval exactly once, in the table and the journal, and the balances add up.
    const finals = [...approved, ...retried.filter((o) => o.reply!.approved)];
    const database = openDatabase({ url: dbUrl });
    try {
      const pdb = database.kysely as Kysely<PaymentsSharedTables>;
      const rows = await pdb.selectFrom('pay_transactions').select(['id', 'client_id', 'status', 'amount', 'fee']).where('type', '=', 'sale').execute();
      const byClient = new Map(rows.map((r) => [r.client_id, r]));
      expect(rows.length).toBe(new Set(rows.map((r) => r.client_id)).size);
      for (const o of finals) {
        const row = byClient.get(String(o.body.clientId));
        expect(row?.status, String(o.body.clientId)).toBe('approved');
        expect(row?.id).toBe(o.reply!.id);
        expect(Number(row?.fee)).toBe(feeFor(plan, Number(o.body.amount)));
      }
      const approvedRows = rows.filter((r) => r.status === 'approved');
      expect(approvedRows.length).toBe(finals.length);
      const journal = (await database.kysely
        .selectFrom('ledger_transfers' as never)
        .select(['id' as never])
        .where('id' as never, 'like', '%:pay' as never)
        .execute()) as { id: string }[];
      const payIds = new Set(journal.map((j) => j.id));
      expect(journal.length).toBe(payIds.size);
      for (const o of finals) expect(payIds.has(`${o.reply!.id}:pay`), o.reply!.id).toBe(true);
      const ledger = createLedger(database, loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
      try {
        const [receivable] = await ledger.lookupAccounts([world.merchant.receivable]);
        expect(receivable!.credits_posted - receivable!.debits_posted).toBe(finals.reduce((a, o) => a + o.reply!.amount - o.reply!.fee, 0));
        const report = await ledger.verify();
        expect(report.ok).toBe(true);
      } finally {
        await ledger.drain();
      }
    } finally {
      await database.close();
    }
    if (process.env.XIAOWEI_CRASH_STATS) console.log({ approved: approved.length, lost: lost.length, approvedOnRetry: retried.filter((o) => o.reply!.approved).length });
  }, 180_000);
});
