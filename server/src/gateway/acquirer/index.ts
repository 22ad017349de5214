/**
 * The ISO 8583 acquirer host for conventional POS terminals (owner: acquirer part). STUB.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export interface AcquirerHost {
  /** Listens for POS terminals; resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export function createAcquirerHost(_deps: GatewayDeps): AcquirerHost {
  return { listen: async () => Promise.reject(new Error('not built yet')), close: async () => undefined };
}

export const posRoutes: FastifyPluginAsync<GatewayDeps> = async () => undefined;
