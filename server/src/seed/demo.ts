import type { Kysely } from 'kysely';
import type { CliContext } from '../cli/context.js';
import { createOrganisation } from '../identity/organisations.js';
import { createParty } from '../identity/parties.js';
import { generatePassword } from '../identity/passwords.js';
import type { IdentityTables } from '../identity/tables.js';
import { createUser, findUserByName } from '../identity/users.js';
import { createLedger, type Ledger, type TransferInput } from '../ledger/index.js';
import { BANK_ACCOUNTS } from './bootstrap.js';
import type { Database } from '../platform/db/database.js';
import { DemoClock } from './demo-clock.js';
import { seedDemoPayments } from './demo-payments.js';
import { chinaDay, chinaDayStartMicros, generateHistory, isoDay } from './demo-history.js';
import { DEFAULT_SCALE, buildWorld, type DemoScale, type DemoWorld } from './demo-world.js';
import { silentProgress, stderrProgress, type ProgressFactory } from './progress.js';
import { loadQingdaoRegions } from './reference.js';

export { DEFAULT_SCALE, type DemoScale } from './demo-world.js';

export interface DemoOptions extends Partial<DemoScale> {
  /** Transfers per ledger request (capped by XIAOWEI_COMMIT_MAX_BATCH). */
  batchSize?: number;
  /** "Now" in ms; the simulated days end the day before (China time). Default: the real time. */
  now?: number;
  /** Progress bars / lines on stderr (default), or none (false). */
  progress?: boolean | ProgressFactory;
  /** Where the summary and hints go (default: stdout). */
  log?: (line: string) => void;
  /** Tests: throw after writing this many transfer batches, as a crash would stop the run. */
  crashAfterBatches?: number;
}

export interface DemoLogin {
  username: string;
  password: string;
}

export const DEMO_USERS = { staff: 'demo.staff', merchant: 'demo.merchant', cashier: 'demo.cashier', customer: 'demo.customer' } as const;

/** Parties and organisations are written in transactions of this many. */
const WRITE_CHUNK = 250;

function alreadyLoadedHint(ctx: CliContext): string {
  const reset =
    ctx.database.dialect === 'sqlite'
      ? `stop the server, delete ${ctx.config.dataDir}/xiaowei.db* and run \`xiaowei seed\` again 停止服务，删除该数据库文件后重新运行 xiaowei seed`
      : 'drop and re-create the PostgreSQL database, then run `xiaowei seed` again 删除并重建 PostgreSQL 数据库后重新运行 xiaowei seed';
  return (
    `Demo data is already loaded 演示数据已加载 (users ${Object.values(DEMO_USERS).join(', ')}). ` +
    'Their passwords were shown once when they were created and are not stored in clear 演示账号密码仅在创建时显示一次. ' +
    `For a fresh demo with new passwords 如需重新生成: ${reset}.`
  );
}

/**
 * Loads the demo: a branch per Qingdao district, service points in ~300 villages, ~200 village
 * shops, ~100 agents, ~2,000 customers and ~100,000 transfers over the past 90 days, all
 * deterministic. Returns the demo logins (new passwords) — or [] when the demo is already there.
 * Safe to re-run after a crash: every step skips what an earlier run wrote.
 */
