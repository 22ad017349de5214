/**
 * The channel gateway: the ISO 8583 acquirer host for conventional POS terminals (acquirer/), the
 * card-switch link with store and forward (switch/), reconciliation against the switch's
 * settlement file (switch-recon/), the core-banking adapter (core/), and the switch simulator
 * (switch-sim/, a separate peer: nothing here special-cases it). Codec and channels are in
 * iso8583/ and channel/.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CryptoService } from '../crypto/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Payments } from '../payments/index.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import type { Secrets } from '../platform/secrets.js';
import { createAcquirerHost, posRoutes, type AcquirerHost } from './acquirer/index.js';
import { coreRoutes, createCoreBanking, type CoreBanking } from './core/index.js';
import type { GatewayDeps } from './deps.js';
import { switchReconRoutes } from './switch-recon/index.js';
import { createSwitchLink, switchRoutes, type SwitchLink } from './switch/index.js';

export type { GatewayDeps } from './deps.js';

export interface GatewayOptions {
  database: Database;
  ledger: Ledger;
  crypto: CryptoService;
  secrets: Secrets;
  config: Config;
  payments: Payments;
  log?: GatewayDeps['log'];
  now?: () => number;
}

export interface Gateway {
  deps: GatewayDeps;
  /** Null unless XIAOWEI_SWITCH_URL is set. */
  link: SwitchLink | null;
  acquirer: AcquirerHost;
  core: CoreBanking;
  /** Every gateway route, to register under /api/v1. */
  routes: FastifyPluginAsync;
  /** Connects the switch link and, with XIAOWEI_ISO_PORT, listens for POS terminals (not done by buildApp: tests call it). */
  start(): Promise<{ isoPort: number | null }>;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const deps: GatewayDeps = {
    database: options.database,
    db: options.database.kysely,
    ledger: options.ledger,
    crypto: options.crypto,
    secrets: options.secrets,
    config: options.config,
    payments: options.payments.deps,
    now: options.now ?? options.payments.deps.now,
    log: options.log,
  };
  const url = options.config.XIAOWEI_SWITCH_URL;
  const link = url ? createSwitchLink(deps, { url }) : null;
  if (link) options.payments.deps.offUs = link;
  const core = createCoreBanking(deps);
  options.payments.deps.core = core;
  const acquirer = createAcquirerHost(deps);
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(switchRoutes, { ...deps, link });
    await app.register(posRoutes, deps);
    await app.register(coreRoutes, { ...deps, core });
    await app.register(switchReconRoutes, { ...deps, link });
  };
  return {
    deps,
    link,
    acquirer,
    core,
    routes,
    async start() {
      core.start();
      await link?.start();
      const port = options.config.XIAOWEI_ISO_PORT;
      const isoPort = port === undefined ? null : await acquirer.listen(port, options.config.HOST);
      return { isoPort };
    },
    async close() {
      await acquirer.close();
      await link?.close();
      await core.close();
    },
  };
}
