/**
 * Registers terminals for the simulator the way staff would — a CSV import and one activation code
 * per terminal — acting as the bank's root organisation. The simulator then activates them over
 * the real protocol.
 */
import type { Kysely } from 'kysely';
import { subtreeOf } from '../identity/organisations.js';
import type { IdentityTables } from '../identity/tables.js';
import { PERMISSIONS } from '../identity/roles.js';
import type { Actor } from '../platform/http/actor.js';
import type { Secrets } from '../platform/secrets.js';
import { issueActivationCode } from './activation-codes.js';
import { IMPORT_MAX_ROWS, importTerminals } from './fleet-import.js';
import type { FleetTables } from './fleet-tables.js';
import type { SimulatedTerminal } from './simulator.js';

export interface ProvisionOptions {
  count: number;
  /** Serial prefix, so several runs can share a database. */
  prefix: string;
  /** The merchant (or agent, buyer) party owning the terminals; default: the first merchant. */
  ownerPartyId?: string;
  /** µs since the epoch. */
  now: number;
  /** Activation codes issued at once. */
  concurrency?: number;
  onProgress?: (done: number) => void;
}

export async function provisionSimulatedTerminals(
  database: Kysely<unknown>,
  secrets: Secrets,
  options: ProvisionOptions,
): Promise<{ ownerPartyId: string; terminals: (SimulatedTerminal & { id: string })[] }> {
  const idb = database as unknown as Kysely<IdentityTables>;
  const root = await idb.selectFrom('organisations').select('id').where('parent_id', 'is', null).orderBy('created_at').executeTakeFirst();
  if (!root) throw new Error('no bank organisation: run `xiaowei seed` first');
  const owner =
    options.ownerPartyId ??
    (await idb.selectFrom('parties').select('id').where('roles', 'like', '%merchant%').orderBy('created_at').executeTakeFirst())?.id;
  if (!owner) throw new Error('no merchant party to own the terminals: load demo data or pass --owner');
  const actor: Actor = {
    user_id: 'system:simulator',
    username: 'simulator',
    display_name: 'Terminal simulator',
    role: 'admin',
    permissions: new Set(PERMISSIONS),
    org_id: root.id,
    merchant_id: null,
    org_scope: await subtreeOf(idb, root.id),
  };
  const fleet = database as unknown as Kysely<FleetTables>;
  const created: { id: string; serial: string }[] = [];
  for (let start = 0; start < options.count; start += IMPORT_MAX_ROWS) {
    const rows = ['serial,model,kind,owner_party_id'];
    for (let i = start; i < Math.min(options.count, start + IMPORT_MAX_ROWS); i++) {
      rows.push(`${options.prefix}${String(i).padStart(6, '0')},SIM-1,smart_pos,${owner}`);
    }
    const report = await importTerminals(fleet, actor, rows.join('\n'), { dryRun: false, now: options.now, locale: 'en' });
    if (report.errors.length > 0) throw new Error(`simulator terminals refused: ${JSON.stringify(report.errors.slice(0, 3))}`);
    created.push(...report.items);
  }
  const terminals: (SimulatedTerminal & { id: string })[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < created.length; i = next++) {
      const t = created[i]!;
      const issued = await issueActivationCode(database as never, secrets, { terminalId: t.id, createdBy: actor.user_id, now: options.now });
      terminals.push({ id: t.id, serial: t.serial, code: issued.code });
      if (terminals.length % 1000 === 0) options.onProgress?.(terminals.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { ownerPartyId: owner, terminals };
}
