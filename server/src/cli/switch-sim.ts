/**
 * `xiaowei switch-sim`: runs the card-switch and core-banking simulator (a TEST peer) until
 * SIGINT/SIGTERM. Cuts over on SIGUSR2 and every day at 23:00 Beijing time.
 */
import {
  nextCutoverAt,
  SIM_TEST_ZMK,
  SIM_TEST_ZMK_COMPONENTS,
  SwitchSimulator,
  type SwitchSimulatorOptions,
} from '../gateway/switch-sim/index.js';

function num(opts: Record<string, string>, name: string, flag: string, check: (n: number) => boolean): number | undefined {
  const text = opts[name];
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new Error(`--${flag}: not a valid value 取值无效 (${text})`);
  return n;
}
const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const share = (n: number): boolean => n >= 0 && n <= 1;

/** Options as commander gives them (camelCase strings); see cli/main.ts and docs/switch-sim.md. */
export function simulatorOptions(opts: Record<string, string>): { port: number; host: string; options: SwitchSimulatorOptions } {
  const faults = opts.faults;
  if (faults !== undefined && faults !== 'financial' && faults !== 'purchases') throw new Error('--faults: financial | purchases');
  const options: SwitchSimulatorOptions = {
    cards: num(opts, 'cards', 'cards', (n) => whole(n) && n >= 1),
    accounts: num(opts, 'accounts', 'accounts', (n) => whole(n) && n >= 1),
    balance: num(opts, 'balance', 'balance', whole),
    latencyMs: num(opts, 'latencyMs', 'latency-ms', whole),
    jitterMs: num(opts, 'jitterMs', 'jitter-ms', whole),
    timeoutRate: num(opts, 'timeoutRate', 'timeout-rate', share),
    lateMs: num(opts, 'lateMs', 'late-ms', whole),
    dropRate: num(opts, 'dropRate', 'drop-rate', share),
    declineRate: num(opts, 'declineRate', 'decline-rate', share),
    faults,
    seed: opts.seed,
    zmk: opts.zmk,
    outDir: opts.out,
  };
  for (const key of Object.keys(options) as (keyof SwitchSimulatorOptions)[]) if (options[key] === undefined) delete options[key];
  return {
    port: num(opts, 'port', 'port', (n) => whole(n) && n <= 65_535) ?? 5800,
    host: opts.host ?? '127.0.0.1',
    options,
  };
}

export async function runSwitchSim(opts: Record<string, string>): Promise<void> {
  const { port, host, options } = simulatorOptions(opts);
  const sim = new SwitchSimulator(options);
  const bound = await sim.listen(port, host);
  const say = (line: string): void => console.log(line);
  say(`switch simulator listening 模拟器已监听 on tcp://${host}:${bound}`);
  say(`  platform: XIAOWEI_SWITCH_URL=tcp://${host}:${bound}  (core: XIAOWEI_CORE=iso8583://${host}:${bound})`);
  say(`  ZMK check value 区域主密钥校验值: ${sim.zmkKcv}`);
  if ((options.zmk ?? SIM_TEST_ZMK).toUpperCase() === SIM_TEST_ZMK) {
    say('');
    say('  !!! WARNING: using the PUBLIC TEST ZMK. Never configure it on a platform that handles real cards.');
    say('  !!! 警告：正在使用公开的测试区域主密钥，切勿用于处理真实银行卡的系统。');
    say(`  !!! test ZMK components 测试密钥分量: ${SIM_TEST_ZMK_COMPONENTS.join(' + ')}`);
    say('');
  }
  say(`  settlement date 清算日期: ${sim.settlementDate}; files 清算文件 → ${sim.options.outDir}`);
  say('  TEST cards of this simulator (fictional BIN 621999; PINs shown on purpose) 模拟测试卡（虚构卡号，可显示密码）:');
  for (const c of sim.cards().slice(0, 5)) say(`    ${c.pan}  expiry ${c.expiry}  PIN ${c.pin}`);
  say(
    '  core accounts 核心账户 (sample): ' +
      sim
        .accounts()
        .slice(0, 3)
        .map((a) => a.number)
        .join(', '),
  );
  say('  SIGUSR2 → cut-over now 立即日切; daily cut-over at 23:00 Beijing 每日23:00日切; Ctrl-C to stop 停止');

  let cutting = Promise.resolve();
  const cut = (why: string): void => {
    cutting = cutting
      .then(async () => {
        const result = await sim.cutover();
        say(
          `cut-over (${why}) 日切: closed ${result.date}, now ${result.next}; ${result.files.length} file(s), ${result.acknowledged} peer(s) acknowledged`,
        );
        for (const f of result.files) say(`  ${f}`);
      })
      .catch((error: unknown) => say(`cut-over failed 日切失败: ${error instanceof Error ? error.message : String(error)}`));
  };
  let daily: NodeJS.Timeout;
  const schedule = (): void => {
    const now = Date.now();
    daily = setTimeout(
      () => {
        cut('23:00');
        schedule();
      },
      nextCutoverAt(now) - now,
    );
  };
  schedule();
  const onUsr2 = (): void => cut('SIGUSR2');
  process.on('SIGUSR2', onUsr2);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      say(`${signal}: stopping 正在停止…`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  clearTimeout(daily!);
  process.off('SIGUSR2', onUsr2);
  await cutting;
  await sim.close();
  say('stopped 已停止 (state was in memory only 状态仅保存在内存中)');
}
