/**
 * Bad input, endpoint by endpoint (DESIGN.md rule 5): every case gets a typed 4xx whose
 * `error.code` is in the registry (platform/errors.ts) with its registered status and a message
 * in zh-CN and en — never a 500 — and changes nothing: balances, journal, parties, users and
 * sessions are the same before and after, and the ledger verifies. At the end, no response of
 * the whole file may contain a secret (rule 4).
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../src/platform/errors.js';
import { DIALECTS } from '../dialects.js';
import { auth, createHarness, type Harness } from '../harness.js';

const NATIONAL_ID = '110101199003074477';
const MAX_SAFE_PLUS_2 = '9007199254740993';
/** Placeholders for fixtures that exist only once beforeAll has run; replaced in every case. */
const ACCOUNT = '@ACCOUNT@';
const PARTY = '@PARTY@';
const BANK = '@BANK@';

interface Case {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  /** An object is sent as JSON; a string is sent as it is. */
  payload?: unknown;
  headers?: Record<string, string>;
  /** Default: the admin's bearer token. */
  anonymous?: boolean;
  /** One status, or several the rules allow (the code must then match the status). */
  status: number | number[];
  code: ErrorCode | ErrorCode[];
}

describe.each(DIALECTS)('bad input on %s', (dialect) => {
  let h: Harness;
  let partyId: string;
  let accountId: string;
  const FUND_KEY = 'bad-input-funding-0001';
  const seen: { url: string; body: string; login: boolean }[] = [];
  let keyCounter = 0;
  const newKey = (): string => `bad-input-${dialect}-${String(++keyCounter).padStart(6, '0')}`;

  const send = async (o: InjectOptions & { url: string }) => {
    const res = await h.app.inject(o);
    seen.push({ url: o.url, body: res.body, login: o.url.startsWith('/api/v1/auth/login') || o.url.startsWith('/api/v1/auth/totp/confirm') });
    return res;
  };

  beforeAll(async () => {
    h = await createHarness(dialect);
    const party = await send({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'person', name: '王小明', roles: ['customer'], org_id: h.bankId, national_id: NATIONAL_ID, phone: '13800138000' } });
    expect(party.statusCode, party.body).toBe(201);
    partyId = party.json().id;
    const open = await send({ method: 'POST', url: '/api/v1/accounts', headers: auth(h.adminToken), payload: { code: 2001, owner_id: partyId } });
    expect(open.statusCode, open.body).toBe(201);
    accountId = open.json().id;
    const fund = await send({ method: 'POST', url: '/api/v1/transfers', headers: auth(h.adminToken, { 'idempotency-key': FUND_KEY }), payload: { debit_account_id: 'bank:cash', credit_account_id: accountId, amount: 50_000, code: 2 } });
    expect(fund.statusCode, fund.body).toBe(201);
  });
  afterAll(async () => h?.close());

  const kdb = () => h.tdb.database.kysely;
  const count = async (table: string): Promise<number> =>
    Number(((await kdb().selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: unknown }).n); // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Everything a bad request must leave as it was. */
  const snapshot = async () => ({
    accounts: ((await kdb().selectFrom('ledger_accounts').select(['id', 'debits_pending', 'debits_posted', 'credits_pending', 'credits_posted', 'name']).orderBy('id').execute()) as Record<string, unknown>[]).map((r) => ({ ...r, debits_pending: Number(r.debits_pending), debits_posted: Number(r.debits_posted), credits_pending: Number(r.credits_pending), credits_posted: Number(r.credits_posted) })),
    transfers: await count('ledger_transfers'),
    pendings: await count('ledger_pending'),
    parties: await count('parties'),
    organisations: await count('organisations'),
    sessions: await count('sessions'),
    users: ((await kdb().selectFrom('users').select(['username', 'failed_logins', 'locked_until', 'totp_enabled']).orderBy('username').execute()) as Record<string, unknown>[]).map((u) => ({ ...u, failed_logins: Number(u.failed_logins), locked_until: Number(u.locked_until), totp_enabled: Number(u.totp_enabled) })),
  });

  /** A typed error: registered code and status, both messages, a request id; never a 500. */
  const expectTypedError = (res: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number | number[], codes: ErrorCode[]) => {
    expect(res.statusCode, res.body).not.toBe(500);
    expect([status].flat(), res.body).toContain(res.statusCode);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    const body = JSON.parse(res.body) as { error: { code: ErrorCode; message: string; messages: Record<string, string> }; request_id: string };
    expect(codes, res.body).toContain(body.error.code);
    expect(ERRORS[body.error.code].status).toBe(res.statusCode);
    expect(body.error.messages['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    expect(body.error.messages.en).toMatch(/[A-Za-z]{3}/);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.request_id).toBeTruthy();
    return body;
  };

  const fill = (text: string): string => text.replaceAll(ACCOUNT, accountId).replaceAll(PARTY, partyId).replaceAll(BANK, h.bankId);
  const run = async (template: Case) => {
    const c: Case = { ...template, url: fill(template.url) };
    if (typeof template.payload === 'string') c.payload = fill(template.payload);
    else if (template.payload !== undefined) c.payload = JSON.parse(fill(JSON.stringify(template.payload))) as unknown;
    const headers: Record<string, string> = { ...(c.anonymous ? {} : auth(h.adminToken)), ...c.headers };
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k]; // '' = leave the header out
    const before = await snapshot();
    const o: InjectOptions & { url: string } = { method: c.method, url: c.url, headers };
    if (c.payload !== undefined) {
      if (typeof c.payload === 'string') {
        o.payload = c.payload;
        if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      } else o.payload = c.payload as object;
    }
    const res = await send(o);
    expectTypedError(res, c.status, Array.isArray(c.code) ? c.code : [c.code]);
    expect(await snapshot(), 'a refused request changes nothing').toEqual(before);
    const report = await h.ledger.verify();
    expect(report, report.problem).toMatchObject({ ok: true });
  };

  // ------------------------------------------------------------------ POST /api/v1/transfers
  const transferBody = () => ({ debit_account_id: 'bank:cash', credit_account_id: ACCOUNT, amount: 100, code: 2 });
  const transfer = (name: string, body: unknown, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed', headers?: Record<string, string>): Case => ({
    name,
    method: 'POST',
    url: '/api/v1/transfers',
    payload: body,
    headers: { 'idempotency-key': newKey(), ...headers },
    status,
    code,
  });
  const rawAmount = (text: string) => () => JSON.stringify(transferBody()).replace('"amount":100', `"amount":${text}`);
  const deep = (n: number) => `{"debit_account_id":${'['.repeat(n)}${']'.repeat(n)},"credit_account_id":"x","amount":1,"code":2}`;

  const transferCases: Case[] = [
    transfer('amount 12.5 (a float)', { ...transferBody(), amount: 12.5 }),
    transfer('amount -100', { ...transferBody(), amount: -100 }),
    transfer('amount 0', { ...transferBody(), amount: 0 }),
    transfer('amount 2^53 + 1 as raw JSON text', rawAmount(MAX_SAFE_PLUS_2)()),
    transfer('amount 2^53 as raw JSON text', rawAmount('9007199254740992')()),
    transfer('amount 1e400 (Infinity once parsed)', rawAmount('1e400')()),
    transfer('amount 100.5e0', rawAmount('100.5e0')()),
    transfer('amount "100" (a string)', { ...transferBody(), amount: '100' }),
    transfer('amount "12.50" (yuan text)', { ...transferBody(), amount: '12.50' }),
    transfer('amount [100]', { ...transferBody(), amount: [100] }),
    transfer('amount {"fen":100}', { ...transferBody(), amount: { fen: 100 } }),
    transfer('amount null', { ...transferBody(), amount: null }),
    transfer('amount true', { ...transferBody(), amount: true }),
    transfer('amount missing', { debit_account_id: 'bank:cash', credit_account_id: ACCOUNT, code: 2 }),
    transfer('debit account missing', { credit_account_id: ACCOUNT, amount: 100, code: 2 }),
    transfer('code missing', { debit_account_id: 'bank:cash', credit_account_id: ACCOUNT, amount: 100 }),
    transfer('code 99 (not a transfer code)', { ...transferBody(), code: 99 }),
    transfer('code "2" (a string)', { ...transferBody(), code: '2' }),
    transfer('an unknown field', { ...transferBody(), fee: 1 }),
    transfer('a client-chosen ledger', { ...transferBody(), ledger: 156 }),
    transfer('client-chosen flags', { ...transferBody(), flags: 2 }),
    transfer('a __proto__ key', rawAmount('100,"__proto__":{"admin":true}')(), 400, ['validation_failed', 'malformed_json']),
    transfer('a constructor.prototype key', rawAmount('100,"constructor":{"prototype":{"admin":true}}')(), 400, ['validation_failed', 'malformed_json']),
    transfer('debit account unknown', { ...transferBody(), debit_account_id: 'no-such-account' }, 422, 'transfer_rejected'),
    transfer('credit account unknown', { ...transferBody(), credit_account_id: 'no-such-account' }, 422, 'transfer_rejected'),
    transfer('debit = credit', { ...transferBody(), debit_account_id: ACCOUNT }, 422, 'transfer_rejected'),
    transfer('overdraft of a customer account', { debit_account_id: ACCOUNT, credit_account_id: 'bank:cash', amount: 10_000_000, code: 3 }, 422, 'transfer_rejected'),
    transfer('debit account id of 65 characters', { ...transferBody(), debit_account_id: 'a'.repeat(65) }),
    transfer('debit account id with path traversal', { ...transferBody(), debit_account_id: '../../etc/passwd' }),
    transfer('debit account id with a NUL byte', { ...transferBody(), debit_account_id: 'bank:cash\u0000' }),
    transfer('debit account id with emoji', { ...transferBody(), debit_account_id: 'bank:💰' }),
    transfer('debit account id empty', { ...transferBody(), debit_account_id: '' }),
    transfer('debit account id a number', { ...transferBody(), debit_account_id: 42 }),
    transfer('reference of 257 characters', { ...transferBody(), reference: 'r'.repeat(257) }),
    transfer('reference a number', { ...transferBody(), reference: 5 }),
    transfer('reference an object', { ...transferBody(), reference: { a: 1 } }),
    transfer('no Idempotency-Key', transferBody(), 400, 'idempotency_key_required', { 'idempotency-key': '' }),
    transfer('Idempotency-Key too short', transferBody(), 400, 'idempotency_key_invalid', { 'idempotency-key': 'short-key' }),
    transfer('Idempotency-Key of 65 characters', transferBody(), 400, 'idempotency_key_invalid', { 'idempotency-key': 'k'.repeat(65) }),
    transfer('Idempotency-Key with spaces and !', transferBody(), 400, 'idempotency_key_invalid', { 'idempotency-key': 'bad key with spaces!!' }),
    transfer('Idempotency-Key with a colon and dots', transferBody(), 400, 'idempotency_key_invalid', { 'idempotency-key': 'key:with.dots:0000001' }),
    transfer('Idempotency-Key reused for a different transfer', { ...transferBody(), amount: 50_001 }, 409, 'transfer_exists_with_different_fields', { 'idempotency-key': FUND_KEY }),
    transfer('malformed JSON', '{"debit_account_id": "bank:cash", "amount": 1', 400, 'malformed_json'),
    transfer('JSON with a trailing comma', '{"amount": 1,}', 400, 'malformed_json'),
    transfer('an empty JSON body', '', 400, ['malformed_json', 'validation_failed']),
    transfer('a JSON array body', '[]', 400, 'validation_failed'),
    transfer('a JSON null body', 'null', 400, ['validation_failed', 'malformed_json']),
    transfer('a JSON number body', '42', 400, 'validation_failed'),
    transfer('text/plain', JSON.stringify(transferBody()), [400, 415], ['validation_failed', 'unsupported_media_type'], { 'content-type': 'text/plain' }),
    transfer('a form', 'debit_account_id=bank%3Acash&amount=100&code=2', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }),
    transfer('multipart', '--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n100\r\n--x--', 415, 'unsupported_media_type', { 'content-type': 'multipart/form-data; boundary=x' }),
    transfer('a 2 MB body', JSON.stringify({ ...transferBody(), reference: 'r'.repeat(2 * 1024 * 1024) }), 413, 'payload_too_large'),
    transfer('nesting 10,000 deep', deep(10_000)),
    transfer('nesting 200,000 deep (within the body limit)', deep(200_000), 400, ['validation_failed', 'malformed_json']),
  ];

  // ------------------------------------------------------------------ POST /api/v1/accounts
  const account = (name: string, body: unknown, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed', headers?: Record<string, string>): Case => ({ name, method: 'POST', url: '/api/v1/accounts', payload: body, status, code, ...(headers ? { headers } : {}) });
  const accountBody = () => ({ code: 2001, owner_id: PARTY });
  const accountCases: Case[] = [
    account('code 12.5', { ...accountBody(), code: 12.5 }),
    account('code -1', { ...accountBody(), code: -1 }),
    account('code 0', { ...accountBody(), code: 0 }),
    account('code "2001"', { ...accountBody(), code: '2001' }),
    account('code 9999 (no such account type)', { ...accountBody(), code: 9999 }),
    account('code 2^53 + 1 as raw text', `{"code":${MAX_SAFE_PLUS_2},"owner_id":"${PARTY}"}`),
    account('code null', { ...accountBody(), code: null }),
    account('code [2001]', { ...accountBody(), code: [2001] }),
    account('code missing', { owner_id: PARTY }),
    account('owner missing', { code: 2001 }),
    account('owner unknown', { ...accountBody(), owner_id: 'no-such-party' }),
    account('owner with path traversal', { ...accountBody(), owner_id: '../../etc/passwd' }),
    account('owner of 65 characters', { ...accountBody(), owner_id: 'p'.repeat(65) }),
    account('owner an object', { ...accountBody(), owner_id: { id: PARTY } }),
    account('name empty', { ...accountBody(), name: '' }),
    account('name of 101 characters', { ...accountBody(), name: 'n'.repeat(101) }),
    account('name a number', { ...accountBody(), name: 5 }),
    account('client-chosen flags', { ...accountBody(), flags: 0 }),
    account('client-chosen id', { ...accountBody(), id: 'my-own-id' }),
    account('client-chosen balance', { ...accountBody(), credits_posted: 1_000_000 }),
    account('malformed JSON', '{"code": 2001,', 400, 'malformed_json'),
    account('an empty JSON body', '', 400, ['malformed_json', 'validation_failed']),
    account('text/plain', JSON.stringify({ code: 2001 }), [400, 415], ['validation_failed', 'unsupported_media_type'], { 'content-type': 'text/plain' }),
    account('a form', 'code=2001', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }),
  ];

  // ------------------------------------------------------------------ POST /api/v1/parties
  const party = (name: string, body: unknown, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed', headers?: Record<string, string>): Case => ({ name, method: 'POST', url: '/api/v1/parties', payload: body, status, code, ...(headers ? { headers } : {}) });
  const partyBody = () => ({ kind: 'person', name: '李四', roles: ['customer'], org_id: BANK });
  const partyCases: Case[] = [
    party('kind unknown', { ...partyBody(), kind: 'alien' }),
    party('kind missing', { name: '李四', roles: ['customer'], org_id: BANK }),
    party('name empty', { ...partyBody(), name: '' }),
    party('name of 101 characters', { ...partyBody(), name: '名'.repeat(101) }),
    party('name a number', { ...partyBody(), name: 123 }),
    party('name an array', { ...partyBody(), name: ['李四'] }),
    party('roles empty', { ...partyBody(), roles: [] }),
    party('roles unknown', { ...partyBody(), roles: ['god'] }),
    party('roles a string', { ...partyBody(), roles: 'customer' }),
    party('roles with null', { ...partyBody(), roles: [null] }),
    party('roles six long', { ...partyBody(), roles: ['customer', 'farmer', 'merchant', 'buyer', 'agent', 'customer'] }),
    party('org unknown', { ...partyBody(), org_id: 'no-such-org' }, 403, 'forbidden'),
    party('org with path traversal', { ...partyBody(), org_id: '../../etc' }),
    party('org null', { ...partyBody(), org_id: null }),
    party('national ID with a wrong check digit', { ...partyBody(), national_id: '110101199003074478' }),
    party('national ID of 17 digits', { ...partyBody(), national_id: '11010119900307447' }),
    party('national ID as a number', `{"kind":"person","name":"李四","roles":["customer"],"org_id":"${BANK}","national_id":110101199003074477}`),
    party('national ID already registered', { ...partyBody(), national_id: NATIONAL_ID }, 409, 'conflict'),
    party('phone too short', { ...partyBody(), phone: '12345' }),
    party('phone a number', { ...partyBody(), phone: 13800138000 }),
    party('region code letters', { ...partyBody(), region_code: 'abc' }),
    party('an internal field', { ...partyBody(), national_id_enc: 'v1.x.y.z' }),
    party('malformed JSON', '{"kind":', 400, 'malformed_json'),
    party('text/plain', 'kind=person', [400, 415], ['validation_failed', 'unsupported_media_type'], { 'content-type': 'text/plain' }),
  ];

  // ------------------------------------------------------------------ POST /api/v1/auth/login
  const login = (name: string, body: unknown, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed', headers?: Record<string, string>): Case => ({ name, method: 'POST', url: '/api/v1/auth/login', payload: body, status, code, anonymous: true, ...(headers ? { headers } : {}) });
  const loginCases: Case[] = [
    login('empty object', {}),
    login('username missing', { password: 'Secret-password-1' }),
    login('password missing', { username: 'admin' }),
    login('username empty', { username: '', password: 'Secret-password-1' }),
    login('username a number', { username: 123, password: 'Secret-password-1' }),
    login('username an array', { username: ['admin'], password: 'Secret-password-1' }),
    login('username of 65 characters', { username: 'u'.repeat(65), password: 'Secret-password-1' }),
    login('password of 129 characters', { username: 'admin', password: 'p'.repeat(129) }),
    login('password null', { username: 'admin', password: null }),
    login('totp letters', { username: 'admin', password: 'Secret-password-1', totp: 'abcdef' }),
    login('totp a number', { username: 'admin', password: 'Secret-password-1', totp: 123456 }),
    login('totp of 7 digits', { username: 'admin', password: 'Secret-password-1', totp: '1234567' }),
    login('an unknown field', { username: 'admin', password: 'Secret-password-1', remember: true }),
    login('a role field', { username: 'admin', password: 'Secret-password-1', role: 'admin' }),
    login('an unknown user', { username: 'nobody-here', password: 'Secret-password-1' }, 401, 'invalid_credentials'),
    login('malformed JSON', '{"username":"admin",', 400, 'malformed_json'),
    login('an empty JSON body', '', 400, ['malformed_json', 'validation_failed']),
    login('text/plain', 'admin:secret', [400, 415], ['validation_failed', 'unsupported_media_type'], { 'content-type': 'text/plain' }),
    login('a form', 'username=admin&password=x', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }),
    login('a 2 MB body', JSON.stringify({ username: 'admin', password: 'p'.repeat(2 * 1024 * 1024) }), 413, 'payload_too_large'),
  ];

  // ------------------------------------------------------------------ GET /api/v1/transfers
  const search = (name: string, query: string, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed'): Case => ({ name, method: 'GET', url: `/api/v1/transfers?${query}`, status, code });
  const searchCases: Case[] = [
    search('limit 0', 'limit=0'),
    search('limit 501', 'limit=501'),
    search('limit 12.5', 'limit=12.5'),
    search('limit -1', 'limit=-1'),
    search('limit abc', 'limit=abc'),
    search('limit twice', 'limit=1&limit=2'),
    search('from -1', 'from=-1'),
    search('from 2^53 + 1', `from=${MAX_SAFE_PLUS_2}`),
    search('to not a number', 'to=yesterday'),
    search('before 1e400', 'before=1e400'),
    search('code 0', 'code=0'),
    search('code 70000', 'code=70000'),
    search('an unknown parameter', 'foo=1'),
    search('account_id[] (bracket syntax)', 'account_id[]=x'),
    search('account id with path traversal', `account_id=${encodeURIComponent('../../etc/passwd')}`),
    search('account id with a NUL byte', 'account_id=bank%00cash'),
    search('account id unknown', 'account_id=no-such-account', 404, 'not_found'),
    search('reference of 257 characters', `reference=${'r'.repeat(257)}`),
  ];

  // ------------------------------------------------------------------ GET /api/v1/accounts/:id/statement
  const statement = (name: string, path: string, status: number | number[] = 400, code: ErrorCode | ErrorCode[] = 'validation_failed'): Case => ({ name, method: 'GET', url: path, status, code });
  const statementCases: Case[] = [
    statement('unknown account', '/api/v1/accounts/no-such-account/statement', 404, 'not_found'),
    statement('encoded path traversal', `/api/v1/accounts/${encodeURIComponent('../../etc/passwd')}/statement`),
    statement('raw path traversal', '/api/v1/accounts/../../../etc/passwd/statement', 404, ['route_not_found', 'not_found', 'validation_failed'] as ErrorCode[]),
    statement('id of 65 characters', `/api/v1/accounts/${'a'.repeat(65)}/statement`),
    statement('id with a NUL byte', '/api/v1/accounts/bank%00cash/statement'),
    statement('id in Chinese', `/api/v1/accounts/${encodeURIComponent('账户')}/statement`),
    statement('limit 0', `/api/v1/accounts/${ACCOUNT}/statement?limit=0`),
    statement('limit 501', `/api/v1/accounts/${ACCOUNT}/statement?limit=501`),
    statement('limit abc', `/api/v1/accounts/${ACCOUNT}/statement?limit=abc`),
    statement('before -1', `/api/v1/accounts/${ACCOUNT}/statement?before=-1`),
    statement('before 2^53 + 1', `/api/v1/accounts/${ACCOUNT}/statement?before=${MAX_SAFE_PLUS_2}`),
    statement('an unknown parameter', `/api/v1/accounts/${ACCOUNT}/statement?all=true`),
  ];

  const groups: [string, Case[]][] = [
    ['POST /api/v1/transfers', transferCases],
    ['POST /api/v1/accounts', accountCases],
    ['POST /api/v1/parties', partyCases],
    ['POST /api/v1/auth/login', loginCases],
    ['GET /api/v1/transfers', searchCases],
    ['GET /api/v1/accounts/:id/statement', statementCases],
  ];

  for (const [group, cases] of groups) {
    describe(group, () => {
      it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => run(c));
    });
  }

  // ------------------------------------------------------------------ text that is unusual but may be valid
  describe('unusual text', () => {
    const liveTransferBody = () => ({ debit_account_id: 'bank:cash', credit_account_id: accountId, amount: 100, code: 2 });
    it('keeps CJK and emoji in party and account names exactly', async () => {
      const name = '王小明😀（测试）';
      const p = await send({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'person', name, roles: ['customer'], org_id: h.bankId } });
      expect(p.statusCode, p.body).toBe(201);
      const got = await send({ method: 'GET', url: `/api/v1/parties/${p.json().id}`, headers: auth(h.adminToken) });
      expect(got.json().name).toBe(name);
      const a = await send({ method: 'POST', url: '/api/v1/accounts', headers: auth(h.adminToken), payload: { code: 2001, owner_id: p.json().id, name: '账户🏦' } });
      expect(a.statusCode, a.body).toBe(201);
      expect(a.json().name).toBe('账户🏦');
    });

    const nul = 'before\u0000after';
    it('a NUL byte in a party name: refused with a typed 4xx or kept exactly, never a 500', async () => {
      const before = await snapshot();
      const res = await send({ method: 'POST', url: '/api/v1/parties', headers: auth(h.adminToken), payload: { kind: 'person', name: nul, roles: ['customer'], org_id: h.bankId } });
      if (res.statusCode === 201) {
        const got = await send({ method: 'GET', url: `/api/v1/parties/${res.json().id}`, headers: auth(h.adminToken) });
        expect(got.json().name).toBe(nul);
      } else {
        expectTypedError(res, 400, ['validation_failed']);
        expect(await snapshot()).toEqual(before);
      }
    });

    it('a NUL byte in an account name: refused with a typed 4xx or kept exactly, never a 500', async () => {
      const before = await snapshot();
      const res = await send({ method: 'POST', url: '/api/v1/accounts', headers: auth(h.adminToken), payload: { code: 2001, owner_id: partyId, name: nul } });
      if (res.statusCode === 201) expect(res.json().name).toBe(nul);
      else {
        expectTypedError(res, [400, 422], ['validation_failed', 'account_rejected']);
        expect(await snapshot()).toEqual(before);
      }
    });

    it('a NUL byte in a transfer reference: refused with a typed 4xx or kept exactly, never a 500', async () => {
      const before = await snapshot();
      const key = newKey();
      const res = await send({ method: 'POST', url: '/api/v1/transfers', headers: auth(h.adminToken, { 'idempotency-key': key }), payload: { ...liveTransferBody(), reference: nul } });
      if (res.statusCode === 201) {
        expect(res.json().transfer.reference).toBe(nul);
        const again = await send({ method: 'POST', url: '/api/v1/transfers', headers: auth(h.adminToken, { 'idempotency-key': key }), payload: { ...liveTransferBody(), reference: nul } });
        expect(again.statusCode, again.body).toBe(200);
      } else {
        expectTypedError(res, [400, 422], ['validation_failed', 'transfer_rejected']);
        expect(await snapshot()).toEqual(before);
      }
      const report = await h.ledger.verify();
      expect(report, report.problem).toMatchObject({ ok: true });
    });

    it('a NUL byte in a transfer search by reference: an answer or a typed 4xx, never a 500', async () => {
      const res = await send({ method: 'GET', url: '/api/v1/transfers?reference=a%00b', headers: auth(h.adminToken) });
      if (res.statusCode !== 200) expectTypedError(res, 400, ['validation_failed']);
    });

    it.each([
      ['a sign-in with a NUL byte in the username', 'POST', '/api/v1/auth/login', { username: 'ad\u0000min', password: 'Secret-password-1' }],
      ['a party search with a NUL byte', 'GET', '/api/v1/parties?search=a%00b', undefined],
      ['a user with a NUL byte in the display name', 'POST', '/api/v1/users', { username: 'nul-user', display_name: 'a\u0000b', role: 'branch_staff', org_id: BANK, password: 'Passw0rd-1234' }],
      ['an organisation with a NUL byte in the name', 'POST', '/api/v1/organisations', { parent_id: BANK, kind: 'branch', code: 'NUL-1', name: 'a\u0000b' }],
    ] as const)('%s: an answer or a typed 4xx, never a 500', async (_name, method, url, body) => {
      const payload = body === undefined ? undefined : (JSON.parse(fill(JSON.stringify(body))) as object);
      const res = await send({ method, url, headers: url.includes('login') ? {} : auth(h.adminToken), ...(payload ? { payload } : {}) });
      if (res.statusCode >= 400) expectTypedError(res, [400, 401, 403, 409, 422], ['validation_failed', 'invalid_credentials', 'forbidden', 'conflict', 'account_rejected']);
    });

    it('a lone UTF-16 surrogate in a transfer reference: a retry of the accepted transfer is a replay', async () => {
      const key = newKey();
      const payload = JSON.stringify({ ...liveTransferBody(), reference: 'half \ud800 pair' });
      const headers = auth(h.adminToken, { 'idempotency-key': key, 'content-type': 'application/json' });
      const first = await send({ method: 'POST', url: '/api/v1/transfers', headers, payload });
      if (first.statusCode !== 201) {
        // Refused: then the retry must be refused the same way.
        expectTypedError(first, [400, 422], ['validation_failed', 'transfer_rejected']);
        const again = await send({ method: 'POST', url: '/api/v1/transfers', headers, payload });
        expect(again.body.replace(/"request_id":"[^"]+"/, '')).toBe(first.body.replace(/"request_id":"[^"]+"/, ''));
        return;
      }
      const again = await send({ method: 'POST', url: '/api/v1/transfers', headers, payload });
      expect(again.statusCode, `the same request again: ${again.body}`).toBe(200);
      expect(again.json()).toMatchObject({ replayed: true });
    });
  });

  // ------------------------------------------------------------------ secrets
  it('never shows a password hash, a full national ID, a TOTP secret or a session token in any response', async () => {
    // Read every list and detail a staff member can see, then scan all responses of this file.
    for (const url of ['/api/v1/users', '/api/v1/parties', `/api/v1/parties/${partyId}`, '/api/v1/audit?limit=500', '/api/v1/auth/me', '/api/v1/accounts', `/api/v1/accounts/${accountId}`, `/api/v1/accounts/${accountId}/statement`, '/api/v1/organisations']) {
      const res = await send({ method: 'GET', url, headers: auth(h.adminToken) });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    }
    const users = (await h.db.selectFrom('users').select(['password_hash', 'totp_secret_enc']).execute()) as { password_hash: string; totp_secret_enc: string | null }[];
    const parties = await h.db.selectFrom('parties').select(['national_id_enc', 'national_id_hmac']).execute();
    const totpSecrets = users.flatMap((u) => (u.totp_secret_enc ? [h.secrets.decrypt('totp', u.totp_secret_enc)] : []));
    expect(totpSecrets.length).toBeGreaterThan(0);
    const forbidden: [string, string][] = [
      ...users.flatMap((u): [string, string][] => [['password hash', u.password_hash], ...(u.totp_secret_enc ? [['sealed TOTP secret', u.totp_secret_enc] as [string, string]] : [])]),
      ...totpSecrets.map((s): [string, string] => ['TOTP secret', s]),
      ...parties.flatMap((p): [string, string][] => [
        ...(p.national_id_enc ? [['sealed national ID', p.national_id_enc] as [string, string]] : []),
        ...(p.national_id_hmac ? [['national ID index', p.national_id_hmac] as [string, string]] : []),
      ]),
      ['full national ID', NATIONAL_ID],
      ['a password typed in a refused login', 'Secret-password-1'],
    ];
    expect(seen.length).toBeGreaterThan(100);
    for (const r of seen) {
      for (const [what, value] of forbidden) expect(r.body.includes(value), `${what} in the response to ${r.url}`).toBe(false);
      expect(/scrypt\$/.test(r.body), `a password hash in the response to ${r.url}`).toBe(false);
      if (!r.login) expect(r.body.includes(h.adminToken), `the session token in the response to ${r.url}`).toBe(false);
    }
  });
});
