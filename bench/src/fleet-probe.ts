/**
 * bench:fleet's look inside the processes it starts: every server and simulator gets a small
 * preloaded module (`node --import data:…`, nothing in the server knows) that writes, once a
 * second, its event-loop delay (perf_hooks `monitorEventLoopDelay`: p99 and max of the second)
 * and the CPU it used that second to a JSON-lines file. The bench reads the files at the end and
 * reports them per phase next to the heartbeat latencies, so a slow phase shows whether a server
 * stalled, a simulator (the load generator) starved, or neither (the database).
 */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The preloaded module: plain JavaScript, as node runs it before the entry point. */
const PROBE_SOURCE = `
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import fs from 'node:fs';
const file = process.env.BENCH_FLEET_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let gcMax = 0;
  let gcSum = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcSum += e.duration;
      if (e.duration > gcMax) gcMax = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  let cpu = process.cpuUsage();
  let at = performance.now();
  const fd = fs.openSync(file, 'a');
  setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const line = { t: Date.now(), p99: h.percentile(99) / 1e6, max: h.max / 1e6, cpu: (used.user + used.system) / 1000 / (now - at), gcMax, gcSum, heap: process.memoryUsage().heapUsed / 1048576 };
    at = now;
    gcMax = 0;
    gcSum = 0;
    h.reset();
    fs.writeSync(fd, JSON.stringify(line) + '\\n');
  }, 1000).unref();
}
`;

/** Node arguments that load the probe; the process writes to `file` (env BENCH_FLEET_PROBE_FILE). */
export function probeArgs(): string[] {
  return ['--import', `data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`];
}

export interface ProbeSample {
  /** ms since the epoch, at the end of the second. */
  t: number;
  /** Event-loop delay of that second, ms. */
  p99: number;
  max: number;
  /** CPU used that second, in cores (1 = one core busy all second). */
  cpu: number;
  /** Longest garbage-collection pause that second, and all of them together, ms; the heap in use, MiB. */
  gcMax?: number;
  gcSum?: number;
  heap?: number;
}

export function readProbe(file: string): ProbeSample[] {
  if (!fs.existsSync(file)) return [];
  const out: ProbeSample[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as ProbeSample);
    } catch {
      // a line cut short when the process was stopped
    }
  }
  return out;
}

export const probeFile = (dir: string, role: string): string => path.join(dir, `probe-${role}.jsonl`);

/** Of the seconds in [from, to): the worst second's loop-delay p99, the largest stall, and the mean CPU (cores). */
export function probeSummary(samples: readonly ProbeSample[], from: number, to: number): { loopP99: number; loopMax: number; cpu: number; gcMax: number; gcShare: number } {
  const inside = samples.filter((s) => s.t > from && s.t <= to);
  if (inside.length === 0) return { loopP99: 0, loopMax: 0, cpu: 0, gcMax: 0, gcShare: 0 };
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    loopP99: round(Math.max(...inside.map((s) => s.p99))),
    loopMax: round(Math.max(...inside.map((s) => s.max))),
    cpu: Math.round((inside.reduce((a, s) => a + s.cpu, 0) / inside.length) * 100) / 100,
    gcMax: round(Math.max(...inside.map((s) => s.gcMax ?? 0))),
    /** Share of the time spent in garbage collection. */
    gcShare: Math.round((inside.reduce((a, s) => a + (s.gcSum ?? 0), 0) / (inside.length * 1000)) * 1000) / 1000,
  };
}

/**
 * The machine's busy cores (all processes: PostgreSQL, the bench, anyone else) once a second, from
 * /proc/stat, with this process's own event-loop delay (`p99`, `max`): a simulator blocks writing
 * its events to a full stdout pipe while the bench does not read.
 */
export function sampleMachine(): { samples: ProbeSample[]; stop: () => void } {
  const samples: ProbeSample[] = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const read = (): { busy: number; total: number } | null => {
    try {
      const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
      const total = cpu.reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    } catch {
      return null; // not Linux
    }
  };
  let last = read();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = read();
    const at = performance.now();
    if (now && last) {
      // /proc/stat counts in USER_HZ (100 a second on Linux).
      samples.push({ t: Date.now(), p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, cpu: (now.busy - last.busy) / 100 / ((at - lastAt) / 1000) });
    }
    loop.reset();
    last = now;
    lastAt = at;
  }, 1000);
  timer.unref();
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      loop.disable();
    },
  };
}
