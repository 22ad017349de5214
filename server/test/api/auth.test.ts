/**
 * Sign-in, second factor, sessions and who-sees-what (DESIGN.md rule 6), over HTTP (inject), on
 * every dialect: lockout, TOTP for admin/auditor and the enrolment of a new admin, logout, RBAC
 * by role, staff scoped to their organisation subtree, merchant-side users to their own party,
 * and the audit log of staff mutations.
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganisation } from '../../src/identity/organisations.js';
import { SESSION_RECHECK_MS, currentTotp, setTotpSecret } from '../../src/identity/sessions.js';
import { createUser } from '../../src/identity/users.js';
import type { ErrorCode } from '../../src/platform/errors.js';
import { DIALECTS } from '../dialects.js';
import { auth, createHarness, type Harness } from '../harness.js';

const PASSWORD = 'Passw0rd-for-auth-tests';
type Role = 'admin' | 'branch_staff' | 'auditor' | 'merchant_owner' | 'cashier';

/** A six-digit code that is not valid for the secret in the current window or the next/previous. */
function wrongCode(secret: string): string {
  const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
  const now = Date.now();
  const valid = new Set([-60_000, -30_000, 0, 30_000, 60_000].map((d) => totp.generate({ timestamp: now + d })));
  for (const candidate of ['000000', '111111', '222222', '333333', '444444', '555555']) if (!valid.has(candidate)) return candidate;
  throw new Error('unreachable');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('authentication and access on %s', (dialect) => {
  let h: Harness;
  let users = 0;
  const bodies: { url: string; body: string }[] = [];

  let branchA: string;
  let branchB: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    // Branches are made before any signed-in request (see 'a new branch is usable at once' for why).
    branchA = (await createOrganisation(h.db, { parent_id: h.bankId, kind: 'branch', code: `A-${dialect}`, name: '支行 A' })).id;
    branchB = (await createOrganisation(h.db, { parent_id: h.bankId, kind: 'branch', code: `B-${dialect}`, name: '支行 B' })).id;
  });
  afterAll(async () => h?.close());

  const api = async (method: 'GET' | 'POST', url: string, token?: string, payload?: object, headers: Record<string, string> = {}) => {
    const res = await h.app.inject({ method, url, headers: { ...(token ? auth(token) : {}), ...headers }, ...(payload ? { payload } : {}) });
    bodies.push({ url, body: res.body });
    return res;
  };
  const expectError = (res: { statusCode: number; body: string }, status: number, code: ErrorCode) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(JSON.parse(res.body).error.code, res.body).toBe(code);
  };
  const login = (username: string, password: string, totp?: string) => api('POST', '/api/v1/auth/login', undefined, { username, password, ...(totp ? { totp } : {}) });

  /** A user made directly in the database; TOTP set when asked (as an enrolled admin/auditor would have). */
  async function makeUser(role: Role, orgId: string, options: { merchantId?: string; totp?: boolean } = {}) {
    const username = `auth${++users}.${role.replace(/_/g, '-')}`;
    const user = await createUser(h.db, { username, display_name: username, role, org_id: orgId, merchant_id: options.merchantId ?? null, password: PASSWORD });
    const secret = options.totp ? await setTotpSecret({ db: h.db, secrets: h.secrets }, user.id) : undefined;
    return { id: user.id, username, secret };
  }
  async function tokenOf(u: { username: string; secret?: string | undefined }): Promise<string> {
    const res = await login(u.username, PASSWORD, u.secret ? currentTotp(u.secret) : undefined);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().token as string;
  }

  describe('sign-in', () => {
    it('locks a user after 5 wrong passwords, even against the right password afterwards', async () => {
      const u = await makeUser('branch_staff', h.bankId);
      for (let i = 1; i <= 4; i++) expectError(await login(u.username, `Wrong-password-${i}`), 401, 'invalid_credentials');
      expectError(await login(u.username, 'Wrong-password-5'), 423, 'account_locked');
      expectError(await login(u.username, PASSWORD), 423, 'account_locked');
      const list = await api('GET', '/api/v1/users', h.adminToken);
      expect(list.json().find((x: { username: string }) => x.username === u.username)).toMatchObject({ locked: true });
      // Once the lock has run out (15 minutes, simulated), the right password works and the count starts again.
      await h.db.updateTable('users').set({ locked_until: Date.now() - 1 }).where('id', '=', u.id).execute();
      expect((await login(u.username, PASSWORD)).statusCode).toBe(200);
      expectError(await login(u.username, 'Wrong-password-6'), 401, 'invalid_credentials');
    });

    it('locks a user even when the wrong passwords arrive all at once', async () => {
      const u = await makeUser('branch_staff', h.bankId);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login(u.username, `Wrong-password-${i}`)));
      expect(results.map((r) => r.statusCode).every((s) => s === 401 || s === 423)).toBe(true);
      // Ten wrong passwords were tried: whatever their order, the user must now be locked.
      expectError(await login(u.username, PASSWORD), 423, 'account_locked');
    });

    it('answers an unknown user like a wrong password, and never locks anything for it', async () => {
      for (let i = 0; i < 6; i++) expectError(await login('no-such-user', `Wrong-password-${i}`), 401, 'invalid_credentials');
    });

    it('requires a one-time code from an admin: totp_required, totp_invalid, then a session', async () => {
      const admin = await makeUser('admin', h.bankId, { totp: true });
      expectError(await login(admin.username, PASSWORD), 401, 'totp_required');
      expectError(await login(admin.username, PASSWORD, wrongCode(admin.secret!)), 401, 'totp_invalid');
      expectError(await login(admin.username, 'Wrong-password-1', currentTotp(admin.secret!)), 401, 'invalid_credentials');
      const ok = await login(admin.username, PASSWORD, currentTotp(admin.secret!));
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'ok', user: { username: admin.username, role: 'admin', totp_enabled: true } });
      expect(ok.json().token).toEqual(expect.any(String));
    });

    it('counts wrong one-time codes toward the lockout', async () => {
      const auditor = await makeUser('auditor', h.bankId, { totp: true });
      const bad = wrongCode(auditor.secret!);
      for (let i = 1; i <= 4; i++) expectError(await login(auditor.username, PASSWORD, bad), 401, 'totp_invalid');
      expectError(await login(auditor.username, PASSWORD, bad), 423, 'account_locked');
      expectError(await login(auditor.username, PASSWORD, currentTotp(auditor.secret!)), 423, 'account_locked');
    });

    it('enrols a new admin: challenge, confirmation with a code from the secret, then TOTP on every sign-in', async () => {
      const admin = await makeUser('admin', h.bankId);
      const sessionsBefore = (await h.db.selectFrom('sessions').selectAll().execute()).length;
      const challenge = await login(admin.username, PASSWORD);
      expect(challenge.statusCode, challenge.body).toBe(200);
      const c = challenge.json<{ status: string; enrolment_token: string; secret: string; otpauth_url: string; token?: string }>();
      expect(c).toMatchObject({ status: 'enrol_totp', secret: expect.stringMatching(/^[A-Z2-7]+=*$/), otpauth_url: expect.stringMatching(/^otpauth:\/\/totp\//) });
      expect(c.token).toBeUndefined();
      expect(challenge.headers['set-cookie']).toBeUndefined();
      expect((await h.db.selectFrom('sessions').selectAll().execute()).length).toBe(sessionsBefore);
      // The pending secret is sealed in the database, not stored in clear.
      const row = await h.db.selectFrom('users').select(['totp_secret_enc', 'totp_enabled']).where('id', '=', admin.id).executeTakeFirstOrThrow();
      expect(row.totp_secret_enc).not.toContain(c.secret);
      expect(Number(row.totp_enabled)).toBe(0);

      const confirm = (enrolment_token: string, code: string) => api('POST', '/api/v1/auth/totp/confirm', undefined, { username: admin.username, enrolment_token, code });
      expectError(await confirm('x'.repeat(43), currentTotp(c.secret)), 401, 'invalid_credentials');
      expectError(await confirm(c.enrolment_token, wrongCode(c.secret)), 401, 'totp_invalid');
      const done = await confirm(c.enrolment_token, currentTotp(c.secret));
      expect(done.statusCode, done.body).toBe(200);
      expect(done.json()).toMatchObject({ status: 'ok', user: { username: admin.username, totp_enabled: true } });
      const me = await api('GET', '/api/v1/auth/me', done.json().token);
      expect(me.json()).toMatchObject({ username: admin.username, role: 'admin' });
      // The enrolment cannot be confirmed twice, and from now on the code is required.
      expectError(await confirm(c.enrolment_token, currentTotp(c.secret)), 401, 'invalid_credentials');
      expectError(await login(admin.username, PASSWORD), 401, 'totp_required');
      expect((await login(admin.username, PASSWORD, currentTotp(c.secret))).statusCode).toBe(200);
      // The secret is shown once: in no later response.
      expect(bodies.filter((b) => b.body.includes(c.secret)).map((b) => b.url)).toEqual(['/api/v1/auth/login']);
    });

    it('ends a session on logout (bearer and cookie)', async () => {
      const u = await makeUser('branch_staff', h.bankId);
      const token = await tokenOf(u);
      expect((await api('GET', '/api/v1/auth/me', token)).statusCode).toBe(200);
      expect((await api('POST', '/api/v1/auth/logout', token)).statusCode).toBe(200);
      expectError(await api('GET', '/api/v1/auth/me', token), 401, 'unauthenticated');
      expectError(await api('GET', '/api/v1/accounts', token), 401, 'unauthenticated');

      const res = await login(u.username, PASSWORD);
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      expect(cookie).toMatch(/^xw_session=/);
      expect((await api('GET', '/api/v1/auth/me', undefined, undefined, { cookie })).statusCode).toBe(200);
      expect((await api('POST', '/api/v1/auth/logout', undefined, undefined, { cookie })).statusCode).toBe(200);
      expectError(await api('GET', '/api/v1/auth/me', undefined, undefined, { cookie }), 401, 'unauthenticated');
    });

    it('refuses an expired session', async () => {
      const u = await makeUser('branch_staff', h.bankId);
      const token = await tokenOf(u);
      await h.db.updateTable('sessions').set({ expires_at: Date.now() - 1 }).where('user_id', '=', u.id).execute();
      expectError(await api('GET', '/api/v1/auth/me', token), 401, 'unauthenticated');
    });

    it('refuses a session revoked other than by its own log-out: at once on PostgreSQL, within SESSION_RECHECK_MS on SQLite', async () => {
      // A session deleted and a user disabled straight in the database (through this connection, on SQLite: the cache cannot tell).
      const u = await makeUser('branch_staff', h.bankId);
      const a = await tokenOf(u);
      const other = await makeUser('branch_staff', h.bankId);
      const b = await tokenOf(other);
      expect((await api('GET', '/api/v1/auth/me', a)).statusCode).toBe(200);
      expect((await api('GET', '/api/v1/auth/me', b)).statusCode).toBe(200);
      await h.db.deleteFrom('sessions').where('user_id', '=', u.id).execute();
      await h.db.updateTable('users').set({ disabled: 1 }).where('id', '=', other.id).execute();
      await sleep(SESSION_RECHECK_MS + 50);
      expectError(await api('GET', '/api/v1/auth/me', a), 401, 'unauthenticated');
      expectError(await api('GET', '/api/v1/accounts', b), 401, 'unauthenticated');
    });

    it('refuses a verified session at once when it expires, without waiting for the next check', async () => {
      const u = await makeUser('branch_staff', h.bankId);
      const token = await tokenOf(u);
      const expiresAt = Date.now() + 800;
      await h.db.updateTable('sessions').set({ expires_at: expiresAt }).where('user_id', '=', u.id).execute();
      expect((await api('GET', '/api/v1/auth/me', token)).statusCode).toBe(200);
      await sleep(Math.max(0, expiresAt - Date.now()) + 20);
      expectError(await api('GET', '/api/v1/auth/me', token), 401, 'unauthenticated');
    });

    it('answers 401 to every protected endpoint without a valid session', async () => {
      const calls: [method: 'GET' | 'POST', url: string, body?: object][] = [
        ['GET', '/api/v1/auth/me'],
        ['GET', '/api/v1/accounts'],
        ['GET', '/api/v1/accounts/bank:cash'],
        ['GET', '/api/v1/accounts/bank:cash/statement'],
        ['GET', '/api/v1/transfers?account_id=bank:cash'],
        ['GET', '/api/v1/parties'],
        ['GET', '/api/v1/users'],
        ['GET', '/api/v1/audit'],
        ['GET', '/api/v1/organisations'],
        ['GET', '/api/v1/dashboard/overview'],
        ['POST', '/api/v1/transfers', { debit_account_id: 'bank:cash', credit_account_id: 'bank:settlement', amount: 1, code: 1 }],
        ['POST', '/api/v1/accounts', { code: 2001, owner_id: h.bankId }],
        ['POST', '/api/v1/parties', { kind: 'person', name: '张三', roles: ['customer'], org_id: h.bankId }],
        ['POST', '/api/v1/users', { username: 'intruder', display_name: 'x', role: 'admin', org_id: h.bankId, password: 'Intruder-12345' }],
        ['POST', '/api/v1/organisations', { parent_id: h.bankId, kind: 'branch', code: 'EVIL', name: 'x' }],
      ];
      const before = await h.ledger.verify();
      for (const token of [undefined, 'not-a-session-token', h.adminToken.slice(0, -2) + 'xx']) {
        for (const [method, url, body] of calls) {
          const res = await api(method, url, token, body, { 'idempotency-key': 'unauthenticated-0000001' });
          expectError(res, 401, 'unauthenticated');
        }
      }
      const after = await h.ledger.verify();
      expect(after.transfers).toBe(before.transfers);
    });
  });

  describe('who sees what', () => {
    const acct: Record<string, string> = {};
    const party: Record<string, string> = {};
    let t1: string;
    let t2: string;

    beforeAll(async () => {
      const makeParty = async (key: string, orgId: string, role: string) => {
        const res = await api('POST', '/api/v1/parties', h.adminToken, { kind: 'business', name: `商户 ${key}`, roles: [role], org_id: orgId });
        expect(res.statusCode, res.body).toBe(201);
        party[key] = res.json().id;
        const open = await api('POST', '/api/v1/accounts', h.adminToken, { code: role === 'merchant' ? 2002 : 2001, owner_id: party[key] });
        expect(open.statusCode, open.body).toBe(201);
        acct[key] = open.json().id;
      };
      await makeParty('M1', h.bankId, 'merchant');
      await makeParty('M2', h.bankId, 'merchant');
      await makeParty('PA', branchA, 'customer');
      await makeParty('PB', branchB, 'customer');
      const second = await api('POST', '/api/v1/accounts', h.adminToken, { code: 2001, owner_id: party.PA! });
      acct.PA2 = second.json().id;
      const fund = async (key: string, to: string) => {
        const res = await api('POST', '/api/v1/transfers', h.adminToken, { debit_account_id: 'bank:cash', credit_account_id: to, amount: 10_000, code: 2 }, { 'idempotency-key': key });
        expect(res.statusCode, res.body).toBe(201);
        return key;
      };
      t1 = await fund(`fund-m1-${dialect}-000001`, acct.M1!);
      t2 = await fund(`fund-m2-${dialect}-000001`, acct.M2!);
      await fund(`fund-pa-${dialect}-000001`, acct.PA!);
      await fund(`fund-pb-${dialect}-000001`, acct.PB!);
    });

    it('an auditor reads but cannot move money or register anyone', async () => {
      const token = await tokenOf(await makeUser('auditor', h.bankId, { totp: true }));
      const before = await h.ledger.verify();
      expectError(await api('POST', '/api/v1/transfers', token, { debit_account_id: acct.M1!, credit_account_id: acct.M2!, amount: 1, code: 1 }, { 'idempotency-key': `auditor-${dialect}-00000001` }), 403, 'forbidden');
      expectError(await api('POST', '/api/v1/parties', token, { kind: 'person', name: '张三', roles: ['customer'], org_id: h.bankId }), 403, 'forbidden');
      expectError(await api('POST', '/api/v1/accounts', token, { code: 2001, owner_id: party.M1! }), 403, 'forbidden');
      expectError(await api('POST', '/api/v1/users', token, { username: 'by-auditor', display_name: 'x', role: 'branch_staff', org_id: h.bankId, password: 'Passw0rd-1234' }), 403, 'forbidden');
      expect((await h.ledger.verify()).transfers).toBe(before.transfers);
      expect((await api('GET', `/api/v1/transfers/${t1}`, token)).statusCode).toBe(200);
      expect((await api('GET', '/api/v1/audit', token)).statusCode).toBe(200);
    });

    it("a merchant owner sees only their own party's accounts and transfers", async () => {
      const token = await tokenOf(await makeUser('merchant_owner', h.bankId, { merchantId: party.M1! }));
      expect((await api('GET', `/api/v1/accounts/${acct.M1}`, token)).statusCode).toBe(200);
      for (const url of [`/api/v1/accounts/${acct.M2}`, `/api/v1/accounts/${acct.M2}/statement`, `/api/v1/accounts/${acct.M2}/balance?at=2030-01-01T00:00:00Z`, `/api/v1/transfers?account_id=${acct.M2}`, `/api/v1/transfers/${t2}`, '/api/v1/accounts/bank:cash']) {
        expectError(await api('GET', url, token), 404, 'not_found');
      }
      const list = await api('GET', '/api/v1/accounts', token);
      expect(list.json().items.map((a: { owner_id: string }) => a.owner_id)).toEqual([party.M1]);
      expect((await api('GET', `/api/v1/accounts?owner_id=${party.M2}`, token)).json()).toMatchObject({ items: [], total: 0 });
      expect((await api('GET', `/api/v1/transfers/${t1}`, token)).statusCode).toBe(200);
      // Not every transfer of the bank: only with an account of their own.
      const all = await api('GET', '/api/v1/transfers', token);
      expect([400, 403, 404], all.body).toContain(all.statusCode);
      for (const url of ['/api/v1/parties', `/api/v1/parties/${party.M2}`, '/api/v1/users', '/api/v1/audit', '/api/v1/organisations']) {
        expectError(await api('GET', url, token), 403, 'forbidden');
      }
      expectError(await api('POST', '/api/v1/transfers', token, { debit_account_id: acct.M1!, credit_account_id: acct.M2!, amount: 1, code: 5 }, { 'idempotency-key': `merchant-${dialect}-0000001` }), 403, 'forbidden');
    });

    it("branch staff of branch A cannot see or touch branch B's parties and accounts", async () => {
      const token = await tokenOf(await makeUser('branch_staff', branchA));
      const parties = await api('GET', '/api/v1/parties?limit=500', token);
      const ids = parties.json().items.map((p: { id: string }) => p.id);
      expect(ids).toContain(party.PA);
      expect(ids).not.toContain(party.PB);
      expect(ids).not.toContain(party.M1);
      expectError(await api('GET', `/api/v1/parties/${party.PB}`, token), 404, 'not_found');
      expect((await api('GET', `/api/v1/parties/${party.PA}`, token)).statusCode).toBe(200);
      expectError(await api('GET', `/api/v1/accounts/${acct.PB}`, token), 404, 'not_found');
      expectError(await api('GET', `/api/v1/accounts/${acct.PB}/statement`, token), 404, 'not_found');
      expectError(await api('GET', `/api/v1/transfers?account_id=${acct.PB}`, token), 404, 'not_found');
      const accounts = await api('GET', '/api/v1/accounts?limit=500', token);
      expect(accounts.json().items.map((a: { id: string }) => a.id).sort()).toEqual([acct.PA, acct.PA2].sort());
      const orgs = await api('GET', '/api/v1/organisations', token);
      expect(orgs.json().map((o: { id: string }) => o.id)).toEqual([branchA]);
      const before = await h.ledger.verify();
      expectError(await api('POST', '/api/v1/parties', token, { kind: 'person', name: '张三', roles: ['customer'], org_id: branchB }), 403, 'forbidden');
      expectError(await api('POST', '/api/v1/accounts', token, { code: 2001, owner_id: party.PB! }), 400, 'validation_failed');
      expectError(await api('POST', '/api/v1/transfers', token, { debit_account_id: acct.PB!, credit_account_id: acct.PA!, amount: 1, code: 1 }, { 'idempotency-key': `staff-a-${dialect}-000001` }), 403, 'forbidden');
      expectError(await api('POST', '/api/v1/transfers', token, { debit_account_id: acct.PA!, credit_account_id: acct.PB!, amount: 1, code: 1 }, { 'idempotency-key': `staff-a-${dialect}-000002` }), 403, 'forbidden');
      expect((await h.ledger.verify()).transfers).toBe(before.transfers);
      expectError(await api('GET', '/api/v1/audit', token), 403, 'forbidden');
      // Within the branch, staff work normally.
      const own = await api('POST', '/api/v1/parties', token, { kind: 'person', name: '张三', roles: ['customer'], org_id: branchA });
      expect(own.statusCode, own.body).toBe(201);
    });

    it('a new branch is usable at once by the admin who created it', async () => {
      const branch = await api('POST', '/api/v1/organisations', h.adminToken, { parent_id: h.bankId, kind: 'branch', code: `NEW-${dialect}`, name: '新支行' });
      expect(branch.statusCode, branch.body).toBe(201);
      const p = await api('POST', '/api/v1/parties', h.adminToken, { kind: 'person', name: '新客户', roles: ['customer'], org_id: branch.json().id });
      expect(p.statusCode, `registering a party in the branch just created: ${p.body}`).toBe(201);
    });

    it('an admin of branch A cannot create a user who acts for a party of branch B', async () => {
      const admin = await makeUser('admin', branchA, { totp: true });
      const token = await tokenOf(admin);
      expectError(await api('POST', '/api/v1/users', token, { username: `b-spy-${dialect}`, display_name: 'x', role: 'branch_staff', org_id: branchB, password: 'Passw0rd-1234' }), 403, 'forbidden');
      const res = await api('POST', '/api/v1/users', token, { username: `m-spy-${dialect}`, display_name: 'x', role: 'merchant_owner', org_id: branchA, merchant_id: party.PB!, password: 'Passw0rd-1234' });
      expect([400, 403], `a branch-A admin made a user acting for branch B's party: ${res.body}`).toContain(res.statusCode);
    });

    it('writes every staff mutation to the audit log, refused ones too', async () => {
      const staff = await makeUser('branch_staff', branchA);
      const staffToken = await tokenOf(staff);
      const admin = await h.db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
      const key = `audited-${dialect}-00000001`;
      const mutations: { action: string; actor: string; outcome: string; run: () => Promise<{ statusCode: number; body: string }> }[] = [
        { action: 'org.create', actor: admin.id, outcome: 'ok', run: () => api('POST', '/api/v1/organisations', h.adminToken, { parent_id: branchA, kind: 'service_point', code: `SP-${dialect}`, name: '服务点' }) },
        { action: 'party.create', actor: staff.id, outcome: 'ok', run: () => api('POST', '/api/v1/parties', staffToken, { kind: 'person', name: '审计', roles: ['customer'], org_id: branchA }) },
        { action: 'account.open', actor: staff.id, outcome: 'ok', run: () => api('POST', '/api/v1/accounts', staffToken, { code: 2001, owner_id: party.PA! }) },
        { action: 'transfer.create', actor: staff.id, outcome: 'ok', run: () => api('POST', '/api/v1/transfers', staffToken, { debit_account_id: acct.PA!, credit_account_id: acct.PA2!, amount: 1, code: 1 }, { 'idempotency-key': key }) },
        // Refused by the ledger (same account on both sides): refused mutations are audited too.
        { action: 'transfer.create', actor: staff.id, outcome: 'failed:422', run: () => api('POST', '/api/v1/transfers', staffToken, { debit_account_id: acct.PA!, credit_account_id: acct.PA!, amount: 1, code: 1 }, { 'idempotency-key': `${key}-2` }) },
        { action: 'user.create', actor: admin.id, outcome: 'ok', run: () => api('POST', '/api/v1/users', h.adminToken, { username: `audited-${dialect}`, display_name: 'x', role: 'branch_staff', org_id: branchA, password: 'Passw0rd-1234' }) },
        { action: 'party.create', actor: staff.id, outcome: 'failed:403', run: () => api('POST', '/api/v1/parties', staffToken, { kind: 'person', name: '越权', roles: ['customer'], org_id: branchB }) },
      ];
      for (const m of mutations) {
        const res = await m.run();
        expect(`${res.statusCode < 400 ? 'ok' : `failed:${res.statusCode}`}`, res.body).toBe(m.outcome);
      }
      const expected = mutations.map((m) => ({ action: m.action, actor_id: m.actor, outcome: m.outcome }));
      let found: { action: string; actor_id: string; outcome: string }[] = [];
      for (let i = 0; i < 50; i++) {
        const log = await api('GET', '/api/v1/audit?limit=500', h.adminToken);
        found = log.json().items;
        if (expected.every((e) => found.some((f) => f.action === e.action && f.actor_id === e.actor_id && f.outcome === e.outcome))) break;
        await sleep(20);
      }
      for (const e of expected) expect(found, JSON.stringify(e)).toContainEqual(expect.objectContaining(e));
    });

    it('stores the audit entry of a transfer in the same commit as the transfer: exactly one per request, there when the answer is', async () => {
      const key = `one-audit-${dialect}-000001`;
      const body = { debit_account_id: 'bank:cash', credit_account_id: 'bank:settlement', amount: 5, code: 1 };
      const entries = async () =>
        (await h.db.selectFrom('audit_log').select(['outcome', 'request_id']).where('target', '=', key).where('action', '=', 'transfer.create').orderBy('at').orderBy('id').execute()).map((e) => e.outcome);
      const first = await api('POST', '/api/v1/transfers', h.adminToken, body, { 'idempotency-key': key });
      expect(first.statusCode, first.body).toBe(201);
      // No waiting: the entry committed with the transfer, before the answer left.
      expect(await entries()).toEqual(['ok']);
      expect((await api('POST', '/api/v1/transfers', h.adminToken, body, { 'idempotency-key': key })).statusCode).toBe(200);
      expect((await api('POST', '/api/v1/transfers', h.adminToken, { ...body, amount: 6 }, { 'idempotency-key': key })).statusCode).toBe(409);
      expect(await entries()).toEqual(['ok', 'ok', 'failed:409']);
      const rows = await h.db.selectFrom('audit_log').select('request_id').where('target', '=', key).execute();
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(3);
    });

    it('names the object of each mutation in its audit entry (the organisation, party, account, transfer, user created)', async () => {
      const key = `audit-target-${dialect}-01`;
      const created: [action: string, id: string][] = [];
      const o = await api('POST', '/api/v1/organisations', h.adminToken, { parent_id: h.bankId, kind: 'branch', code: `T-${dialect}`, name: '目标支行' });
      expect(o.statusCode, o.body).toBe(201);
      created.push(['org.create', o.json().id]);
      const p = await api('POST', '/api/v1/parties', h.adminToken, { kind: 'person', name: '目标', roles: ['customer'], org_id: h.bankId });
      created.push(['party.create', p.json().id]);
      const a = await api('POST', '/api/v1/accounts', h.adminToken, { code: 2001, owner_id: p.json().id });
      created.push(['account.open', a.json().id]);
      const t = await api('POST', '/api/v1/transfers', h.adminToken, { debit_account_id: 'bank:cash', credit_account_id: a.json().id, amount: 7, code: 2 }, { 'idempotency-key': key });
      expect(t.statusCode, t.body).toBe(201);
      created.push(['transfer.create', key]);
      const u = await api('POST', '/api/v1/users', h.adminToken, { username: `target-${dialect}`, display_name: 'x', role: 'branch_staff', org_id: h.bankId, password: 'Passw0rd-1234' });
      expect(u.statusCode, u.body).toBe(201);
      created.push(['user.create', u.json().id]);
      let items: { action: string; target: string | null }[] = [];
      for (let i = 0; i < 50; i++) {
        items = (await api('GET', '/api/v1/audit?limit=500', h.adminToken)).json().items;
        if (created.every(([action]) => items.some((x) => x.action === action))) break;
        await sleep(20);
      }
      const unnamed = created.filter(([action, id]) => !items.some((x) => x.action === action && x.target === id)).map(([action]) => action);
      expect(unnamed, 'audit entries without the id of what they created').toEqual([]);
    });

    // Last in this group: a second root organisation would narrow what the head office sees.
    it('an admin of branch A cannot create a new top-level organisation (a second bank)', async () => {
      const token = await tokenOf(await makeUser('admin', branchA, { totp: true }));
      const res = await api('POST', '/api/v1/organisations', token, { parent_id: null, kind: 'bank', code: `ROGUE-${dialect}`, name: '影子银行' });
      expect([400, 403], `a branch admin created a root organisation: ${res.body}`).toContain(res.statusCode);
    });
  });
});
