/**
 * `xiaowei switch-recon --file F`: imports the card switch's settlement file for a date against the
 * configured database (the same function as POST /gateway/switch-recon/files) and prints what
 * matched and what staff must look at. Importing the same file again changes nothing.
 */
import fs from 'node:fs';
import { buildApp } from '../app.js';
import { importSettlementFile } from '../gateway/switch-recon/index.js';
import { XiaoweiError, renderMessage } from '../platform/errors.js';
import { yuan } from '../payments/settlement.js';
import { openContext } from './context.js';

export async function runSwitchReconCommand(opts: { file: string; url?: string }): Promise<number> {
  let text: string;
  try {
    text = fs.readFileSync(opts.file, 'utf8');
  } catch (error) {
    console.error(`cannot read 无法读取 ${opts.file}: ${(error as Error).message}`);
    return 2;
  }
  if (opts.url) process.env.DATABASE_URL = opts.url;
  const ctx = await openContext();
  const { app, gateway } = await buildApp({ ...ctx, logger: false, webDist: null, terminalDist: null });
  try {
    const { file, created } = await importSettlementFile(gateway.deps, text, 'cli');
    console.log(`Switch settlement ${file.settlement_date} (acquirer ${file.acquirer_id}) 转接清算文件${created ? '' : '（此前已导入 imported before）'}`);
    console.log(`  lines 明细: ${file.line_count} (sales 消费 ${file.sale_count}, refunds 退货 ${file.refund_count}, late reversals 隔日冲正 ${file.reversal_count})`);
    console.log(`  net from the switch 轧差应收: ¥${yuan(file.net)}`);
    console.log(`  matched 已勾对: ${file.matched_count}   exceptions 差错: ${file.exception_count}   paired with an earlier day 与前日差错对冲: ${file.paired_count}`);
    if (file.exception_count > 0) console.log('  → resolve the exceptions in the console (Channel gateway → Switch reconciliation) 请在控制台处理差错');
    return file.exception_count > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof XiaoweiError)) throw error;
    console.error(renderMessage(error.code, 'zh-CN', error.detail));
    console.error(renderMessage(error.code, 'en', error.detail));
    return 2;
  } finally {
    await app.close();
    await ctx.database.close();
  }
}