export async function seedDemo(ctx: CliContext, bankId: string, options: DemoOptions = {}): Promise<DemoLogin[]> {
  const scale: DemoScale = {
    customers: options.customers ?? DEFAULT_SCALE.customers,
    merchants: options.merchants ?? DEFAULT_SCALE.merchants,
    servicePoints: options.servicePoints ?? DEFAULT_SCALE.servicePoints,
    agents: options.agents ?? DEFAULT_SCALE.agents,
    transfers: options.transfers ?? DEFAULT_SCALE.transfers,
    days: options.days ?? DEFAULT_SCALE.days,
  };
  for (const [key, value] of Object.entries(scale)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`seedDemo: ${key} must be a whole number ≥ 0`);
  }
  if (scale.customers < 1 || scale.merchants < 1 || scale.servicePoints < 1 || scale.days < 1) {
    throw new Error('seedDemo: needs at least one customer, merchant, service point and day');
  }
  if (scale.agents > scale.servicePoints) throw new Error('seedDemo: at most one agent per service point');
  const log = options.log ?? ((line: string) => console.log(line));
  const progress: ProgressFactory =
    options.progress === false ? silentProgress : typeof options.progress === 'function' ? options.progress : stderrProgress();
  const db = ctx.database.kysely as Kysely<IdentityTables>;

  return withDemoLock(ctx.database, async () => {
    if (await findUserByName(db, DEMO_USERS.staff)) {
      log(alreadyLoadedHint(ctx));
      return [];
    }
    const started = performance.now();
    const today = chinaDay(options.now ?? Date.now());
    const firstPlanned = chinaDayStartMicros(today - scale.days);
    const clock = new DemoClock(firstPlanned);
    const ledger = createLedger(ctx.database, ctx.config, {}, clock);
    let world: DemoWorld;
    let orgIds: Map<string, string>;
    let history: ReturnType<typeof generateHistory>;
    try {
      // An interrupted earlier run fixes the simulated days (its history must be regenerated exactly).
      const earlier = await ledger.lookupTransfer('demo:0');
      if (!earlier) {
        // Ledger timestamps only grow: a past history cannot go in after newer transfers.
        const bank = await ledger.lookupAccounts(Object.values(BANK_ACCOUNTS));
        if (bank.some((a) => a.last_ts >= firstPlanned)) {
          log(
            `Demo data not loaded 未加载演示数据: the ledger already has transfers since ${isoDay(today - scale.days)}; ` +
              'the demo writes a past history and needs a ledger without them 演示数据需加载到没有近期交易的账本。',
          );
          return [];
        }
      }
      world = buildWorld(loadQingdaoRegions(), scale);
      orgIds = await writeOrganisations(db, bankId, world);
      await writeParties(ctx, db, world, orgIds, progress);
      history = generateHistory(world, { ...scale, today, firstDay: earlier ? chinaDay(earlier.ts / 1000) : undefined });
      const first = history.transfers[0];
      if (earlier && (!first || earlier.amount !== first.amount || earlier.credit_account_id !== first.credit_account_id)) {
        throw new Error(
          'seedDemo: the ledger holds an interrupted demo run with other options; re-run it with the same options or start from an empty database',
        );
      }
      await writeAccounts(ledger, clock, history);
      const batchSize = Math.max(1, Math.min(options.batchSize ?? 8000, ctx.config.XIAOWEI_COMMIT_MAX_BATCH));
      await writeTransfers(ledger, clock, history, batchSize, earlier !== undefined, progress, options.crashAfterBatches);
    } finally {
      await ledger.drain();
    }

    await seedDemoPayments(ctx, bankId, log); // payments: fee plans, merchants enrolled, cards (before the users, which mark a complete demo)
    const logins = await createDemoUsers(db, world, orgIds, history.takings);
    const roles = {
      customers: world.customers.length,
      farmers: world.customers.filter((c) => c.farmer).length,
      merchants: world.merchants.length,
      agents: world.agents.length,
    };
    log(
      `Demo data loaded 演示数据已加载: ${world.branches.length} branches 支行, ${world.servicePoints.length} service points 助农服务点, ` +
        `${roles.customers} customers 客户 (${roles.farmers} farmers 农户), ${roles.merchants} merchants 商户, ${roles.agents} agents 助农代理, ` +
        `${history.accounts.length} accounts 账户, ${history.transfers.length} transfers 笔交易 over ${history.lastDay - history.firstDay + 1} days ` +
        `(${isoDay(history.firstDay)} – ${isoDay(history.lastDay)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return logins;
  });
}

/**
 * One demo loader at a time: several server processes starting together on one PostgreSQL
 * database would otherwise load it twice. (SQLite: one process owns the file.)
 */
async function withDemoLock<T>(database: Database, work: () => Promise<T>): Promise<T> {
  if (!database.pool) return work();
  const client = await database.pool.connect();
  const key = 0x58_57_44_45; // 'XWDE'
  try {
    await client.query('select pg_advisory_lock($1)', [key]);
    return await work();
  } finally {
    await client.query('select pg_advisory_unlock($1)', [key]).catch(() => undefined);
    client.release();
  }
}

async function writeOrganisations(db: Kysely<IdentityTables>, bankId: string, world: DemoWorld): Promise<Map<string, string>> {
  const codes = [...world.branches.map((b) => b.code), ...world.servicePoints.map((s) => s.code)];
  const ids = new Map<string, string>();
  const existing = await db.selectFrom('organisations').select(['id', 'code']).where('code', 'like', 'QDRCB-%').execute();
  for (const o of existing) ids.set(o.code, o.id);
  const missingBranches = world.branches.filter((b) => !ids.has(b.code));
  await db.transaction().execute(async (trx) => {
    for (const b of missingBranches) {
      const org = await createOrganisation(trx, {
        parent_id: bankId,
        kind: 'branch',
        code: b.code,
        name: b.name,
        name_en: b.name_en,
        region_code: b.district.code,
      });
      ids.set(b.code, org.id);
    }
  });
  const missingPoints = world.servicePoints.filter((s) => !ids.has(s.code));
  for (let i = 0; i < missingPoints.length; i += WRITE_CHUNK) {
    await db.transaction().execute(async (trx) => {
      for (const s of missingPoints.slice(i, i + WRITE_CHUNK)) {
        const parent = ids.get(`QDRCB-${s.place.district}`)!;
        const org = await createOrganisation(trx, {
          parent_id: parent,
          kind: 'service_point',
          code: s.code,
          name: s.name,
          name_en: s.name_en,
          region_code: s.place.village.code,
        });
        ids.set(s.code, org.id);
      }
    });
  }
  for (const c of codes) if (!ids.has(c)) throw new Error(`seedDemo: organisation ${c} missing`);
  return ids;
}

async function writeParties(
  ctx: CliContext,
  db: Kysely<IdentityTables>,
  world: DemoWorld,
  orgIds: Map<string, string>,
  progress: ProgressFactory,
): Promise<void> {
  const branchOf = (district: string): string => orgIds.get(`QDRCB-${district}`)!;
  const rows: { id: string; write: (trx: Kysely<IdentityTables>) => Promise<unknown> }[] = [
    ...world.merchants.map((m) => ({
      id: m.id,
      write: (trx: Kysely<IdentityTables>) =>
        createParty(
          trx,
          ctx.secrets,
          {
            kind: 'business',
            name: m.name,
            roles: ['merchant'],
            org_id: branchOf(m.place.district),
            phone: m.phone,
            region_code: m.place.village.code,
          },
          m.id,
        ),
    })),
    ...world.agents.map((a) => ({
      id: a.id,
      write: (trx: Kysely<IdentityTables>) =>
        createParty(
          trx,
          ctx.secrets,
          {
            kind: 'person',
            name: a.name,
            roles: ['agent'],
            org_id: orgIds.get(world.servicePoints[a.servicePoint]!.code)!,
            national_id: a.national_id,
            phone: a.phone,
            region_code: a.place.village.code,
          },
          a.id,
        ),
    })),
    ...world.customers.map((c) => ({
      id: c.id,
      write: (trx: Kysely<IdentityTables>) =>
        createParty(
          trx,
          ctx.secrets,
          {
            kind: 'person',
            name: c.name,
            roles: c.farmer ? ['customer', 'farmer'] : ['customer'],
            org_id: branchOf(c.place.district),
            national_id: c.national_id,
            phone: c.phone,
            region_code: c.place.village.code,
          },
          c.id,
        ),
    })),
  ];
  const existing = new Set((await db.selectFrom('parties').select('id').where('id', 'like', 'demo:%').execute()).map((p) => p.id));
  const missing = rows.filter((r) => !existing.has(r.id));
  const bar = progress('Demo parties 演示客户', rows.length);
  let done = rows.length - missing.length;
  bar.update(done);
  for (let i = 0; i < missing.length; i += WRITE_CHUNK) {
    const chunk = missing.slice(i, i + WRITE_CHUNK);
    await db.transaction().execute(async (trx) => {
      for (const r of chunk) await r.write(trx);
    });
    done += chunk.length;
    bar.update(done);
  }
  bar.stop();
}

async function writeAccounts(ledger: Ledger, clock: DemoClock, history: ReturnType<typeof generateHistory>): Promise<void> {
  const existing = new Set<string>();
  for (let i = 0; i < history.accounts.length; i += 1000) {
    for (const a of await ledger.lookupAccounts(history.accounts.slice(i, i + 1000).map((a) => a.id))) existing.add(a.id);
  }
  const missing = history.accounts.map((a, i) => [a, history.accountTimes[i]!] as const).filter(([a]) => !existing.has(a.id));
  if (missing.length === 0) return;
  clock.plan(missing.map(([, t]) => t));
  const failures = await ledger.createAccounts(missing.map(([a]) => a));
  if (failures.length > 0) throw new Error(`seedDemo: account ${missing[failures[0]!.index]![0].id} rejected: ${failures[0]!.result}`);
  if (clock.unused !== 0) throw new Error('seedDemo: the ledger did not time every account as planned');
}

async function writeTransfers(
  ledger: Ledger,
  clock: DemoClock,
  { transfers, times }: { transfers: readonly TransferInput[]; times: readonly number[] },
  batchSize: number,
  resuming: boolean,
  progress: ProgressFactory,
  crashAfterBatches = Infinity,
): Promise<void> {
  const bar = progress('Demo transfers 演示交易', transfers.length);
  let written = 0;
  for (let i = 0; i < transfers.length; i += batchSize) {
    const batch = transfers.slice(i, i + batchSize);
    if (resuming) {
      // A request commits all or nothing: its last transfer tells whether an earlier run wrote it.
      const [first, last] = await Promise.all([ledger.lookupTransfer(batch[0]!.id), ledger.lookupTransfer(batch[batch.length - 1]!.id)]);
      if (first && last) {
        bar.update(i + batch.length);
        continue;
      }
      if (first || last) throw new Error(`seedDemo: batch at ${batch[0]!.id} is partly in the ledger; was the batch size changed?`);
    }
    clock.plan(times.slice(i, i + batchSize));
    const failures = await ledger.createTransfers(batch);
    if (failures.length > 0) {
      const f = failures[0]!;
      throw new Error(`seedDemo: ${failures.length} demo transfer(s) rejected, first ${batch[f.index]!.id}: ${f.result}`);
    }
    if (clock.unused !== 0) throw new Error('seedDemo: the ledger did not time every transfer as planned');
    bar.update(i + batch.length);
    if (++written >= crashAfterBatches) throw new Error(`seedDemo: stopped after ${written} batches (crashAfterBatches)`);
  }
  bar.stop();
}

async function createDemoUsers(
  db: Kysely<IdentityTables>,
  world: DemoWorld,
  orgIds: Map<string, string>,
  takings: readonly number[],
): Promise<DemoLogin[]> {
  // The busiest shop, so that its owner sees a lively dashboard; staff at that shop's branch.
  let best = 0;
  takings.forEach((t, i) => {
    if (t > takings[best]!) best = i;
  });
  const merchant = world.merchants[best]!;
  const branch = world.branches.find((b) => b.district.code === merchant.place.district)!;
  const branchId = orgIds.get(branch.code)!;
  const users = [
    {
      username: DEMO_USERS.merchant,
      display_name: `${merchant.name} 店主 (demo)`,
      role: 'merchant_owner' as const,
      merchant_id: merchant.id,
    },
    { username: DEMO_USERS.cashier, display_name: `${merchant.name} 收银员 (demo)`, role: 'cashier' as const, merchant_id: merchant.id },
    { username: DEMO_USERS.staff, display_name: `${branch.name}演示柜员 Demo staff`, role: 'branch_staff' as const, merchant_id: null },
    // The first customer, who also holds the first demo card: pays by QR and transfers on /m/pay.
    { username: DEMO_USERS.customer, display_name: `${world.customers[0]!.name} (demo)`, role: 'customer' as const, merchant_id: world.customers[0]!.id },
  ];
  const logins: DemoLogin[] = [];
  // All or none, created last: their presence marks a complete demo.
  await db.transaction().execute(async (trx) => {
    for (const u of users) {
      const password = generatePassword();
      await createUser(trx, { ...u, org_id: branchId, password });
      logins.push({ username: u.username, password });
    }
  });
  return logins;
}
