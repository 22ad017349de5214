/**
 * The card-switch link (owner: switch part). STUB — replaced by the part.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { OffUsAuthorizer } from '../../payments/contracts.js';
import type { GatewayDeps } from '../deps.js';

export interface SwitchLinkStatus {
  state: 'connecting' | 'signed_on' | 'down' | 'closed';
  settlementDate: string | null;
  safDepth: number;
}

export interface SwitchLink extends OffUsAuthorizer {
  start(): Promise<void>;
  close(): Promise<void>;
  status(): Promise<SwitchLinkStatus>;
}

export function createSwitchLink(_deps: GatewayDeps, _options: { url: string }): SwitchLink {
  throw new Error('not built yet');
}

export const switchRoutes: FastifyPluginAsync<GatewayDeps & { link: SwitchLink | null }> = async () => undefined;
