/**
 * Reads a V8 CPU profile of the server (`BENCH_PAY_PROFILE=<dir> npm run bench:payments`, which
 * starts the SQLite server with `--cpu-prof`) and says where the time goes: self time by package or
 * source file, self time by function, and the inclusive time of the project's own functions — each
 * also per request when the number of requests the profile covers is given.
 *
 *   npx tsx bench/src/payments-profile.ts <file.cpuprofile> [requests] [top=25] [from_s] [to_s]
 *
 * `from_s`/`to_s` keep only the samples taken that many seconds after the profile started (e.g.
 * the load runs, without start-up and set-up).
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, requestsText, topText, fromText, toText] = process.argv.slice(2);
if (!file) {
  console.error('usage: payments-profile.ts <file.cpuprofile> [requests] [top]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const requests = Number(requestsText ?? 0);
const top = Number(topText ?? 25);

/** Where a frame lives: a package under node_modules, a project file, node's own, or V8's. */
function placeOf(url: string): string {
  if (!url) return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /\/(server|bench)\/src\/(.+?)(\?.*)?$/.exec(url);
  if (own) return `${own[1]}/src/${own[2]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const from = Number(fromText ?? 0) * 1e6;
const to = toText === undefined ? Infinity : Number(toText) * 1e6;
const self = new Map<number, number>();
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)', '(garbage collector)'].includes(byId.get(id)!.callFrame.functionName));
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${placeOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const selfBy = (key: (n: ProfileNode) => string): [string, number][] => {
  const m = new Map<string, number>();
  for (const [id, us] of self) {
    const k = key(byId.get(id)!);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};

/** Inclusive time per project function: every sample counts once for each distinct project function on its stack. */
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (!/\/(server|bench)\/src\//.test(n.callFrame.url)) continue;
    const k = label(n);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

const fmt = (us: number): string => {
  const ms = (us / 1000).toFixed(0).padStart(7);
  const pct = ((us / total) * 100).toFixed(1).padStart(5);
  const per = requests > 0 ? `${(us / requests).toFixed(1).padStart(8)} µs/req` : '';
  return `${ms} ms ${pct} % ${per}`;
};

console.log(`profile ${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s long; ${(total / 1e6).toFixed(1)} s sampled${requests ? `, ${requests} requests` : ''}`);
for (const [id, us] of idle) console.log(`  ${byId.get(id)!.callFrame.functionName.padEnd(22)} ${fmt(us)}`);
console.log(`\nself time by package / file (top ${top}):`);
for (const [k, us] of selfBy((n) => placeOf(n.callFrame.url)).slice(0, top)) console.log(`  ${fmt(us)}  ${k}`);
console.log(`\nself time by function (top ${top}):`);
for (const [k, us] of selfBy(label).slice(0, top)) console.log(`  ${fmt(us)}  ${k}`);
console.log(`\ninclusive time of project functions (top ${top * 2}):`);
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) console.log(`  ${fmt(us)}  ${k}`);
