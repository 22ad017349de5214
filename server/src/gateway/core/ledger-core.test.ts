import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../../test/harness.js';
import { createOrganisation } from '../../identity/organisations.js';
import { createParty } from '../../identity/parties.js';
import { AccountFlags, accountType, LEDGER_CNY, type Ledger } from '../../ledger/index.js';
import { XiaoweiError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { BANK_ACCOUNTS } from '../../seed/bootstrap.js';
import type { CoreAdapter } from './contracts.js';
import { LedgerCore } from './ledger-core.js';
import { coreConformance, requestId, type CoreWorld } from './test-support/conformance.js';

const DEPOSIT = accountType(2001)!;

async function openAccount(h: Harness, balance: number, flags = DEPOSIT.flags): Promise<string> {
  const id = newId();
  const failed = await h.ledger.createAccounts([
    { id, ledger: LEDGER_CNY, code: DEPOSIT.code, flags, owner_id: h.bankId, name: 'core test' },
  ]);
  if (failed.length > 0) throw new Error(`account: ${failed[0]!.result}`);
  if (balance > 0) {
    const bad = await h.ledger.createTransfers([
      { id: `fund:${id}`, debit_account_id: BANK_ACCOUNTS.settlement, credit_account_id: id, amount: balance, ledger: LEDGER_CNY, code: 2 },
    ]);
    if (bad.length > 0) throw new Error(`funding: ${bad[0]!.result}`);
  }
  return id;
}

/** The ledger with its database gone: the queue refuses, reads fail. */
function brokenLedger(ledger: Ledger): Ledger {
  const gone = (): Promise<never> => Promise.reject(new Error('database gone'));
  return {
    ...ledger,
    createTransfers: () => Promise.reject(new XiaoweiError('shutting_down')),
    lookupAccounts: gone,
    lookupTransfer: gone,
  };
}

describe.each(DIALECTS)('core-banking adapter on the ledger (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(async () => {
    const report = await h?.ledger.verify();
    expect(report?.ok).toBe(true);
    await h?.close();
  });

  coreConformance(`ledger (${dialect})`, async (): Promise<CoreWorld> => {
    const deps = h.gateway.deps;
    return {
      core: h.gateway.core,
      account: () => openAccount(h, 1_000_000),
      restricted: async () => ({ account: await openAccount(h, 0, DEPOSIT.flags | AccountFlags.closed), status: 'closed' }),
      missing: 'no-such-account-anywhere',
      unreachable: async (): Promise<CoreAdapter> => new LedgerCore({ ledger: brokenLedger(deps.ledger), db: deps.db, now: deps.now }),
      close: async () => undefined,
    };
  });

  it('is the configured implementation by default, and a debit is one code-14 transfer to bank:core-clearing with the narrative', async () => {
    const core = h.gateway.core;
    expect(core.kind).toBe('ledger');
    const a = await openAccount(h, 10_000);
    const id = requestId();
    expect(await core.debit({ id, account: a, amount: 2_500, narrative: '商户结算 payout' })).toMatchObject({ outcome: 'posted' });
    const t = await h.ledger.lookupTransfer(`core:${id}`);
    expect(t).toMatchObject({
      debit_account_id: a,
      credit_account_id: BANK_ACCOUNTS.core_clearing,
      amount: 2_500,
      code: 14,
      reference: '商户结算 payout',
    });
    // The narrative is one of the request's fields on the ledger.
    expect(await core.debit({ id, account: a, amount: 2_500, narrative: 'another text' })).toMatchObject({
      outcome: 'rejected',
      code: '94',
    });
    const c = requestId();
    expect(await core.credit({ id: c, account: a, amount: 1 })).toMatchObject({ outcome: 'posted' });
    expect(await h.ledger.lookupTransfer(`core:${c}`)).toMatchObject({
      debit_account_id: BANK_ACCOUNTS.core_clearing,
      credit_account_id: a,
    });
  });

  it('refuses to reverse a credit the account no longer holds (51) without spending the attempt; it reverses once the money is back', async () => {
    const core = h.gateway.core;
    const a = await openAccount(h, 0);
    const c = requestId();
    expect(await core.credit({ id: c, account: a, amount: 800 })).toMatchObject({ outcome: 'posted' });
    expect(await core.debit({ id: requestId(), account: a, amount: 800 })).toMatchObject({ outcome: 'posted' });
    expect(await core.reverse({ id: requestId(), originalId: c })).toMatchObject({ outcome: 'rejected', code: '51' });
    expect(await core.status(c)).toBe('posted');
    expect(await core.credit({ id: requestId(), account: a, amount: 800 })).toMatchObject({ outcome: 'posted' });
    expect(await core.reverse({ id: requestId(), originalId: c })).toMatchObject({ outcome: 'posted' });
    expect(await core.status(c)).toBe('reversed');
    expect(await core.inquiry(a)).toMatchObject({ available: 0 });
    expect(await h.ledger.lookupTransfer(`core-rev:${c}`)).toMatchObject({ debit_account_id: a, amount: 800 });
  });

  it('steps over a reversal attempt the ledger rejected (a lost race), and still reverses exactly once', async () => {
    const core = h.gateway.core;
    const a = await openAccount(h, 0);
    const c = requestId();
    expect(await core.credit({ id: c, account: a, amount: 500 })).toMatchObject({ outcome: 'posted' });
    // Another process's attempt 1 met an empty account: the ledger remembers that rejection forever.
    expect(await core.debit({ id: requestId(), account: a, amount: 500 })).toMatchObject({ outcome: 'posted' });
    const [burnt] = await h.ledger.createTransfers([
      {
        id: `core-rev:${c}`,
        debit_account_id: a,
        credit_account_id: BANK_ACCOUNTS.core_clearing,
        amount: 500,
        ledger: LEDGER_CNY,
        code: 14,
        reference: `冲正 reversal of core request ${c}`,
      },
    ]);
    expect(burnt?.result).toBe('exceeds_credits');
    expect(await core.credit({ id: requestId(), account: a, amount: 500 })).toMatchObject({ outcome: 'posted' });
    // The first call learns attempt 1 is dead (the ledger answers its old rejection), the next takes attempt 2.
    expect(await core.reverse({ id: requestId(), originalId: c })).toMatchObject({ outcome: 'rejected', code: '51' });
    expect(await core.status(c)).toBe('posted');
    const again = await Promise.all([1, 2, 3].map(() => core.reverse({ id: requestId(), originalId: c })));
    for (const r of again) expect(r).toMatchObject({ outcome: 'posted' });
    expect(await core.reverse({ id: requestId(), originalId: c })).toMatchObject({ outcome: 'posted' });
    expect(await core.status(c)).toBe('reversed');
    expect(await h.ledger.lookupTransfer(`core-rev:${c}:2`)).toMatchObject({ amount: 500 });
    expect(await h.ledger.lookupTransfer(`core-rev:${c}:3`)).toBeUndefined();
    expect(await core.inquiry(a)).toMatchObject({ available: 0 });
  });

  describe('routes', () => {
    it('GET /gateway/core names the implementation; GET /gateway/core/accounts/:account answers an inquiry', async () => {
      const state = await h.app.inject({ method: 'GET', url: '/api/v1/gateway/core', headers: auth(h.adminToken) });
      expect(state.statusCode).toBe(200);
      expect(state.json()).toEqual({ kind: 'ledger', endpoint: null, state: 'ready', outstanding: 0, stats: null });
      const a = await openAccount(h, 4_321);
      const res = await h.app.inject({ method: 'GET', url: `/api/v1/gateway/core/accounts/${a}`, headers: auth(h.adminToken) });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ account: a, status: 'active', available: 4_321, currency: 'CNY' });
    });

    it('answers an unknown or out-of-scope account with core_account_not_found (zh/en), a malformed one 400, a role without gateway:read 403', async () => {
      const missing = await h.app.inject({
        method: 'GET',
        url: '/api/v1/gateway/core/accounts/nobody-here',
        headers: auth(h.adminToken, { 'accept-language': 'en' }),
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({
        error: {
          code: 'core_account_not_found',
          messages: { 'zh-CN': '核心系统中没有该账户', en: 'The core-banking system has no such account' },
        },
      });

      const bad = await h.app.inject({
        method: 'GET',
        url: `/api/v1/gateway/core/accounts/${'x'.repeat(65)}`,
        headers: auth(h.adminToken),
      });
      expect(bad.statusCode).toBe(400);

      // Branch staff see their branch's subtree only: a bank-level account is not theirs.
      const branch = await createOrganisation(h.db, {
        parent_id: h.bankId,
        kind: 'branch',
        code: `CORE-${dialect}-${process.pid}`,
        name: '核心测试支行',
      });
      const staff = await h.userToken('branch_staff', branch.id);
      const a = await openAccount(h, 100);
      const hidden = await h.app.inject({ method: 'GET', url: `/api/v1/gateway/core/accounts/${a}`, headers: auth(staff) });
      expect(hidden.statusCode).toBe(404);
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/gateway/core', headers: auth(staff) })).statusCode).toBe(200);

      const shop = await createParty(h.db, h.secrets, { kind: 'person', name: '核心测试商户', roles: ['merchant'], org_id: h.bankId });
      const cashier = await h.userToken('cashier', h.bankId, shop.id);
      expect((await h.app.inject({ method: 'GET', url: `/api/v1/gateway/core/accounts/${a}`, headers: auth(cashier) })).statusCode).toBe(
        403,
      );
      expect((await h.app.inject({ method: 'GET', url: '/api/v1/gateway/core' })).statusCode).toBe(401);
    });
  });
});
