import type { Kysely } from 'kysely';
import { toSafeInt, toSafeIntOrNull } from '../platform/int.js';
import type { HeartbeatView } from './fleet.js';
import type { FleetTables } from './fleet-tables.js';

/**
 * Heartbeat history, read-only: the protocol part writes `terminal_heartbeats` as terminals
 * report (protocol-migration.ts); the fleet shows it to staff.
 */
function appVersions(text: string | null): Record<string, string> | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return null;
  }
}

function toView(r: FleetTables['terminal_heartbeats']): HeartbeatView {
  return {
    ts: toSafeInt(r.ts),
    app_versions: appVersions(r.app_versions),
    network: r.network,
    signal_dbm: toSafeIntOrNull(r.signal_dbm),
    battery: toSafeIntOrNull(r.battery),
    charging: r.charging === null ? null : toSafeInt(r.charging) !== 0,
    lat_e6: toSafeIntOrNull(r.lat_e6),
    lng_e6: toSafeIntOrNull(r.lng_e6),
  };
}

/** A terminal's heartbeats, newest first. */
export async function listHeartbeats(
  db: Kysely<FleetTables>,
  terminalId: string,
  q: { limit?: number; before?: number },
): Promise<HeartbeatView[]> {
  let query = db
    .selectFrom('terminal_heartbeats')
    .select(['terminal_id', 'ts', 'app_versions', 'network', 'signal_dbm', 'battery', 'charging', 'lat_e6', 'lng_e6'])
    .where('terminal_id', '=', terminalId)
    .orderBy('ts', 'desc')
    .limit(Math.min(q.limit ?? 100, 1_000));
  if (q.before !== undefined) query = query.where('ts', '<', q.before);
  return (await query.execute()).map(toView);
}

export async function lastHeartbeat(db: Kysely<FleetTables>, terminalId: string): Promise<HeartbeatView | null> {
  return (await listHeartbeats(db, terminalId, { limit: 1 }))[0] ?? null;
}
