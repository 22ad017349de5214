/**
 * The core-banking conformance suite: ONE test body that every `CoreAdapter` must pass — the
 * built-in ledger (ledger-core.test.ts, both dialects) and the ISO 8583 host link against the
 * switch simulator (iso-core.test.ts). Balances are read back through `inquiry`, so the suite
 * needs nothing from an implementation but the fixture below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XiaoweiError } from '../../../platform/errors.js';
import type { CoreAdapter, CoreResult } from '../contracts.js';

export interface CoreWorld {
  core: CoreAdapter;
  /** A fresh active account holding at least 100,000 fen. */
  account(): Promise<string>;
  /** A fresh account that refuses debits and credits ('62'), and the state its inquiry reports. */
  restricted(): Promise<{ account: string; status: 'frozen' | 'closed' }>;
  /** An account number that exists nowhere. */
  missing: string;
  /** The same kind of adapter with its core out of reach (a dead host, a failed database). */
  unreachable(): Promise<CoreAdapter>;
  close(): Promise<void>;
}

let seq = 0;
/** A request id unique across runs and processes. */
export const requestId = (p = 'cf'): string => `${p}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

const POSTED = { outcome: 'posted', code: '00' } as const;
const rejectedWith = (code: string) => ({ outcome: 'rejected', code }) as const;

export function coreConformance(name: string, setup: () => Promise<CoreWorld>): void {
  describe(`core-banking conformance: ${name}`, () => {
    let w: CoreWorld;
    let core: CoreAdapter;
    beforeAll(async () => {
      w = await setup();
      core = w.core;
    });
    afterAll(async () => {
      await w?.close();
    });

    const available = async (account: string): Promise<number> => {
      const r = await core.inquiry(account);
      if (!r.found) throw new Error(`account ${account} not found`);
      return r.available;
    };
    const debit = (account: string, amount: number, id = requestId()): Promise<CoreResult> => core.debit({ id, account, amount });
    const credit = (account: string, amount: number, id = requestId()): Promise<CoreResult> => core.credit({ id, account, amount });

    it('answers an inquiry: an active account with its available fen in CNY; an unknown account is not found', async () => {
      const a = await w.account();
      const r = await core.inquiry(a);
      expect(r).toMatchObject({ found: true, status: 'active', currency: 'CNY' });
      if (!r.found) return;
      expect(Number.isSafeInteger(r.available)).toBe(true);
      expect(r.available).toBeGreaterThanOrEqual(100_000);
      expect(await core.inquiry(w.missing)).toEqual({ found: false });
    });

    it('debits and credits: posted with a bilingual reason, the balance moves by exactly the amount', async () => {
      const a = await w.account();
      const start = await available(a);
      const d = await debit(a, 12_345);
      expect(d).toMatchObject(POSTED);
      if (d.outcome !== 'unknown') expect(d.reason.zh && d.reason.en).toBeTruthy();
      expect(await available(a)).toBe(start - 12_345);
      expect(await credit(a, 345)).toMatchObject(POSTED);
      expect(await available(a)).toBe(start - 12_000);
    });

    it('rejects a debit beyond the available balance with 51 and moves nothing; the whole balance can be taken', async () => {
      const a = await w.account();
      const start = await available(a);
      expect(await debit(a, start + 1)).toMatchObject(rejectedWith('51'));
      expect(await available(a)).toBe(start);
      expect(await debit(a, start)).toMatchObject(POSTED);
      expect(await available(a)).toBe(0);
      expect(await debit(a, 1)).toMatchObject(rejectedWith('51'));
    });

    it('rejects a debit or a credit on an unknown account with 14', async () => {
      expect(await debit(w.missing, 100)).toMatchObject(rejectedWith('14'));
      expect(await credit(w.missing, 100)).toMatchObject(rejectedWith('14'));
    });

    it('rejects a frozen or closed account with 62 and reports its state', async () => {
      const { account, status } = await w.restricted();
      expect(await core.inquiry(account)).toMatchObject({ found: true, status });
      expect(await debit(account, 100)).toMatchObject(rejectedWith('62'));
      expect(await credit(account, 100)).toMatchObject(rejectedWith('62'));
    });

    it('rejects a bad amount with 13 without touching the account; a malformed id is a typed error', async () => {
      const a = await w.account();
      const start = await available(a);
      for (const amount of [0, -5, 1.5, Number.NaN, 1_000_000_000_000, Number.MAX_SAFE_INTEGER + 1]) {
        expect(await debit(a, amount)).toMatchObject(rejectedWith('13'));
        expect(await credit(a, amount)).toMatchObject(rejectedWith('13'));
      }
      expect(await available(a)).toBe(start);
      for (const id of ['', 'has space', 'x'.repeat(65), 'bad/slash']) {
        await expect(core.debit({ id, account: a, amount: 100 })).rejects.toSatisfy(
          (e) => e instanceof XiaoweiError && e.code === 'core_request_invalid',
        );
      }
      await expect(core.status('bad id')).rejects.toBeInstanceOf(XiaoweiError);
      await expect(core.reverse({ id: requestId(), originalId: 'x'.repeat(65) })).rejects.toBeInstanceOf(XiaoweiError);
    });

    it('answers a retry with the first outcome and moves money once, also when the retries run at the same time', async () => {
      const a = await w.account();
      const start = await available(a);
      const id = requestId();
      expect(await debit(a, 700, id)).toMatchObject(POSTED);
      expect(await debit(a, 700, id)).toMatchObject(POSTED);
      const together = requestId();
      const answers = await Promise.all(Array.from({ length: 5 }, () => debit(a, 300, together)));
      for (const r of answers) expect(r).toMatchObject(POSTED);
      expect(await available(a)).toBe(start - 1_000);
      // A rejected id keeps its rejection even once the money is there.
      const late = requestId();
      expect(await debit(a, start, late)).toMatchObject(rejectedWith('51'));
      expect(await credit(a, 5_000)).toMatchObject(POSTED);
      expect(await debit(a, start, late)).toMatchObject(rejectedWith('51'));
      expect(await available(a)).toBe(start + 4_000);
    });

    it('answers 94 to the same id with another amount, account or direction, and moves nothing more', async () => {
      const a = await w.account();
      const b = await w.account();
      const start = await available(a);
      const id = requestId();
      expect(await debit(a, 500, id)).toMatchObject(POSTED);
      expect(await debit(a, 501, id)).toMatchObject(rejectedWith('94'));
      expect(await debit(b, 500, id)).toMatchObject(rejectedWith('94'));
      expect(await credit(a, 500, id)).toMatchObject(rejectedWith('94'));
      expect(await available(a)).toBe(start - 500);
      // A rejected id is taken too.
      const rid = requestId();
      expect(await debit(w.missing, 500, rid)).toMatchObject(rejectedWith('14'));
      expect(await debit(a, 500, rid)).toMatchObject(rejectedWith('94'));
      expect(await available(a)).toBe(start - 500);
    });

    it('reverses a debit and a credit once, however often and however concurrently it is asked', async () => {
      const a = await w.account();
      const start = await available(a);
      const d = requestId();
      expect(await debit(a, 2_000, d)).toMatchObject(POSTED);
      expect(await core.reverse({ id: requestId(), originalId: d })).toMatchObject(POSTED);
      expect(await available(a)).toBe(start);
      expect(await core.reverse({ id: requestId(), originalId: d })).toMatchObject(POSTED);
      expect(await available(a)).toBe(start);
      // A reversed id stays taken: the debit is not made again.
      expect(await debit(a, 2_000, d)).toMatchObject(POSTED);
      expect(await available(a)).toBe(start);

      const c = requestId();
      expect(await credit(a, 3_000, c)).toMatchObject(POSTED);
      const answers = await Promise.all(Array.from({ length: 4 }, () => core.reverse({ id: requestId(), originalId: c })));
      for (const r of answers) expect(r).toMatchObject(POSTED);
      expect(await available(a)).toBe(start);
    });

    it('reverses an original it never saw as nothing to undo, and that original then cannot post (94)', async () => {
      const a = await w.account();
      const start = await available(a);
      const ghost = requestId();
      expect(await core.reverse({ id: requestId(), originalId: ghost })).toMatchObject(POSTED);
      expect(await debit(a, 900, ghost)).toMatchObject(rejectedWith('94'));
      expect(await available(a)).toBe(start);
      expect(await core.status(ghost)).toBe('reversed');
      // A rejected original has nothing to undo and stays rejected.
      const no = requestId();
      expect(await debit(a, start + 1, no)).toMatchObject(rejectedWith('51'));
      expect(await core.reverse({ id: requestId(), originalId: no })).toMatchObject(POSTED);
      expect(await core.status(no)).toBe('rejected');
      expect(await available(a)).toBe(start);
    });

    it('tells the status of a request id in every state: posted, reversed, rejected, not found', async () => {
      const a = await w.account();
      const p = requestId();
      const r = requestId();
      const j = requestId();
      const rev = requestId();
      expect(await debit(a, 100, p)).toMatchObject(POSTED);
      expect(await credit(a, 100, r)).toMatchObject(POSTED);
      expect(await core.reverse({ id: rev, originalId: r })).toMatchObject(POSTED);
      expect(await debit(w.missing, 100, j)).toMatchObject(rejectedWith('14'));
      expect(await core.status(p)).toBe('posted');
      expect(await core.status(r)).toBe('reversed');
      expect(await core.status(j)).toBe('rejected');
      expect(await core.status(requestId())).toBe('not_found');
      // A reversal's own id names no debit or credit.
      expect(await core.status(rev)).toBe('not_found');
    });

    it('many debits at once on one account: each posted once, the balance exact', async () => {
      const a = await w.account();
      const start = await available(a);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => debit(a, 100 + i)));
      for (const r of answers) expect(r).toMatchObject(POSTED);
      expect(await available(a)).toBe(start - (40 * 100 + (39 * 40) / 2));
    });

    it('with its core out of reach: a debit is 91 (not sent) or unknown, never posted; status unknown; inquiry core_unavailable', async () => {
      const dead = await w.unreachable();
      const a = await w.account();
      const r = await dead.debit({ id: requestId(), account: a, amount: 100 });
      expect(r.outcome === 'unknown' || (r.outcome === 'rejected' && r.code === '91')).toBe(true);
      expect(await dead.status(requestId())).toBe('unknown');
      await expect(dead.inquiry(a)).rejects.toSatisfy((e) => e instanceof XiaoweiError && e.code === 'core_unavailable');
    });
  });
}
