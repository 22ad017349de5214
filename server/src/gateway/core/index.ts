/**
 * The core-banking adapter: one interface (`CoreAdapter`, contracts.ts) to the bank's deposit
 * accounts, two implementations chosen by `XIAOWEI_CORE`: 'ledger' (default) → `LedgerCore`, the
 * built-in ledger; 'iso8583://host:port' → `IsoCore`, a host-to-host ISO 8583 link.
 */
import type { GatewayDeps } from '../deps.js';
import type { CoreBanking } from './contracts.js';
import { IsoCore } from './iso-core.js';
import { LedgerCore } from './ledger-core.js';

export * from './contracts.js';
export { coreRoutes } from './routes.js';
export { IsoCore, coreRrn, type IsoCoreOptions } from './iso-core.js';
export { LedgerCore } from './ledger-core.js';

const ISO_URL = /^iso8583:\/\/([^/:]+):([0-9]{1,5})$/;

/** What the adapter needs: the database and ledger (built-in core), the configuration, the clock and a log. */
export type CoreBankingDeps = Pick<GatewayDeps, 'db' | 'database' | 'ledger' | 'config' | 'now' | 'log'>;

export function createCoreBanking(deps: CoreBankingDeps): CoreBanking {
  const target = deps.config.XIAOWEI_CORE;
  const iso = ISO_URL.exec(target);
  if (!iso) {
    const core = new LedgerCore(deps);
    return {
      kind: 'ledger',
      inquiry: (a) => core.inquiry(a),
      debit: (r) => core.debit(r),
      credit: (r) => core.credit(r),
      reverse: (r) => core.reverse(r),
      status: (id) => core.status(id),
      start: () => undefined,
      state: () => ({ kind: 'ledger', endpoint: null, state: 'ready', outstanding: 0, stats: null }),
      close: async () => undefined,
    };
  }
  const core = new IsoCore({
    host: iso[1]!,
    port: Number(iso[2]),
    timeoutMs: deps.config.XIAOWEI_SWITCH_TIMEOUT_MS,
    nowMs: () => Math.floor(deps.now() / 1000),
    log: deps.log,
  });
  let used = false;
  const use = (): IsoCore => {
    used = true;
    return core;
  };
  return {
    kind: 'iso8583',
    inquiry: (a) => use().inquiry(a),
    debit: (r) => use().debit(r),
    credit: (r) => use().credit(r),
    reverse: (r) => use().reverse(r),
    status: (id) => use().status(id),
    start: () => use().start(),
    state: () => {
      const s = core.state();
      return {
        kind: 'iso8583',
        endpoint: s.endpoint,
        state: s.ready ? 'ready' : used ? 'connecting' : 'idle',
        outstanding: s.outstanding,
        stats: s.stats,
      };
    },
    close: () => core.close(),
  };
}
