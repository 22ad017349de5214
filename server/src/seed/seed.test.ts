import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Kysely } from 'kysely';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../test/dialects.js';
import type { CliContext } from '../cli/context.js';
import { isValidNationalId } from '../identity/national-id.js';
import { listParties } from '../identity/parties.js';
import { verifyPassword } from '../identity/passwords.js';
import { regionRoutes } from '../identity/region-routes.js';
import { getRegion, listRegions, type RegionTables } from '../identity/regions.js';
import type { IdentityTables } from '../identity/tables.js';
import { createLedger } from '../ledger/index.js';
import { loadConfig } from '../platform/config.js';
import type { Actor } from '../platform/http/actor.js';
import { installErrorHandling } from '../platform/http/error-handler.js';
import { validatorCompiler } from '../platform/http/validation.js';
import { Secrets } from '../platform/secrets.js';
import { bootstrap } from './bootstrap.js';
import { DEMO_USERS, seedDemo, type DemoOptions } from './demo.js';
import { chinaDay, generateHistory, isoDay } from './demo-history.js';
import { buildWorld } from './demo-world.js';
import { loadQingdaoRegions, seedReference } from './reference.js';

const QINGDAO_DISTRICTS = ['370202', '370203', '370211', '370212', '370213', '370214', '370215', '370281', '370283', '370285'];

async function count(db: Kysely<IdentityTables>, table: 'organisations' | 'parties' | 'users'): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(DIALECTS)('reference data on %s', (dialect) => {
  let tdb: TestDatabase;
  let db: Kysely<RegionTables>;
  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    db = tdb.database.kysely as Kysely<RegionTables>;
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('loads the Qingdao divisions once, however often it runs', async () => {
    const started = performance.now();
    expect(await seedReference(db)).toBe(2272);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await seedReference(db)).toBe(0);
    expect(await listRegions(db)).toHaveLength(2272);
    expect(await listRegions(db, { level: 'district' })).toHaveLength(10);
    expect(await listRegions(db, { level: 'town' })).toHaveLength(141);
    expect(await listRegions(db, { level: 'village' })).toHaveLength(2120);
    const districts = await listRegions(db, { parent: '3702' });
    expect(districts.map((d) => d.code)).toEqual(QINGDAO_DISTRICTS);
    expect(await getRegion(db, '370202')).toEqual({
      code: '370202',
      name: '市南区',
      name_en: 'Shinan District',
      level: 'district',
      parent_code: '3702',
    });
    expect(await getRegion(db, '999999')).toBeUndefined();
    const villages = await listRegions(db, { parent: '370202001' });
    expect(villages.length).toBeGreaterThan(0);
    expect(villages.every((v) => v.level === 'village' && v.parent_code === '370202001')).toBe(true);
  });

  it('serves GET /regions to signed-in users with typed errors', async () => {
    const app = Fastify({ ajv: { customOptions: { coerceTypes: false } } }).withTypeProvider<TypeBoxTypeProvider>();
    app.setValidatorCompiler(validatorCompiler());
    installErrorHandling(app);
    app.decorateRequest('actor', null);
    const cashier: Actor = {
      user_id: 'u1',
      username: 'cashier',
      display_name: 'c',
      role: 'cashier',
      permissions: new Set(),
      org_id: 'o1',
      merchant_id: 'm1',
      org_scope: null,
    };
    app.addHook('preHandler', async (request) => {
      if (request.headers.authorization === 'Bearer test') request.actor = cashier;
    });
    await app.register(regionRoutes, { db });
    const get = (url: string, signedIn = true) =>
      app.inject({ method: 'GET', url, headers: signedIn ? { authorization: 'Bearer test' } : {} });

    expect((await get('/regions?parent=3702', false)).statusCode).toBe(401);
    const districts = await get('/regions?parent=3702');
    expect(districts.statusCode).toBe(200);
    expect(districts.json<{ code: string }[]>().map((d) => d.code)).toEqual(QINGDAO_DISTRICTS);
    const towns = await get('/regions?parent=370283&level=town');
    expect(towns.statusCode).toBe(200);
    expect(towns.json<{ name: string; level: string }[]>().every((t) => t.level === 'town')).toBe(true);
    expect((await get('/regions?level=town')).json()).toHaveLength(141);
    expect((await get('/regions')).json()).toHaveLength(2272);
    const bad = await get('/regions?parent=abc');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'validation_failed' } });
    expect((await get('/regions?level=province')).statusCode).toBe(400);
    expect((await get('/regions?colour=red')).statusCode).toBe(400);
    expect((await get('/regions/370283')).json()).toMatchObject({
      code: '370283',
      name: '平度市',
      name_en: 'Pingdu City',
      level: 'district',
    });
    expect((await get('/regions/370299')).statusCode).toBe(404);
    await app.close();
  });
});

