/**
 * Reconciliation against the card switch's settlement file (owner: switch-recon part): strict
 * parsing of the file, matching with the switch link's journal, the file's net on the ledger,
 * exceptions and their staff actions, the staff API. See recon.ts and exceptions.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { SwitchLink } from '../switch/index.js';
import { reconRoutes } from './routes.js';

export { importSettlementFile, settlementTransferId, type ImportOutcome, type ReconFileView } from './recon.js';
export { getException, getFile, listExceptions, listFiles, resolveException, type ReconExceptionView } from './exceptions.js';
export { formatSettlementFile, parseSettlementFile, type SettlementFile, type SettlementLine } from './file.js';

/** The routes take the link too (unused for now: the file, not the link, is what reconciliation reads). */
export const switchReconRoutes: FastifyPluginAsync<GatewayDeps & { link: SwitchLink | null }> = async (app, options) => {
  const { link: _link, ...deps } = options;
  await app.register(reconRoutes, deps);
};
