/**
 * The ISO 8583 acquirer host for conventional POS terminals (owner: acquirer part): the host
 * (host.ts, message conventions in messages.ts), sign-on sessions (sessions.ts), batch settlement
 * and upload (settlement.ts), registration and master keys (registry.ts, routes.ts), DUKPT PIN
 * pads — BDKs, PIN modes, KSNs (dukpt.ts) — and a simulated POS terminal for tests and benchmarks
 * (pos-client.ts, with a DUKPT PIN pad from dukpt-pad.ts).
 */
import type { GatewayDeps } from '../deps.js';
import { PosHost, type AcquirerHost, type AcquirerHostOptions } from './host.js';

export type { AcquirerHost, AcquirerHostOptions } from './host.js';
export { posRoutes } from './routes.js';
export { PosClient, type PosClientOptions, type PosResult } from './pos-client.js';
export { DukptPad, type DukptScheme } from './dukpt-pad.js';

export function createAcquirerHost(deps: GatewayDeps, options?: AcquirerHostOptions): AcquirerHost {
  return new PosHost(deps, options);
}
