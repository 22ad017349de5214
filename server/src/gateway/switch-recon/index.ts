/**
 * Reconciliation against the card switch's settlement file (owner: switch-recon part). STUB.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { SwitchLink } from '../switch/index.js';

export const switchReconRoutes: FastifyPluginAsync<GatewayDeps & { link: SwitchLink | null }> = async () => undefined;
