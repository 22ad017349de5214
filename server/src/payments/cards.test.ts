/**
 * The bank's own cards on SQLite and PostgreSQL: issuance (PAN, expiry, PIN offset, nothing in
 * clear), PIN verification with its wrong-try count, status and expiry codes, and the staff API.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { keyHandleFromBlob } from '../crypto/index.js';
import { LEDGER_CNY } from '../ledger/index.js';
import { buildWorld, expectError, type FleetWorld } from '../terminals/test-support/fleet-testkit.js';
import { MAX_PIN_TRIES, cardProblem, findCardById, findCardByPan, makePinBlock, verifyCardPin } from './card-access.js';
import { CARD_BIN, DEFAULT_DAILY_LIMIT, DEFAULT_PER_TXN_LIMIT, expiryFrom, luhnValid, pinProblem } from './cards.js';
import type { PaymentsSharedTables } from './contracts.js';
import { payKey } from './pay-keys.js';
import { setupPaymentsWorld, type PaymentsWorld } from './test-support.js';

const hex = (s: string): Uint8Array => Buffer.from(s, 'hex');

describe('card rules (pure)', () => {
  it('refuses trivial PINs and accepts ordinary ones', () => {
    for (const pin of ['000000', '1111', '123456', '654321', '1234', '4321', '121212', '123123', '112233', '12', '1234567', '12a4']) {
      expect(pinProblem(pin), pin).toBeDefined();
    }
    for (const pin of ['147258', '2580', '135792', '90817', '5839']) expect(pinProblem(pin), pin).toBeUndefined();
  });

  it('expiry is five years on, in Beijing time; expired from the month after', () => {
    // 2026-03-31 17:00 UTC is already April 1st in Beijing.
    const us = Date.UTC(2026, 2, 31, 17, 0) * 1000;
    expect(expiryFrom(us)).toBe('3104');
    const card = { status: 'active' as const, expiry: '2604' };
    expect(cardProblem(card, us)).toBeNull();
    expect(cardProblem(card, Date.UTC(2026, 3, 30, 15, 59) * 1000)).toBeNull();
    expect(cardProblem(card, Date.UTC(2026, 3, 30, 16, 0) * 1000)).toBe('33');
    expect(cardProblem({ status: 'lost', expiry: '3104' }, us)).toBe('41');
    expect(cardProblem({ status: 'blocked', expiry: '3104' }, us)).toBe('45');
    expect(cardProblem({ status: 'closed', expiry: '3104' }, us)).toBe('45');
  });
});

describe.each(DIALECTS)('cards on %s', (dialect) => {
  let h: Harness;
  let w: PaymentsWorld;
  const db = (): Kysely<PaymentsSharedTables> => h.db as unknown as Kysely<PaymentsSharedTables>;

  /** The server's handle of the terminal's current session PIN key, as the engine would use it. */
  const serverPinKey = async (t = w.terminal) => {
    const row = await (h.db as unknown as Kysely<{ terminal_sessions: { id: string; pin_key: string } }>)
      .selectFrom('terminal_sessions')
      .select('pin_key')
      .where('id', '=', t.session!.sessionId)
      .executeTakeFirstOrThrow();
    return keyHandleFromBlob(row.pin_key);
  };

  const verify = async (pin: string, cardId = w.card.id, pan = w.card.pan) => {
    const card = (await findCardById(h.payments.deps.db, cardId))!;
    return verifyCardPin(
      h.payments.deps,
      card,
      hex(makePinBlock(pin, pan, await w.terminals[0]!.pinKeyHex())),
      await serverPinKey(),
      4,
      pan,
    );
  };

  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await setupPaymentsWorld(h, { customers: 2 });
  });

  afterAll(async () => {
    await h.close();
  });

  it('issues a Luhn-valid PAN on the bank BIN and keeps it only as index, sealed copy and last four', async () => {
    expect(w.card.pan).toMatch(/^\d{16}$/);
    expect(w.card.pan.startsWith(CARD_BIN)).toBe(true);
    expect(luhnValid(w.card.pan)).toBe(true);
    expect(luhnValid(w.card.pan.slice(0, -1) + String((Number(w.card.pan.slice(-1)) + 1) % 10))).toBe(false);
    const row = await db().selectFrom('pay_cards').selectAll().where('id', '=', w.card.id).executeTakeFirstOrThrow();
    const text = JSON.stringify(row);
    expect(text).not.toContain(w.card.pan);
    expect(text).not.toContain(w.card.pan.slice(0, 12));
    expect(text).not.toContain(w.card.pin);
    expect(row.last4).toBe(w.card.pan.slice(-4));
    expect(row.pin_method).toBe('ibm3624');
    expect(row.pin_offset).toMatch(/^\d{6}$/);
    expect(row.token).toMatch(/^ct_/);
    expect(h.secrets.decrypt('card-pan', row.pan_sealed)).toBe(w.card.pan);
    // The PVK is stored once, sealed.
    const keys = await db().selectFrom('pay_keys').selectAll().execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.blob.startsWith('XW1.')).toBe(true);
  });

  it('finds a card by its PAN and by nothing else', async () => {
    const card = await findCardByPan(h.payments.deps.db, h.secrets, w.card.pan);
    expect(card?.id).toBe(w.card.id);
    expect(card?.pin_tries).toBe(0);
    expect(await findCardByPan(h.payments.deps.db, h.secrets, w.customers[1]!.card.pan)).toMatchObject({ id: w.customers[1]!.card.id });
    const other = w.card.pan.slice(0, -2) + String((Number(w.card.pan.slice(-2)) + 11) % 100).padStart(2, '0');
    expect(await findCardByPan(h.payments.deps.db, h.secrets, other)).toBeUndefined();
    expect(await findCardByPan(h.payments.deps.db, h.secrets, 'not-a-pan')).toBeUndefined();
  });

  it('verifies PINs: right, wrong, locked at the third wrong until a reset, which clears the tries', async () => {
    const c = w.customers[1]!.card;
    expect(await verify(c.pin, c.id, c.pan)).toBe('ok');
    // A wrong PIN then a right one: the count starts again.
    expect(await verify('258036', c.id, c.pan)).toBe('wrong');
    expect(await verify(c.pin, c.id, c.pan)).toBe('ok');
    expect((await findCardById(h.payments.deps.db, c.id))!.pin_tries).toBe(0);
    // The PIN of another card is wrong for this one.
    expect(await verify(w.card.pin === c.pin ? '369258' : w.card.pin, c.id, c.pan)).toBe('wrong');
    expect(await verify('369147', c.id, c.pan)).toBe('wrong');
    expect(await verify('963852', c.id, c.pan)).toBe('locked');
    expect((await findCardById(h.payments.deps.db, c.id))!.pin_tries).toBe(MAX_PIN_TRIES);
    // Locked: even the right PIN is refused, and the count does not move.
    expect(await verify(c.pin, c.id, c.pan)).toBe('locked');
    expect((await findCardById(h.payments.deps.db, c.id))!.pin_tries).toBe(MAX_PIN_TRIES);

    // A PIN block under another key counts as a wrong PIN, not a crash.
    const res = await h.app.inject({
      method: 'POST',
      url: `/api/v1/cards/${c.id}/pin`,
      headers: auth(h.adminToken),
      payload: { pin: '802468' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: c.id, pin_tries: 0 });
    expect(await verify(c.pin, c.id, c.pan)).toBe('wrong');
    expect(await verify('802468', c.id, c.pan)).toBe('ok');
    const card = (await findCardById(h.payments.deps.db, c.id))!;
    const garbage = hex('00112233445566778899AABBCCDDEEFF');
    expect(await verifyCardPin(h.payments.deps, card, garbage, await serverPinKey(), 4, c.pan)).toBe('wrong');
    expect((await findCardById(h.payments.deps.db, c.id))!.pin_tries).toBe(1);
    expect(await verify('802468', c.id, c.pan)).toBe('ok');
  });

  it('concurrent wrong PINs cannot exceed the limit nor lose a count', async () => {
    const c = w.card;
    const outcomes = await Promise.all(['111222', '222333', '333444', '444555', '555666'].map((p) => verify(p, c.id, c.pan)));
    expect(outcomes.filter((o) => o === 'wrong')).toHaveLength(MAX_PIN_TRIES - 1);
    expect(outcomes.filter((o) => o === 'locked')).toHaveLength(5 - (MAX_PIN_TRIES - 1));
    expect((await findCardById(h.payments.deps.db, c.id))!.pin_tries).toBe(MAX_PIN_TRIES);
    const res = await h.app.inject({
      method: 'POST',
      url: `/api/v1/cards/${c.id}/pin`,
      headers: auth(h.adminToken),
      payload: { pin: c.pin },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await verify(c.pin, c.id, c.pan)).toBe('ok');
  });

  it('creates a named key once, whoever asks at the same time, and keeps it sealed', async () => {
    const spec = { name: `test-pvk-${dialect}`, type: 'PVK', algorithm: 'TDES2' } as const;
    const handles = await Promise.all(Array.from({ length: 6 }, () => payKey(h.payments.deps, spec)));
    expect(new Set(handles.map((k) => k.blob)).size).toBe(1);
    const rows = await db().selectFrom('pay_keys').selectAll().where('name', '=', spec.name).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ blob: handles[0]!.blob, type: 'PVK', algorithm: 'TDES2', kcv: handles[0]!.kcv });
    await expect(payKey(h.payments.deps, { ...spec, name: 'card-pvk-1', algorithm: 'TDES3' })).rejects.toThrow(/expected PVK\/TDES3/);
  });

  it('the world has a signed-on terminal and a funded account', async () => {
    expect(await w.balanceOf(w.customerAccount)).toBe(1_000_000);
    expect(await w.balanceOf(w.merchant.receivable)).toBe(0);
    expect(await w.terminal.echo()).toMatchObject({ terminalId: w.terminalId, operatorNo: '01' });
    await w.signOnSupervisor();
    expect(await w.terminal.echo()).toMatchObject({ operatorNo: '02' });
    await w.signOnCashier();
    expect(w.pinKeyHex).toMatch(/^[0-9a-f]{32}$/);
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/cards/nope', headers: auth(h.adminToken) }), 'card_not_found');
  });
});

