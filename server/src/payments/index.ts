/**
 * The payments domain: acquiring merchants and fee plans, the bank's own cards, the terminal
 * transaction set, QR payments and customer transfers, risk rules, settlement and reconciliation.
 * Money moves only through the ledger (postings.ts says how each payment maps to transfers).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CryptoService } from '../crypto/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import type { Secrets } from '../platform/secrets.js';
import type { CommandQueue } from '../terminals/index.js';
import { NO_RISK, parseCutoff, type RiskEngine } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import { engineRoutes } from './engine-routes.js';
import { merchantRoutes } from './merchant-routes.js';
import { qrRoutes } from './qr-routes.js';
import { createRiskEngine } from './risk.js';
import { riskRoutes } from './risk-routes.js';
import { settlementRoutes } from './settlement-routes.js';

export type { PaymentsDeps } from './deps.js';
export * from './contracts.js';

export interface PaymentsOptions {
  database: Database;
  ledger: Ledger;
  crypto: CryptoService;
  secrets: Secrets;
  config: Config;
  commands: CommandQueue;
  now?: () => number;
}

export interface Payments {
  deps: PaymentsDeps;
  risk: RiskEngine;
  /** Every payments route, to register under /api/v1. */
  routes: FastifyPluginAsync;
  close(): Promise<void>;
}

export function createPayments(options: PaymentsOptions): Payments {
  const now = options.now ?? (() => Date.now() * 1000);
  const base = { ...options, db: options.database.kysely, now, cutoffMinutes: parseCutoff(options.config.XIAOWEI_CUTOFF) };
  const engine = options.config.XIAOWEI_RISK === 'off' ? { ...NO_RISK, close: async () => undefined } : createRiskEngine(base);
  const deps: PaymentsDeps = { ...base, risk: engine };
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(merchantRoutes, deps);
    await app.register(engineRoutes, deps);
    await app.register(riskRoutes, deps);
    await app.register(qrRoutes, deps);
    await app.register(settlementRoutes, deps);
  };
  return {
    deps,
    risk: engine,
    routes,
    async close() {
      await engine.close();
    },
  };
}
