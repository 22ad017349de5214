/**
 * Activation codes on every dialect: issued over HTTP (shown once, stored only as a keyed hash),
 * consumed through the function the protocol part calls, with an injected clock for expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { ACTIVATION_CODE_ALPHABET, ACTIVATION_CODE_TTL_S, consumeActivationCode, normaliseActivationCode } from './activation-codes.js';
import { bindDevice, buildWorld, expectError, fleetDb, newTerminal, type FleetWorld } from './test-support/fleet-testkit.js';

describe('activation code text', () => {
  it('forgives case, spaces and hyphens and refuses anything else', () => {
    expect(normaliseActivationCode('abcd-efgh')).toBe('ABCDEFGH');
    expect(normaliseActivationCode(' AB CD EF GH ')).toBe('ABCDEFGH');
    expect(normaliseActivationCode('ABCDEFG')).toBeNull();
    expect(normaliseActivationCode('ABCDEFG0')).toBeNull(); // 0 is not in the alphabet
    expect(normaliseActivationCode('ABCDEFGI')).toBeNull(); // nor I
    expect(normaliseActivationCode('x'.repeat(100))).toBeNull();
    expect(ACTIVATION_CODE_ALPHABET).not.toMatch(/[01ILO]/);
  });
});

describe.each(DIALECTS)('activation codes on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
  });
  afterAll(async () => h?.close());

  const issue = (terminalId: string, body: object = {}, token = w.tokens.staffA) =>
    h.app.inject({ method: 'POST', url: `/api/v1/terminals/${terminalId}/activation-codes`, headers: auth(token), payload: body });
  const consume = (code: string, now = Date.now() * 1000) => consumeActivationCode(h.tdb.database.kysely, h.secrets, code, now);

  it('issues a one-time code shown once and stored only as a keyed hash', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const before = Date.now() * 1000;
    const res = await issue(t.id);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const issued = res.json();
    expect(issued.code).toMatch(new RegExp(`^[${ACTIVATION_CODE_ALPHABET}]{8}$`));
    expect(issued.code_display).toBe(`${issued.code.slice(0, 4)}-${issued.code.slice(4)}`);
    expect(issued.expires_at - issued.created_at).toBe(ACTIVATION_CODE_TTL_S.default * 1_000_000);
    expect(issued.created_at).toBeGreaterThanOrEqual(before);

    // Nothing stored, listed or audited holds the code.
    const rows = await fleetDb(h).selectFrom('terminal_activation_codes').selectAll().where('terminal_id', '=', t.id).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(issued.code);
    expect(rows[0]!.code_index).toBe(h.secrets.blindIndex('activation-code', issued.code));
    const list = await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${t.id}/activation-codes`, headers: auth(w.tokens.staffA) });
    expect(list.json().items).toMatchObject([{ id: issued.id, state: 'unused', used_at: null, revoked_at: null }]);
    expect(list.body).not.toContain(issued.code);
    const audit = await h.app.inject({ method: 'GET', url: '/api/v1/audit?limit=500', headers: auth(h.adminToken) });
    expect(audit.json().items).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'terminal.activation_code', target: t.id, outcome: 'ok' })]),
    );
    expect(audit.body).not.toContain(issued.code);

    // Typed as a person would, it works once.
    expect(await consume(issued.code_display.toLowerCase())).toEqual({ terminal_id: t.id });
    expect(await consume(issued.code)).toBeNull();
    const after = await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${t.id}/activation-codes`, headers: auth(w.tokens.staffA) });
    expect(after.json().items[0]).toMatchObject({ state: 'used', used_at: expect.any(Number) });
    // Unknown and malformed codes answer null alike.
    expect(await consume('ZZZZZZZZ')).toBeNull();
    expect(await consume('not a code at all')).toBeNull();
  });

  it('expires: usable until expires_at, not at or after it (injected clock)', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const { code, expires_at } = (await issue(t.id, { expires_in_s: ACTIVATION_CODE_TTL_S.min })).json();
    expect(await consume(code, expires_at)).toBeNull();
    expect(await consume(code, expires_at + 86_400_000_000)).toBeNull();
    expect(await consume(code, expires_at - 1)).toEqual({ terminal_id: t.id });
    const list = await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${t.id}/activation-codes`, headers: auth(w.tokens.staffA) });
    expect(list.json().items[0].state).toBe('used');

    const t2 = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const other = (await issue(t2.id, { expires_in_s: ACTIVATION_CODE_TTL_S.max })).json();
    expect(other.expires_at - other.created_at).toBe(ACTIVATION_CODE_TTL_S.max * 1_000_000);
    expectError(await issue(t2.id, { expires_in_s: ACTIVATION_CODE_TTL_S.min - 1 }), 'validation_failed');
    expectError(await issue(t2.id, { expires_in_s: ACTIVATION_CODE_TTL_S.max + 1 }), 'validation_failed');
    expectError(await issue(t2.id, { expires_in_s: '3600' }), 'validation_failed');
    expectError(await issue(t2.id, { ttl: 3600 }), 'validation_failed');
    // The refused requests left the earlier code alive.
    expect(await consume(other.code)).toEqual({ terminal_id: t2.id });
  });

  it('lets exactly one of many concurrent attempts use a code', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const { code } = (await issue(t.id)).json();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => consume(code)));
    expect(outcomes.filter((o) => o !== null)).toEqual([{ terminal_id: t.id }]);
    const row = await fleetDb(h)
      .selectFrom('terminal_activation_codes')
      .select('used_at')
      .where('terminal_id', '=', t.id)
      .executeTakeFirstOrThrow();
    expect(row.used_at).not.toBeNull();
  });

  it('a new code revokes the earlier unused ones, even when issued concurrently', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const first = (await issue(t.id)).json();
    const second = (await issue(t.id)).json();
    expect(await consume(first.code)).toBeNull();
    const list = (
      await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${t.id}/activation-codes`, headers: auth(w.tokens.staffA) })
    ).json();
    expect(list.items.map((c: { id: string; state: string }) => [c.id, c.state])).toEqual([
      [second.id, 'unused'],
      [first.id, 'revoked'],
    ]);
    expect(await consume(second.code)).toEqual({ terminal_id: t.id });

    // Re-activation (a replaced tablet) gets a new code while active; two issued at once leave one usable.
    await bindDevice(h, t.id);
    const racing = await Promise.all([issue(t.id), issue(t.id), issue(t.id)]);
    expect(racing.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    const results = [];
    for (const r of racing) results.push(await consume(r.json().code));
    expect(results.filter((o) => o !== null)).toHaveLength(1);
  });

  it('refuses codes for locked and retired terminals and voids their unused codes', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const { code } = (await issue(t.id)).json();
    await h.app.inject({ method: 'POST', url: `/api/v1/terminals/${t.id}/lock`, headers: auth(w.tokens.staffA), payload: {} });
    expect(await consume(code)).toBeNull();
    expectError(await issue(t.id), 'terminal_status_conflict');
    await h.app.inject({ method: 'POST', url: `/api/v1/terminals/${t.id}/unlock`, headers: auth(w.tokens.staffA), payload: {} });
    const again = (await issue(t.id)).json();
    await h.app.inject({ method: 'POST', url: `/api/v1/terminals/${t.id}/retire`, headers: auth(w.tokens.staffA), payload: {} });
    expect(await consume(again.code)).toBeNull();
    expectError(await issue(t.id), 'terminal_status_conflict');
    // Other branches, merchants and auditors get no code.
    const mine = await newTerminal(h, w.tokens.staffA, w.merchantA);
    expectError(await issue(mine.id, {}, w.tokens.staffB), 'not_found');
    expectError(await issue(mine.id, {}, w.tokens.ownerA), 'forbidden');
    expectError(await issue(mine.id, {}, w.tokens.auditor), 'forbidden');
    expectError(
      await h.app.inject({ method: 'GET', url: `/api/v1/terminals/${mine.id}/activation-codes`, headers: auth(w.tokens.ownerA) }),
      'forbidden',
    );
  });
});
