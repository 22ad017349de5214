/**
 * What every request goes through, kept cheap without changing what it does: the session check
 * (on SQLite cached, trusted only while no other connection has committed), the audit entry of an
 * audited route, the request duration histogram behind /metrics, the x-content-type-options header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.js';
import { DIALECTS } from '../dialects.js';
import { auth, createHarness, type Harness } from '../harness.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe.each(DIALECTS)('the request path on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(async () => h?.close());

  const me = (token: string) => h.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: auth(token) });

  it('refuses a session deleted through another connection on the next request, not a recheck period later', async () => {
    const token = await h.userToken('branch_staff', h.bankId);
    expect((await me(token)).statusCode).toBe(200);
    expect((await me(token)).statusCode).toBe(200); // now verified and, on SQLite, cached
    const other = openDatabase({ url: h.tdb.url, poolSize: 1 });
    try {
      const hashes = await h.db.selectFrom('sessions').select('token_hash').execute();
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256').update(token).digest('base64url');
      expect(hashes.map((r) => r.token_hash)).toContain(hash);
      await other.kysely
        .deleteFrom('sessions' as never)
        .where('token_hash' as never, '=', hash as never)
        .execute();
    } finally {
      await other.close();
    }
    await turn();
    const res = await me(token);
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('audits an audited route answered by the hook (not in a commit), refusals included', async () => {
    const ok = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts',
      headers: auth(h.adminToken),
      payload: { code: 2001, owner_id: h.bankId },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const auditor = await h.userToken('auditor', h.bankId);
    const refused = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts',
      headers: auth(auditor),
      payload: { code: 2001, owner_id: h.bankId },
    });
    expect(refused.statusCode, refused.body).toBe(403);
    const rows = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'account.open').execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ outcome: 'ok', target: ok.json().id, request_id: expect.any(String) }),
        expect.objectContaining({ outcome: 'failed:403', request_id: expect.any(String) }),
      ]),
    );
  });

  it('counts requests by method, route pattern and status in /metrics, and sends nosniff on every answer', async () => {
    const key = `request-path-${dialect}-000001`;
    const body = { debit_account_id: 'bank:cash', credit_account_id: 'bank:settlement', amount: 1, code: 1 };
    const metricsBefore = await h.app.inject({ method: 'GET', url: '/metrics' });
    const countOf = (text: string, labels: string): number =>
      Number(new RegExp(`^xiaowei_http_request_duration_seconds_count\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const created = 'method="POST",route="/api/v1/transfers",status="201"';
    const replayed = 'method="POST",route="/api/v1/transfers",status="200"';
    const missing = 'method="GET",route="unmatched",status="404"';
    const before = [countOf(metricsBefore.body, created), countOf(metricsBefore.body, replayed), countOf(metricsBefore.body, missing)];
    const first = await h.app.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: auth(h.adminToken, { 'idempotency-key': key }),
      payload: body,
    });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: auth(h.adminToken, { 'idempotency-key': key }),
      payload: body,
    });
    expect(again.statusCode).toBe(200);
    const lost = await h.app.inject({ method: 'GET', url: '/api/v1/no-such-route' });
    expect(lost.statusCode).toBe(404);
    expect(lost.headers['x-content-type-options']).toBe('nosniff');
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect([countOf(text, created), countOf(text, replayed), countOf(text, missing)]).toEqual(before.map((n) => n + 1));
    // The exposition is Prometheus's: cumulative buckets ending in +Inf = count, then sum and count.
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('xiaowei_http_request_duration_seconds') && l.includes('route="/api/v1/transfers",status="201"'));
    const buckets = series.filter((l) => l.includes('_bucket{')).map((l) => Number(l.split(' ').at(-1)));
    expect(buckets).toHaveLength(12);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(series.find((l) => l.includes('le="+Inf"'))).toMatch(
      /^xiaowei_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/api\/v1\/transfers",status="201"\} \d+$/,
    );
    expect(buckets.at(-1)).toBe(countOf(text, created));
    expect(text).toMatch(/^# TYPE xiaowei_http_request_duration_seconds histogram$/m);
  });
});