describe('demo generator', () => {
  const scale = { customers: 300, merchants: 30, servicePoints: 40, agents: 15, transfers: 5000, days: 20 };

  it('is deterministic and keeps every balance covered', () => {
    const regions = loadQingdaoRegions();
    const today = chinaDay(Date.parse('2026-10-15T04:00:00Z'));
    const a = generateHistory(buildWorld(regions, scale), { ...scale, today });
    const b = generateHistory(buildWorld(regions, scale), { ...scale, today });
    expect(a.transfers).toEqual(b.transfers);
    expect(a.times).toEqual(b.times);
    expect(a.transfers).toHaveLength(5000);
    expect(a.perDay.size).toBe(20);
    expect(isoDay(a.firstDay)).toBe('2026-09-25');
    expect(isoDay(a.lastDay)).toBe('2026-10-14');
    // Timestamps strictly increase and stay inside the simulated days.
    for (let i = 1; i < a.times.length; i++) expect(a.times[i]!).toBeGreaterThan(a.times[i - 1]!);
    expect(chinaDay(a.times[0]! / 1000)).toBe(a.firstDay);
    expect(chinaDay(a.times[a.times.length - 1]! / 1000)).toBe(a.lastDay);
    // Replay: no party account ever goes below zero; every amount is a positive safe integer.
    const balance = new Map<string, number>();
    for (const t of a.transfers) {
      expect(Number.isSafeInteger(t.amount) && t.amount > 0).toBe(true);
      balance.set(t.credit_account_id, (balance.get(t.credit_account_id) ?? 0) + t.amount);
      const left = (balance.get(t.debit_account_id) ?? 0) - t.amount;
      balance.set(t.debit_account_id, left);
      if (t.debit_account_id.startsWith('demo:')) expect(left).toBeGreaterThanOrEqual(0);
    }
    // Cash withdrawals are whole multiples of ¥10 and at most ¥1,000; payments ¥5–¥300.
    for (const t of a.transfers) {
      if (t.code === 3 && t.debit_account_id.startsWith('demo:customer:')) {
        expect(t.amount % 1000).toBe(0);
        expect(t.amount).toBeLessThanOrEqual(100_000);
      }
      if (t.code === 5) {
        expect(t.amount).toBeGreaterThanOrEqual(500);
        expect(t.amount).toBeLessThanOrEqual(30_000);
      }
    }
    expect(new Set(a.transfers.map((t) => t.code))).toEqual(new Set([2, 3, 4, 5, 6, 8]));
  });

  it('places the demo in real villages with valid, unique identities', () => {
    const world = buildWorld(loadQingdaoRegions(), { ...scale, customers: 2000, merchants: 200, servicePoints: 300, agents: 100 });
    expect(world.branches.map((b) => b.code)).toEqual(QINGDAO_DISTRICTS.map((d) => `QDRCB-${d}`));
    expect(world.branches.find((b) => b.code === 'QDRCB-370202')).toMatchObject({ name: '市南支行', name_en: 'Shinan Branch' });
    expect(world.servicePoints).toHaveLength(300);
    expect(new Set(world.servicePoints.map((s) => s.place.district)).size).toBe(10);
    expect(world.servicePoints.filter((s) => s.place.rural).length).toBeGreaterThan(250);
    expect(world.servicePoints.every((s) => s.name.endsWith('助农服务点') && s.place.village.level === 'village')).toBe(true);
    const people = [...world.customers, ...world.agents];
    expect(people.every((p) => isValidNationalId(p.national_id) && QINGDAO_DISTRICTS.includes(p.national_id.slice(0, 6)))).toBe(true);
    expect(people.every((p) => Number(p.national_id.slice(6, 10)) >= 1950 && Number(p.national_id.slice(6, 10)) <= 2004)).toBe(true);
    expect(new Set(people.map((p) => p.national_id)).size).toBe(people.length);
    const phones = [...people.map((p) => p.phone), ...world.merchants.map((m) => m.phone)];
    expect(phones.every((p) => /^1[358]\d{9}$/.test(p))).toBe(true);
    expect(new Set(phones).size).toBe(phones.length);
    expect(new Set(world.merchants.map((m) => m.name)).size).toBe(200);
  });
});

