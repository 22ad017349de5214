#!/usr/bin/env node
import { Command } from 'commander';
import type { Kysely } from 'kysely';
import { buildApp } from '../app.js';
import type { IdentityTables } from '../identity/tables.js';
import type { AppsDb } from '../terminals/apps-tables.js';
import { createLedger } from '../ledger/index.js';
import { ConfigError } from '../platform/config.js';
import { bootstrap } from '../seed/bootstrap.js';
import { openContext } from './context.js';

const program = new Command();
program.name('xiaowei').description('Xiaowei 小微云 — payment settlement for rural banks');

program
  .command('migrate')
  .description('bring the database schema up to date 升级数据库结构')
  .action(async () => {
    const ctx = await openContext();
    console.log(`database ${ctx.database.dialect}: schema up to date 数据库结构已是最新`);
    await ctx.database.close();
  });

program
  .command('start')
  .description('migrate, seed, and serve the API and console 启动服务')
  .option('--no-demo', 'do not load demo data 不加载演示数据')
  .action(async (opts: { demo: boolean }) => {
    const ctx = await openContext();
    const seeded = await seedAll(ctx, opts.demo);
    const { app, gateway } = await buildApp(ctx);
    const shutdown = async (signal: string): Promise<void> => {
      app.log.info({ signal }, 'shutting down: draining the commit queue');
      await app.close();
      await ctx.database.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    const address = await app.listen({ port: ctx.config.PORT, host: ctx.config.HOST });
    const local = `http://localhost:${(app.server.address() as { port: number }).port}`;
    const { isoPort } = await gateway.start();
    console.log(`\nXiaowei 小微云 listening on ${address}`);
    if (isoPort !== null) console.log(`  ISO 8583 POS host 传统POS主机: port ${isoPort}`);
    if (ctx.config.XIAOWEI_SWITCH_URL) console.log(`  card switch 银联转接: ${ctx.config.XIAOWEI_SWITCH_URL}`);
    console.log(`  console 控制台:   ${local}/`);
    console.log(`  API docs 接口文档: ${local}/docs`);
    console.log(`  metrics 监控指标: ${local}/metrics`);
    console.log(`  database 数据库:  ${ctx.database.dialect}${ctx.database.dialect === 'sqlite' ? ` (${ctx.config.dataDir}/xiaowei.db)` : ''}`);
    printLogins(seeded);
  });

program
  .command('seed')
  .description('load reference data and (unless --no-demo) demo data 加载基础数据和演示数据')
  .option('--no-demo', 'reference data only 仅加载基础数据')
  .action(async (opts: { demo: boolean }) => {
    const ctx = await openContext();
    printLogins(await seedAll(ctx, opts.demo));
    await ctx.database.close();
  });

const ledgerCmd = program.command('ledger').description('ledger tools 账务工具');
ledgerCmd
  .command('verify')
  .description('check debits = credits and every balance against the replay of its transfers 账务核验')
  .action(async () => {
    const ctx = await openContext();
    const ledger = createLedger(ctx.database, ctx.config);
    const report = await ledger.verify();
    await ledger.drain();
    await ctx.database.close();
    console.log(JSON.stringify(report));
    if (!report.ok) {
      console.error(`ledger INCONSISTENT 账务不平: ${report.problem}`);
      process.exit(1);
    }
    console.log(`ledger consistent 账务平衡: ${report.ledgers} ledger(s), ${report.accounts} accounts, ${report.transfers} transfers`);
  });

const simulateCmd = program.command('simulate').description('simulators 模拟器');
simulateCmd
  .command('terminals')
  .description('run simulated terminals over the real protocol 模拟终端（真实协议）')
  .option('--count <n>', 'terminals to register and run 终端数量', '10')
  .option('--url <url>', 'server to talk to 服务地址 (default http://localhost:$PORT)')
  .option('--from <file>', 'JSON list of {serial, code} already registered 已登记终端清单')
  .option('--owner <partyId>', 'owning merchant party 所属商户')
  .option('--seconds <s>', 'stop after this long 运行时长（秒）')
  .option('--concurrency <n>', 'activations at once 并发激活数', '50')
  .option('--activation-seconds <s>', 'stop activating new terminals after this long 激活时限（秒）')
  .option('--jsonl', 'one JSON event per line (for benchmarks) 每行一个 JSON 事件')
  .action(async (opts: { count: string; url?: string; from?: string; owner?: string; seconds?: string; concurrency: string; activationSeconds?: string; jsonl?: boolean }) => {
    const { runSimulateTerminals } = await import('./simulate.js');
    await runSimulateTerminals(opts);
  });

program
  .command('settle')
  .description('settle merchants for a business date (idempotent) 商户日终结算（可重复执行）')
  .requiredOption('--date <date>', 'business date YYYY-MM-DD 结算日期')
  .option('--url <url>', 'database URL instead of the configured one 数据库地址 (postgres://… | sqlite:<file>)')
  .option('--no-progress', 'no progress bars 不显示进度条')
  .action(async (opts: { date: string; url?: string; progress: boolean }) => {
    const { runSettleCommand } = await import('./settle.js');
    process.exitCode = await runSettleCommand(opts);
  });

program
  .command('switch-sim')
  .description('run the card-switch and core-banking simulator (ISO 8583) 银联转接与核心系统模拟器')
  .option('--port <n>', 'port to listen on 监听端口', '5800')
  .option('--host <host>', 'address to listen on 监听地址', '127.0.0.1')
  .option('--cards <n>', 'cards to issue 模拟卡数量', '1000')
  .option('--accounts <n>', 'core-banking accounts 模拟核心账户数量', '1000')
  .option('--balance <fen>', 'opening balance of each card and account, fen 每张卡/账户初始余额（分）')
  .option('--faults <which>', 'faults hit financial (0200/0400/0220) or purchases (0200) only 故障注入范围', 'financial')
  .option('--seed <s>', 'seed for cards, PINs and balances 随机种子', 'xiaowei')
  .option('--latency-ms <ms>', 'answer after this long 应答延迟（毫秒）', '0')
  .option('--jitter-ms <ms>', 'plus up to this much at random 随机附加延迟（毫秒）', '0')
  .option('--timeout-rate <p>', 'share of requests answered too late (after --late-ms) 超时应答比例', '0')
  .option('--late-ms <ms>', 'how late a late answer comes 超时应答的延迟（毫秒）', '30000')
  .option('--drop-rate <p>', 'share of requests never answered 丢弃比例', '0')
  .option('--decline-rate <p>', 'share of sales declined 05 拒绝比例', '0')
  .option('--zmk <hex>', 'zone master key shared with the acquirer (32 or 48 hex) 区域主密钥')
  .option('--out <dir>', 'folder for end-of-day settlement files 清算文件目录', './data/switch-sim')
  .action(async (opts: Record<string, string>) => {
    const { runSwitchSim } = await import('./switch-sim.js');
    await runSwitchSim(opts);
  });

program
  .command('switch-recon')
  .description('import the card switch settlement file and reconcile it 导入银联清算文件并对账')
  .requiredOption('--file <file>', 'the settlement file (CSV, docs/switch-sim.md) 清算文件')
  .option('--url <url>', 'database URL instead of the configured one 数据库地址 (postgres://… | sqlite:<file>)')
  .action(async (opts: { file: string; url?: string }) => {
    const { runSwitchReconCommand } = await import('./switch-recon.js');
    process.exitCode = await runSwitchReconCommand(opts);
  });

program
  .command('openapi')
  .description('print the OpenAPI document (JSON) 输出接口文档')
  .action(async () => {
    const { loadConfig } = await import('../platform/config.js');
    const { openDatabase } = await import('../platform/db/database.js');
    const { migrate } = await import('../platform/db/migrations.js');
    const { Secrets } = await import('../platform/secrets.js');
    const database = openDatabase({ sqliteFile: ':memory:' });
    await migrate(database);
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const { app } = await buildApp({ config, database, secrets: Secrets.ephemeral(), logger: false, webDist: null });
    await app.ready();
    process.stdout.write(`${JSON.stringify(app.swagger(), null, 2)}\n`);
    await app.close();
    await database.close();
  });

interface SeedOutcome {
  adminPassword?: string | undefined;
  demo?: { username: string; password: string }[] | undefined;
}

async function seedAll(ctx: Awaited<ReturnType<typeof openContext>>, demo: boolean): Promise<SeedOutcome> {
  const ledger = createLedger(ctx.database, ctx.config);
  const db = ctx.database.kysely as Kysely<IdentityTables>;
  const boot = await bootstrap(db, ledger);
  await ledger.drain();
  let demoLogins: SeedOutcome['demo'];
  if (demo) {
    const { seedDemo } = await import('../seed/demo.js');
    demoLogins = await seedDemo(ctx, boot.bankId);
  }
  await seedAppBundles(ctx);
  return { adminPassword: boot.adminPassword, demo: demoLogins };
}

/** The terminal shell and scenario apps built from this repository, into the app catalogue (seed/app-bundles.ts). */
async function seedAppBundles(ctx: Awaited<ReturnType<typeof openContext>>): Promise<void> {
  const { publishAppBundles } = await import('../seed/app-bundles.js');
  const { createCryptoService } = await import('../crypto/index.js');
  const crypto = createCryptoService(ctx.secrets, { lmkVersion: ctx.config.XIAOWEI_LMK_VERSION });
  const outcome = await publishAppBundles(ctx.database.kysely as Kysely<AppsDb>, crypto);
  if (!outcome.dir) {
    console.log('Terminal app bundles not built; run `npm run build` to publish them 终端应用包未构建，运行 npm run build 后发布');
    return;
  }
  const created = outcome.published.filter((p) => p.created);
  if (created.length > 0) console.log(`Terminal apps published 已发布终端应用: ${created.map((p) => `${p.app} ${p.version}${p.approved ? '' : ' (awaiting approval 待审批)'}`).join(', ')}`);
}

function printLogins(seeded: SeedOutcome): void {
  if (seeded.adminPassword) {
    console.log('\nFirst administrator created 已创建首个管理员 (shown once 仅显示一次):');
    console.log(`  username 用户名: admin`);
    console.log(`  password 密码:   ${seeded.adminPassword}`);
    console.log('  On first sign-in you will bind an authenticator app (TOTP). 首次登录需绑定动态口令。');
  }
  for (const login of seeded.demo ?? []) {
    console.log(`Demo login 演示账号: ${login.username} / ${login.password}`);
  }
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