describe.each(DIALECTS)('card staff API on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  let accountA: string;

  const call = async (token: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });

  const openDeposit = async (owner: string): Promise<string> => {
    const id = `${owner}:2001`;
    expect(await h.ledger.createAccounts([{ id, ledger: LEDGER_CNY, code: 2001, owner_id: owner, name: 'deposit' }])).toEqual([]);
    return id;
  };

  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
    accountA = await openDeposit(w.customerA);
  });

  afterAll(async () => {
    await h.close();
  });

  it('issues a card: the PAN once in the answer, never again; default limits; audited without secrets', async () => {
    const res = await call(w.tokens.staffA, 'POST', '/cards', { party_id: w.customerA, account_id: accountA, pin: '135790' });
    expect(res.statusCode, res.body).toBe(201);
    const issued = res.json<{ id: string; pan: string; last4: string; expiry: string; token: string }>();
    expect(luhnValid(issued.pan)).toBe(true);
    expect(issued).toMatchObject({
      last4: issued.pan.slice(-4),
      bin: CARD_BIN,
      status: 'active',
      party_id: w.customerA,
      org_id: w.branchA,
      account_id: accountA,
      pin_tries: 0,
      per_txn_limit: DEFAULT_PER_TXN_LIMIT,
      daily_limit: DEFAULT_DAILY_LIMIT,
    });
    const shown = await call(w.tokens.staffA, 'GET', `/cards/${issued.id}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.body).not.toContain(issued.pan);
    expect(Object.keys(shown.json())).not.toContain('pan');
    expect(shown.json()).not.toHaveProperty('pin_offset');
    const list = await call(w.tokens.staffA, 'GET', `/cards?last4=${issued.last4}`);
    expect(list.json<{ items: { id: string }[] }>().items.map((c) => c.id)).toContain(issued.id);
    expect(list.body).not.toContain(issued.pan);
    expect((await call(w.tokens.staffA, 'GET', `/cards?party_id=${w.customerA}`)).json<{ total: number }>().total).toBe(1);
    // The PAN is no query key.
    expectError(await call(w.tokens.staffA, 'GET', `/cards?pan=${issued.pan}`), 'validation_failed');
    expectError(await call(w.tokens.staffA, 'GET', `/cards?last4=${issued.pan}`), 'validation_failed');
    const audit = await h.db.selectFrom('audit_log').selectAll().where('action', 'like', 'card.%').execute();
    expect(audit.map((a) => [a.action, a.target])).toContainEqual(['card.issue', issued.id]);
    expect(JSON.stringify(audit)).not.toContain(issued.pan);
    expect(JSON.stringify(audit)).not.toContain('135790');
  });

  it('a keyed issue retried after a lost answer gets the same card, once; other fields under the key are refused', async () => {
    const key = `card-issue-${dialect}-0001-retry`;
    const body = { party_id: w.customerA, account_id: accountA, pin: '192837', per_txn_limit: 100_000, daily_limit: 300_000 };
    const keyed = (payload: object, k = key) => h.app.inject({ method: 'POST', url: '/api/v1/cards', headers: auth(w.tokens.staffA, { 'idempotency-key': k }), payload });
    const before = (await call(w.tokens.staffA, 'GET', `/cards?party_id=${w.customerA}`)).json<{ total: number }>().total;
    const [a, b] = await Promise.all([keyed(body), keyed(body)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 201]);
    const first = a.json<{ id: string; pan: string }>();
    expect(b.json<{ id: string; pan: string }>()).toMatchObject({ id: first.id, pan: first.pan });
    const again = await keyed(body);
    expect(again.statusCode).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(first.id);
    expect((await call(w.tokens.staffA, 'GET', `/cards?party_id=${w.customerA}`)).json<{ total: number }>().total).toBe(before + 1);
    expectError(await keyed({ ...body, daily_limit: 400_000 }), 'card_request_conflict');
    expectError(await keyed(body, 'short'), 'idempotency_key_invalid');
    await call(w.tokens.staffA, 'PATCH', `/cards/${first.id}`, { status: 'closed' });
  });

  it('refuses trivial PINs, foreign accounts, non-customers, other branches and bad limits with typed errors', async () => {
    const body = { party_id: w.customerA, account_id: accountA, pin: '246813' };
    for (const pin of ['000000', '123456', '1111', '654321', '121212'])
      expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, pin }), 'card_pin_weak');
    for (const pin of ['12a4', '123', '1234567', 123456])
      expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, pin }), 'validation_failed');
    const merchantAccount = await openDeposit(w.merchantA2);
    expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, account_id: merchantAccount }), 'card_account_invalid');
    expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, account_id: 'bank:settlement' }), 'card_account_invalid');
    expectError(
      await call(w.tokens.staffA, 'POST', '/cards', { ...body, party_id: w.merchantA, account_id: accountA }),
      'card_party_invalid',
    );
    expectError(await call(w.tokens.staffB, 'POST', '/cards', body), 'card_party_invalid');
    expectError(await call(w.tokens.ownerA, 'POST', '/cards', body), 'forbidden');
    expectError(
      await call(w.tokens.staffA, 'POST', '/cards', { ...body, per_txn_limit: 3_000_000, daily_limit: 2_000_000 }),
      'validation_failed',
    );
    expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, per_txn_limit: -5 }), 'validation_failed');
    expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, per_txn_limit: 10.5 }), 'validation_failed');
    expectError(await call(w.tokens.staffA, 'POST', '/cards', { ...body, pan: '6213920000000000' }), 'validation_failed');
  });

  it('status changes and limits: block, unblock, lost, close; the codes follow; scope hides the card', async () => {
    const res = await call(w.tokens.staffA, 'POST', '/cards', {
      party_id: w.customerA,
      account_id: accountA,
      pin: '975310',
      per_txn_limit: 100_000,
      daily_limit: 300_000,
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    const patch = (body: object, token = w.tokens.staffA) => call(token, 'PATCH', `/cards/${id}`, body);
    const code = async () => cardProblem((await findCardById(h.payments.deps.db, id))!, Date.now() * 1000);
    expect(await code()).toBeNull();
    expect((await patch({ status: 'blocked' })).json()).toMatchObject({ status: 'blocked' });
    expect(await code()).toBe('45');
    expect((await patch({ status: 'active', per_txn_limit: 200_000 })).json()).toMatchObject({
      status: 'active',
      per_txn_limit: 200_000,
      daily_limit: 300_000,
    });
    expect(await code()).toBeNull();
    expectError(await patch({ per_txn_limit: 400_000 }), 'validation_failed');
    expectError(await patch({}), 'validation_failed');
    expectError(await patch({ status: 'stolen' }), 'validation_failed');
    // Other branches and merchant owners do not see it.
    expectError(await patch({ status: 'blocked' }, w.tokens.staffB), 'card_not_found');
    expectError(await call(w.tokens.staffB, 'GET', `/cards/${id}`), 'card_not_found');
    expectError(await call(w.tokens.ownerA, 'GET', `/cards/${id}`), 'card_not_found');
    expect((await call(w.tokens.ownerA, 'GET', '/cards')).json()).toEqual({ items: [], total: 0 });
    expect((await call(w.tokens.staffB, 'GET', '/cards')).json()).toMatchObject({ total: 0 });
    expectError(await call(w.tokens.staffB, 'POST', `/cards/${id}/pin`, { pin: '482615' }), 'card_not_found');

    expect((await patch({ status: 'lost' })).json()).toMatchObject({ status: 'lost' });
    expect(await code()).toBe('41');
    expectError(await patch({ status: 'active' }), 'card_status_invalid');
    expect((await patch({ status: 'closed' })).json()).toMatchObject({ status: 'closed' });
    expect(await code()).toBe('45');
    expectError(await patch({ status: 'blocked' }), 'card_status_invalid');
    expectError(await call(w.tokens.staffA, 'POST', `/cards/${id}/pin`, { pin: '482615' }), 'card_status_invalid');
    const audit = await h.db.selectFrom('audit_log').selectAll().where('target', '=', id).execute();
    expect(audit.filter((a) => a.action === 'card.update').length).toBeGreaterThanOrEqual(4);
  });
});
