/**
 * The core-banking adapter (owner: core part). STUB.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export interface CoreBanking {
  readonly kind: 'ledger' | 'iso8583';
  close(): Promise<void>;
}

export function createCoreBanking(_deps: GatewayDeps): CoreBanking {
  return { kind: 'ledger', close: async () => undefined };
}

export const coreRoutes: FastifyPluginAsync<GatewayDeps & { core: CoreBanking }> = async () => undefined;
