import fs from 'node:fs';
import { FleetSimulator, percentile, type SimulatedTerminal, type SimulatorEvent } from '../terminals/simulator.js';

interface SimulateOptions {
  count: string;
  url?: string;
  from?: string;
  owner?: string;
  seconds?: string;
  concurrency: string;
  activationSeconds?: string;
  jsonl?: boolean;
}

function positive(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

/**
 * `xiaowei simulate terminals`: registers terminals in the database (or takes a list of already
 * registered ones with their activation codes) and runs them against a server over HTTP.
 * With --jsonl every event is one JSON line on stdout, and heartbeat round-trip times are
 * flushed every two seconds as `{"type":"hb","t":…,"ms":[…]}` — `bench:fleet` reads these.
 */
export async function runSimulateTerminals(opts: SimulateOptions): Promise<void> {
  const say = (line: string): void => {
    if (!opts.jsonl) console.log(line);
  };
  let terminals: SimulatedTerminal[];
  let baseUrl = opts.url;
  if (opts.from) {
    terminals = JSON.parse(fs.readFileSync(opts.from, 'utf8')) as SimulatedTerminal[];
  } else {
    const { openContext } = await import('./context.js');
    const { provisionSimulatedTerminals } = await import('../terminals/simulator-provision.js');
    const ctx = await openContext();
    baseUrl ??= `http://localhost:${ctx.config.PORT}`;
    const count = positive(opts.count, '--count');
    say(`registering ${count} simulated terminals 登记模拟终端…`);
    const prefix = `SIM${Date.now().toString(36).toUpperCase()}`;
    const provisioned = await provisionSimulatedTerminals(ctx.database.kysely as never, ctx.secrets, {
      count,
      prefix,
      now: Date.now() * 1000,
      ...(opts.owner ? { ownerPartyId: opts.owner } : {}),
    });
    terminals = provisioned.terminals;
    await ctx.database.close();
  }
  baseUrl ??= 'http://localhost:8080';

  const events = { activated: 0, failed: 0, commands: 0, installed: 0, updateFailed: 0 };
  const onEvent = (event: SimulatorEvent): void => {
    if (event.type === 'activated') {
      events.activated++;
      if (opts.jsonl && events.activated % 1000 === 0) process.stdout.write(`${JSON.stringify({ type: 'progress', activated: events.activated, failed: events.failed })}\n`);
    }
    else if (event.type === 'activation_failed') events.failed++;
    else if (event.type === 'command') events.commands++;
    else if (event.type === 'update') {
      if (event.status === 'installed') events.installed++;
      else events.updateFailed++;
    }
    if (opts.jsonl && event.type !== 'activated') process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  const simulator = new FleetSimulator({
    baseUrl,
    terminals,
    concurrency: positive(opts.concurrency, '--concurrency'),
    appVersions: {},
    onEvent,
    ...(opts.activationSeconds ? { bringUpUntil: Date.now() + positive(opts.activationSeconds, '--activation-seconds') * 1000 } : {}),
  });
  const flush = setInterval(() => {
    const ms = simulator.heartbeatMs.drain();
    if (opts.jsonl) {
      if (ms.length > 0) process.stdout.write(`${JSON.stringify({ type: 'hb', t: Date.now(), ms: Array.from(ms, (v) => Math.round(v * 10) / 10), errors: simulator.heartbeatErrors, ...(simulator.heartbeatErrors > 0 ? { errorCodes: Object.fromEntries(simulator.heartbeatErrorCodes) } : {}) })}\n`);
    } else if (ms.length > 0) {
      say(`heartbeats 心跳 ${ms.length} in 2 s, p50 ${percentile(ms, 0.5).toFixed(1)} ms, p99 ${percentile(ms, 0.99).toFixed(1)} ms; commands 指令 ${events.commands}, installed 已安装 ${events.installed}`);
    }
  }, 2000);

  const started = await simulator.start();
  if (opts.jsonl) process.stdout.write(`${JSON.stringify({ type: 'ready', t: Date.now(), ...started })}\n`);
  else say(`${started.activated} terminals activated and signed on 已激活签到, ${started.failed} failed 失败, ${started.skipped} not started 未启动 — against ${baseUrl}`);

  const stop = (): void => {
    clearInterval(flush);
    void simulator.stop();
    if (opts.jsonl) process.stdout.write(`${JSON.stringify({ type: 'stopped', t: Date.now(), ...events })}\n`);
    else say(`stopped 已停止: ${JSON.stringify(events)}`);
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (opts.seconds) setTimeout(stop, positive(opts.seconds, '--seconds') * 1000);
}
