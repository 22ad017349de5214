/**
 * For tests (not a test itself): a switch simulator on a free port with its test ZMK split into
 * two components, and a harness's switch link connected to it.
 *
 *   const sw = await startTestSwitch();
 *   const h = await createHarness(dialect, { XIAOWEI_SWITCH_URL: sw.url });
 *   await connectLink(h, sw.zmkComponents);
 *   … h.gateway.link!.authorize(…) / the engine's off-us sales …
 *   await h.close(); await sw.close();
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SIM_TEST_ZMK, SwitchSimulator, type SwitchSimulatorOptions } from '../switch-sim/index.js';
import type { GatewayDeps } from '../deps.js';
import { importZmk } from './keys.js';
import type { SwitchLink } from './link.js';

export interface TestSwitch {
  sim: SwitchSimulator;
  /** tcp://127.0.0.1:<port>, for XIAOWEI_SWITCH_URL. */
  url: string;
  /** Two clear components whose XOR is the simulator's ZMK. */
  zmkComponents: [string, string];
  /** Where the simulator writes settlement files (a fresh temporary folder unless `outDir` was given). */
  outDir: string;
  close(): Promise<void>;
}

/** Splits a clear key (hex) into two random components that XOR to it. */
export function splitKey(keyHex: string): [string, string] {
  const key = Buffer.from(keyHex, 'hex');
  const first = randomBytes(key.length);
  const second = Buffer.alloc(key.length);
  for (let i = 0; i < key.length; i++) second[i] = key[i]! ^ first[i]!;
  return [first.toString('hex').toUpperCase(), second.toString('hex').toUpperCase()];
}

export async function startTestSwitch(options: SwitchSimulatorOptions = {}): Promise<TestSwitch> {
  const ownDir = options.outDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'xiaowei-switch-sim-')) : undefined;
  const outDir = options.outDir ?? ownDir!;
  const sim = new SwitchSimulator({ ...options, outDir });
  const port = await sim.listen(0, '127.0.0.1');
  return {
    sim,
    url: `tcp://127.0.0.1:${port}`,
    zmkComponents: splitKey(options.zmk ?? SIM_TEST_ZMK),
    outDir,
    async close() {
      await sim.close();
      if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** What connectLink needs of the test harness (test/harness.ts's `Harness` has it). */
export interface LinkHarness {
  gateway: { deps: GatewayDeps; link: SwitchLink | null; start(): Promise<unknown> };
}

/**
 * Imports the ZMK from `components`, starts the harness's gateway (the link connects, signs on
 * and exchanges zone keys) and resolves when the link is ready for requests. The harness must
 * have been created with XIAOWEI_SWITCH_URL.
 */
export async function connectLink(h: LinkHarness, components: readonly string[], timeoutMs = 10_000): Promise<SwitchLink> {
  const link = h.gateway.link;
  if (!link) throw new Error('connectLink: the harness has no switch link (set XIAOWEI_SWITCH_URL)');
  await importZmk(h.gateway.deps, components, null);
  await h.gateway.start();
  // Started earlier without a ZMK: sign on now rather than at the next tick.
  if ((await link.status()).state === 'no_zmk') await link.rekey();
  await link.whenReady(timeoutMs);
  return link;
}

/** Reads until `done` says yes, every 50 ms, failing after `ms` with what it waited for and the last value. */
export async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
