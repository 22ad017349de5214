import cliProgress from 'cli-progress';
import type { CoreBanking } from '../gateway/core/index.js';
import { createLedger, type Ledger } from '../ledger/index.js';
import { XiaoweiError, renderMessage } from '../platform/errors.js';
import { checkDate, runSettlement, yuan, type SettlementRunSummary } from '../payments/settlement.js';
import { openContext } from './context.js';

export interface SettleOptions {
  date: string;
  /** Database URL (postgres://… or sqlite:<file>) instead of the configured one. */
  url?: string;
  /** No progress bars (logs, CI). */
  progress?: boolean;
}

const STEP_TEXT = {
  reconcile: 'reconciling batches 批次对账',
  claim: 'claiming and totalling 汇总交易',
  transfer: 'ledger transfers 入账划款',
  done: 'done 完成',
} as const;

/** Human summary, zh and en; amounts in yuan (a UI edge). */
export function describeSummary(s: SettlementRunSummary): string[] {
  const out = [
    `Settlement ${s.date} 结算日期 ${s.date}`,
    `  merchants 商户: ${s.merchants} (new this run 本次新建 ${s.created}; settled 已结算 ${s.settled}; carried 顺延 ${s.carried}; pending 待重试 ${s.pending})`,
    `  transactions 交易笔数: ${s.transactions}`,
    `  gross 交易金额: ¥${yuan(s.gross)}   fees 手续费: ¥${yuan(s.fees)}   refunds 退货: ¥${yuan(s.refunds)}`,
    `  net paid to merchants 划付商户净额: ¥${yuan(s.net)}`,
  ];
  if (s.reconciled_batches > 0) out.push(`  batches reconciled 已对账批次: ${s.reconciled_batches}`);
  for (const f of s.failures) out.push(`  FAILED 失败 ${f.settlement_id}: ${f.error}`);
  return out;
}

/**
 * `xiaowei settle --date YYYY-MM-DD`: settles every merchant for the date against the configured
 * database (the same function as POST /settlements/run). Safe to run again: a completed date
 * changes nothing, an interrupted one is completed. Exits 1 when a transfer was refused.
 */
export async function runSettleCommand(opts: SettleOptions): Promise<number> {
  try {
    checkDate(opts.date);
  } catch (error) {
    if (!(error instanceof XiaoweiError)) throw error;
    console.error(renderMessage(error.code, 'zh-CN', error.detail));
    console.error(renderMessage(error.code, 'en', error.detail));
    return 2;
  }
  if (opts.url) process.env.DATABASE_URL = opts.url;
  const ctx = await openContext();
  const ledger = createLedger(ctx.database, ctx.config);
  // With an external core the payouts go there, through the same adapter the server uses.
  const core = ctx.config.XIAOWEI_CORE === 'ledger' ? undefined : await coreAdapter(ctx, ledger);
  const bar = opts.progress === false || !process.stderr.isTTY ? null : new cliProgress.SingleBar({ format: '{step} [{bar}] {value}/{total}', hideCursor: true }, cliProgress.Presets.shades_classic);
  let current: string | null = null;
  try {
    const summary = await runSettlement({ db: ctx.database.kysely, database: ctx.database, ledger, now: () => Date.now() * 1000, core }, opts.date, {
      onProgress: (step, done, total) => {
        if (!bar) {
          if (step !== current) console.error(`… ${STEP_TEXT[step]}`);
          current = step;
          return;
        }
        if (step !== current) {
          if (current !== null) bar.stop();
          current = step;
          bar.start(Math.max(total, 1), done, { step: STEP_TEXT[step] });
        } else bar.update(done, { step: STEP_TEXT[step] });
      },
    });
    bar?.stop();
    for (const line of describeSummary(summary)) console.log(line);
    return summary.failures.length > 0 ? 1 : 0;
  } finally {
    bar?.stop();
    await core?.close();
    await ledger.drain();
    await ctx.database.close();
  }
}

/** The configured core-banking adapter (an ISO 8583 link), started. */
async function coreAdapter(ctx: Awaited<ReturnType<typeof openContext>>, ledger: Ledger): Promise<CoreBanking> {
  const { createCoreBanking } = await import('../gateway/core/index.js');
  const core = createCoreBanking({ database: ctx.database, db: ctx.database.kysely, ledger, config: ctx.config, now: () => Date.now() * 1000 });
  core.start();
  return core;
}
