import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../dialects.js';
import { auth, createHarness, type Harness } from '../harness.js';

describe.each(DIALECTS)('HTTP smoke on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(async () => h.close());

  it('opens accounts, transfers with an idempotency key and shows the statement', async () => {
    const party = await h.app.inject({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'person', name: '王小明', roles: ['customer'], org_id: h.bankId, national_id: '110101199003074477' } });
    expect(party.statusCode, party.body).toBe(201);
    expect(party.json()).toMatchObject({ national_id_masked: '**************4477' });
    const open = await h.app.inject({ method: 'POST', url: '/api/v1/accounts', headers: auth(h.adminToken), payload: { code: 2001, owner_id: party.json().id } });
    expect(open.statusCode, open.body).toBe(201);
    const accountId = open.json().id as string;
    const key = 'smoke-transfer-0000001';
    const body = { debit_account_id: 'bank:cash', credit_account_id: accountId, amount: 12_345, code: 2 };
    const first = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: auth(h.adminToken, { 'idempotency-key': key }), payload: body });
    expect(first.statusCode, first.body).toBe(201);
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: auth(h.adminToken, { 'idempotency-key': key }), payload: body });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ replayed: true, transfer: { id: key, amount: 12_345 } });
    const statement = await h.app.inject({ method: 'GET', url: `/api/v1/accounts/${accountId}/statement`, headers: auth(h.adminToken) });
    expect(statement.json().items).toMatchObject([{ id: key, side: 'credit', balance_after: 12_345 }]);
    const audit = await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers: auth(h.adminToken) });
    expect(audit.json().items.map((a: { action: string }) => a.action)).toContain('transfer.create');
  });
});
