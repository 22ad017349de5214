/**
 * bench:iso8583 — the ISO 8583 codec on one core: pack + unpack of a CUP sale request, in process,
 * exactly as the acquirer host will call it (server/src/gateway/iso8583).
 *
 * The headline message is a chip (IC card) sale request of the CUP POS layout: TPDU, application
 * header, 18 fields including track 2, PIN block, 20 EMV data objects in field 55, positional
 * field 60 and the MAC (280 bytes). Also measured: a magnetic-stripe sale request (no field 55),
 * pack alone and unpack alone. Each measurement warms up, then runs ROUNDS rounds of SECONDS and
 * reports the median. Operations per second are given twice: per wall-clock second (what this
 * process got) and per CPU-second of this process (what one core does — the fairer figure when
 * other work shares the machine; the load average is printed alongside).
 *
 * Then end to end (bench/src/iso-e2e.ts): ISO 8583 sales from simulated conventional POS terminals
 * through the acquirer host, the payments engine and the switch link of a real server process to
 * the switch simulator, other banks' cards, PINs and MACs on both legs (`iso_e2e_*`; skip with
 * --e2e=0 or BENCH_ISO8583_E2E=0; its knobs are BENCH_ISO_* in that file).
 *
 *   npm run bench:iso8583
 *   npm run bench:iso8583 -- --seconds=2 --rounds=5 --e2e=0
 *
 * Every --name=value flag can also be given as BENCH_ISO8583_<NAME>. The last line is JSON.
 */
import os from 'node:os';
import { CUP_POS, pack, unpack, type Message } from '../server/src/gateway/iso8583/index.js';
import { chipSaleRequest, saleRequest } from '../server/src/gateway/iso8583/test-support/cup-samples.js';
import { runIsoE2e, type IsoE2eFigures } from './src/iso-e2e.js';

function setting(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const raw = flag ?? process.env[`BENCH_ISO8583_${name.toUpperCase()}`];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${raw}`);
  return n;
}

const ROUNDS = setting('rounds', 5);
const SECONDS = setting('seconds', 1);
const E2E = (process.argv.find((a) => a.startsWith('--e2e='))?.slice(6) ?? process.env.BENCH_ISO8583_E2E ?? '1') !== '0';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Rate {
  wall: number;
  cpu: number;
}

/** Median operations per wall second and per CPU-second over `rounds` rounds of `seconds`. */
function measure(op: () => void, rounds: number, seconds: number): Rate {
  // Warm-up: let the JIT settle on the hot path before anything is timed.
  const warmEnd = performance.now() + 1000;
  while (performance.now() < warmEnd) for (let i = 0; i < 1000; i++) op();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const w0 = performance.now();
    const c0 = cpuSeconds();
    let w = w0;
    while (w - w0 < seconds * 1000) {
      for (let i = 0; i < 1000; i++) op();
      n += 1000;
      w = performance.now();
    }
    const c = cpuSeconds() - c0;
    wall.push(n / ((w - w0) / 1000));
    cpu.push(n / c);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** Refuses to time a codec that does not round-trip the message. */
function check(m: Message): Buffer {
  const bytes = pack(CUP_POS, m);
  const again = pack(CUP_POS, unpack(CUP_POS, bytes));
  if (!again.equals(bytes)) throw new Error('pack(unpack(pack(m))) differs from pack(m): not timing a broken codec');
  return bytes;
}

async function main(): Promise<void> {
  const chip = chipSaleRequest();
  const stripe = saleRequest();
  const chipBytes = check(chip);
  const stripeBytes = check(stripe);
  console.log(
    `bench:iso8583 — CUP sale request: chip ${chipBytes.length} bytes, magnetic stripe ${stripeBytes.length} bytes; ${ROUNDS} rounds × ${SECONDS} s, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const started = performance.now();
  const fmt = (r: Rate): string => `${Math.round(r.wall).toLocaleString('en')}/s wall, ${Math.round(r.cpu).toLocaleString('en')}/CPU-s`;

  const both = measure(() => void unpack(CUP_POS, pack(CUP_POS, chip)), ROUNDS, SECONDS);
  console.log(`  pack+unpack chip sale:     ${fmt(both)}`);
  const short = Math.max(1, Math.ceil(ROUNDS / 2));
  const half = SECONDS / 2;
  const stripeBoth = measure(() => void unpack(CUP_POS, pack(CUP_POS, stripe)), short, half);
  console.log(`  pack+unpack stripe sale:   ${fmt(stripeBoth)}`);
  const packOnly = measure(() => void pack(CUP_POS, chip), short, half);
  console.log(`  pack chip sale:            ${fmt(packOnly)}`);
  const unpackOnly = measure(() => void unpack(CUP_POS, chipBytes), short, half);
  console.log(`  unpack chip sale:          ${fmt(unpackOnly)}`);

  const result = {
    iso_pack_unpack_per_s: Math.round(both.wall),
    iso_pack_unpack_per_cpu_s: Math.round(both.cpu),
    iso_pack_unpack_stripe_per_s: Math.round(stripeBoth.wall),
    iso_pack_unpack_stripe_per_cpu_s: Math.round(stripeBoth.cpu),
    iso_pack_per_s: Math.round(packOnly.wall),
    iso_unpack_per_s: Math.round(unpackOnly.wall),
    message: 'CUP chip sale request 0200',
    message_bytes: chipBytes.length,
    rounds: ROUNDS,
    seconds_per_round: SECONDS,
    load_avg_1m: Number(os.loadavg()[0]!.toFixed(2)),
    cpus: os.cpus().length,
    node: process.version,
  };
  let e2e: IsoE2eFigures | { iso_e2e_tps: null; iso_e2e_p99_ms: null } = { iso_e2e_tps: null, iso_e2e_p99_ms: null };
  if (E2E) {
    e2e = await runIsoE2e((line) => console.log(line));
    console.log(`  end to end POS → host → engine → switch: ${e2e.iso_e2e_tps.toLocaleString('en')} sales/s, p50 ${e2e.iso_e2e_p50_ms} ms, p99 ${e2e.iso_e2e_p99_ms} ms`);
  }
  const out = { ...result, ...e2e, total_s: Math.round((performance.now() - started) / 100) / 10 };
  console.log(JSON.stringify(out));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
