/**
 * A card sale over the terminal protocol answers nothing before it is durable (DESIGN.md rule 3),
 * with its sequence number committed in order but not synced on its own (`terminalAuth:
 * 'ordered-seq'`): the handler runs right after the check's commit, and the answer waits for the
 * log sync that covers the check, the claim, the ledger's transfers and the final update. With
 * the server's log sync replaced by one the test holds and releases (or fails) by hand. SQLite
 * only: on PostgreSQL every commit here is durable in COMMIT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/harness.js';
import { ManualSync, settled } from '../platform/db/test-support.js';
import { WalSync } from '../platform/db/wal-sync.js';
import { TerminalApiError } from '../terminals/client.js';
import type { TxnReply } from './contracts.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

describe('a card sale is answered only once durable, its sequence number ordered (SQLite)', () => {
  let h: Harness;
  let w: PaymentsWorld;
  let wal: WalSync;
  let sync: ManualSync;
  /** While true, every log sync waits for the test. */
  let hold = false;
  let n = 0;

  beforeAll(async () => {
    h = await createHarness('sqlite', { XIAOWEI_RISK: 'off' });
    w = await setupPaymentsWorld(h, { cardLimits: { per_txn_limit: 200_000, daily_limit: 500_000 } });
    sync = new ManualSync();
    wal = WalSync.of(h.tdb.database.sqlite!)!;
    expect(wal).toBeDefined();
    wal.useSyncFile(() => {
      if (!hold) return Promise.resolve();
      began.push({ final: (row(watching)?.reply ?? '') !== '', seq: lastSeq() });
      return sync.fn();
    });
  });
  afterAll(async () => {
    hold = false;
    for (const c of sync.calls) c.resolve();
    wal.useSyncFile(undefined);
    const report = await h.ledger.verify();
    expect(report.ok).toBe(true);
    await h.close();
  });

  const raw = () => h.tdb.database.sqlite!;
  const row = (clientId: string) =>
    raw().prepare('select status, reply, amount from pay_transactions where client_id = ?').get(clientId) as
      { status: string; reply: string; amount: number } | undefined;
  const lastSeq = (): number =>
    (raw().prepare('select last_seq from terminal_sessions where id = ?').get(w.terminal.session!.sessionId) as { last_seq: number })
      .last_seq;
  const available = async (): Promise<number> => {
    const [a] = await h.ledger.lookupAccounts([w.customerAccount]);
    return a!.credits_posted - a!.debits_posted - a!.debits_pending;
  };
  const saleBody = async (amount: number) => ({
    clientId: `sd-${process.pid}-${++n}`,
    amount,
    card: { pan: w.card.pan, expiry: w.card.expiry },
    pinBlock: await w.pinBlock(),
  });
  /** The sale being watched: each held sync notes whether its final update and its sequence number were written when it began. */
  let watching = '';
  let began: { final: boolean; seq: number }[] = [];
  /** Waits until the sale's claim is written (its row exists). */
  const claimed = async (clientId: string): Promise<void> => {
    for (let i = 0; i < 1000 && !row(clientId); i++) await new Promise((r) => setTimeout(r, 5));
    expect(row(clientId)).toBeDefined();
  };
  /** Settles held syncs in the order they began (`fail`: as an fdatasync reporting EIO) until the answer comes; how many were settled. */
  const settleUntilAnswered = async (answer: Promise<unknown>, fail = false): Promise<number> => {
    let done = 0;
    for (let i = 0; i < 2000 && !(await settled(answer)); i++) {
      const next = sync.calls[done];
      if (!next) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      if (fail) next.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      else next.resolve();
      done++;
    }
    expect(await settled(answer)).toBe(true);
    return done;
  };
  const watch = (clientId: string): void => {
    watching = clientId;
    began = [];
    sync.calls = [];
    hold = true;
  };

  it('runs the sale while its sequence number is not yet synced, and answers after a sync that began once all of it was written', async () => {
    const body = await saleBody(1_500);
    const before = await available();
    watch(body.clientId);
    const answer = w.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', body);
    // No sync has finished, yet the sale got past its sequence check and claimed its row…
    await claimed(body.clientId);
    expect(lastSeq()).toBe(w.terminal.session!.seq);
    // …and nothing is answered while the syncs are held.
    await new Promise((r) => setTimeout(r, 30));
    expect(await settled(answer)).toBe(false);
    const released = await settleUntilAnswered(answer);
    hold = false;
    expect(await answer).toMatchObject({ clientId: body.clientId, status: 'approved', amount: 1_500 });
    // One of the syncs released before the answer began after the final update (and the sequence number) were written.
    const covering = began.findIndex((b) => b.final && b.seq >= w.terminal.session!.seq);
    expect(covering).toBeGreaterThanOrEqual(0);
    expect(covering).toBeLessThan(released);
    expect(await available()).toBe(before - 1_500);
  });

  it('a failed sync answers the sale with an error, never an approval; the retry gets the one outcome, money moved once', async () => {
    const body = await saleBody(2_500);
    const before = await available();
    watch(body.clientId);
    const answer = w.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', body);
    answer.catch(() => undefined);
    await claimed(body.clientId);
    await new Promise((r) => setTimeout(r, 30));
    expect(await settled(answer)).toBe(false);
    await settleUntilAnswered(answer, true);
    hold = false;
    const error = await answer.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TerminalApiError);
    expect((error as TerminalApiError).status).toBe(500);
    // The terminal retries with the same client id (a new sequence number): one sale, one answer.
    const retry = await w.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', body);
    expect(retry).toMatchObject({ clientId: body.clientId, amount: 2_500 });
    const again = await w.terminal.request<TxnReply>('POST', '/api/v1/terminal/pay/sale', body);
    expect(again).toEqual(retry);
    expect((raw().prepare('select count(*) as c from pay_transactions where client_id = ?').get(body.clientId) as { c: number }).c).toBe(1);
    expect(await available()).toBe(before - (retry.approved ? 2_500 : 0));
  });
});