describe.each(DIALECTS)('demo seeding on %s', (dialect) => {
  let tdb: TestDatabase;
  let ctx: CliContext;
  let bankId: string;
  let db: Kysely<IdentityTables>;
  const lines: string[] = [];
  const small = { customers: 100, merchants: 20, servicePoints: 30, agents: 10, transfers: 3000, days: 10 };
  const options: DemoOptions = { ...small, progress: false, log: (l) => lines.push(l) };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-seed-'));

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    ctx = {
      config: loadConfig({ XIAOWEI_DATA_DIR: dataDir, LOG_LEVEL: 'silent', XIAOWEI_PENDING_SWEEP_MS: '3600000' }),
      database: tdb.database,
      secrets: Secrets.ephemeral(),
    };
    db = tdb.database.kysely as Kysely<IdentityTables>;
    const ledger = createLedger(tdb.database, ctx.config);
    bankId = (await bootstrap(db, ledger)).bankId;
    await ledger.drain();
  });
  afterAll(async () => {
    await tdb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const snapshot = async () => {
    const ledger = createLedger(tdb.database, ctx.config);
    const report = await ledger.verify();
    const accounts = await ledger.listAccounts({ owners: null, limit: 1, offset: 0 });
    await ledger.drain();
    return {
      orgs: await count(db, 'organisations'),
      parties: await count(db, 'parties'),
      users: await count(db, 'users'),
      accounts: accounts.total,
      report,
    };
  };

  it('loads the demo as asked, consistent, with valid hidden national IDs', async () => {
    const logins = await seedDemo(ctx, bankId, options);
    expect(logins.map((l) => l.username).sort()).toEqual(Object.values(DEMO_USERS).sort());
    for (const login of logins) {
      const user = await db
        .selectFrom('users')
        .select(['password_hash', 'role', 'merchant_id'])
        .where('username', '=', login.username)
        .executeTakeFirstOrThrow();
      expect(await verifyPassword(login.password, user.password_hash)).toBe(true);
    }
    const merchantUser = await db
      .selectFrom('users')
      .select('merchant_id')
      .where('username', '=', DEMO_USERS.merchant)
      .executeTakeFirstOrThrow();
    expect(merchantUser.merchant_id).toMatch(/^demo:merchant:/);

    const snap = await snapshot();
    expect(snap.report).toMatchObject({ ok: true, transfers: 3000, accounts: 6 + 100 + 20 + 10 + 20 }); // the bank's 6 internal accounts; + the receivable of each enrolled merchant
    expect(snap.orgs).toBe(1 + 10 + 30);
    expect(snap.parties).toBe(100 + 20 + 10);
    const roles = async (role: 'customer' | 'farmer' | 'merchant' | 'agent') => (await listParties(db, { role, limit: 1 })).total;
    expect(await roles('customer')).toBe(100);
    expect(await roles('merchant')).toBe(20);
    expect(await roles('agent')).toBe(10);
    expect(await roles('farmer')).toBeGreaterThan(0);

    // Ten full past days, China time, every one of them with business.
    const ledger = createLedger(tdb.database, ctx.config);
    const today = chinaDay(Date.now());
    const totals = await ledger.dailyTotals(isoDay(today - 30), isoDay(today));
    await ledger.drain();
    expect(new Set(totals.map((t) => t.day))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => isoDay(today - 10 + i))));
    expect(totals.reduce((n, t) => n + t.count, 0)).toBe(3000);
    // Every transfer carries the simulated time it was generated for.
    const history = generateHistory(buildWorld(loadQingdaoRegions(), small), { ...small, today });
    const check = createLedger(tdb.database, ctx.config);
    for (const i of [0, 1, 1500, 2999]) expect((await check.lookupTransfer(`demo:${i}`))!.ts).toBe(history.times[i]);
    await check.drain();

    // National IDs: stored encrypted, valid, unique; shown masked.
    const sealed = await db
      .selectFrom('parties')
      .select(['national_id_enc', 'national_id_last4'])
      .where('national_id_enc', 'is not', null)
      .execute();
    expect(sealed).toHaveLength(110);
    const ids = sealed.map((r) => ctx.secrets.decrypt('national_id', r.national_id_enc!));
    expect(ids.every((id) => isValidNationalId(id))).toBe(true);
    expect(new Set(ids).size).toBe(110);
    const shown = await listParties(db, { role: 'customer', limit: 500 });
    expect(shown.items.every((p) => /^\*{14}[0-9X]{4}$/.test(p.national_id_masked ?? ''))).toBe(true);
    const text = JSON.stringify(shown.items);
    expect(ids.some((id) => text.includes(id))).toBe(false);
    const customer = shown.items[0]!;
    expect(customer.region_code).toMatch(/^3702\d{8}$/);
    expect(customer.phone).toMatch(/^1[358]\d{9}$/);
    expect(lines.at(-1)).toMatch(/Demo data loaded/);
  });

  it('changes nothing when run again, and tells how to get new passwords', async () => {
    const before = await snapshot();
    expect(await seedDemo(ctx, bankId, options)).toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(lines.at(-1)).toMatch(/already loaded.*xiaowei seed/);
  });

  it('resumes a run that crashed half-way through the transfers', async () => {
    const fresh = await createTestDatabase(dialect);
    const fctx: CliContext = { ...ctx, database: fresh.database };
    const fdb = fresh.database.kysely as Kysely<IdentityTables>;
    try {
      const boot = createLedger(fresh.database, ctx.config);
      const bank = (await bootstrap(fdb, boot)).bankId;
      await boot.drain();
      await expect(seedDemo(fctx, bank, { ...options, batchSize: 500, crashAfterBatches: 3 })).rejects.toThrow(/stopped after 3 batches/);
      const ledger = createLedger(fresh.database, ctx.config);
      expect((await ledger.verify()).transfers).toBe(1500);
      await ledger.drain();
      expect(await seedDemo(fctx, bank, { ...options, batchSize: 500 })).toHaveLength(4);
      const again = createLedger(fresh.database, ctx.config);
      expect(await again.verify()).toMatchObject({ ok: true, transfers: 3000 });
      expect(await again.lookupTransfer('demo:2999')).toMatchObject({ id: 'demo:2999' });
      await again.drain();
      expect(await count(fdb, 'parties')).toBe(130);
    } finally {
      await fresh.drop();
    }
  });

  it('leaves a ledger with recent transfers alone: a past history cannot be written after them', async () => {
    const fresh = await createTestDatabase(dialect);
    const fdb = fresh.database.kysely as Kysely<IdentityTables>;
    try {
      const ledger = createLedger(fresh.database, ctx.config);
      const bank = (await bootstrap(fdb, ledger)).bankId;
      expect(
        await ledger.createTransfers([
          { id: 'real-1', debit_account_id: 'bank:cash', credit_account_id: 'bank:suspense', amount: 100, ledger: 156, code: 7 },
        ]),
      ).toEqual([]);
      await ledger.drain();
      const seen: string[] = [];
      expect(await seedDemo({ ...ctx, database: fresh.database }, bank, { ...options, log: (l) => seen.push(l) })).toEqual([]);
      expect(seen.at(-1)).toMatch(/not loaded/);
      expect(await count(fdb, 'parties')).toBe(0);
    } finally {
      await fresh.drop();
    }
  });

  it('finishes an interrupted run without writing anything twice', async () => {
    const before = await snapshot();
    // As if the process died after the transfers, before the demo users: the re-run skips every step.
    await db.deleteFrom('users').where('username', 'in', Object.values(DEMO_USERS)).execute();
    const logins = await seedDemo(ctx, bankId, options);
    expect(logins).toHaveLength(4);
    expect(await snapshot()).toEqual(before);
  });
});
