import type { Kysely } from 'kysely';
import type { IdentityTables } from '../identity/tables.js';
import type { RegionTables } from '../identity/regions.js';
import type { TerminalSharedTables } from './contracts.js';

/** The fleet's own columns and tables on top of the shared ones (see migration.ts). */
export interface FleetOwnTables {
  terminals: TerminalSharedTables['terminals'] & {
    /** Effective heartbeat interval when a group or the terminal sets one; null = the default. */
    heartbeat_interval_s: number | null;
  };
  terminal_activation_codes: {
    id: string;
    terminal_id: string;
    code_index: string;
    created_by: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    revoked_at: number | null;
  };
}

/** Written by the protocol part (protocol-migration.ts); the fleet only reads it. */
export interface HeartbeatTable {
  terminal_heartbeats: {
    terminal_id: string;
    ts: number;
    app_versions: string | null;
    network: string | null;
    signal_dbm: number | null;
    battery: number | null;
    charging: number | null;
    lat_e6: number | null;
    lng_e6: number | null;
  };
}

/** Everything the fleet code reads or writes, for Kysely. Integers are read through platform/int. */
export type FleetTables = Omit<TerminalSharedTables, 'terminals'> &
  FleetOwnTables &
  HeartbeatTable &
  Pick<IdentityTables, 'parties' | 'organisations'> &
  RegionTables;

/**
 * A Kysely handle or transaction whatever tables its type names: the functions other parts of the
 * domain call (consumeActivationCode, effectiveParams, …) take this and narrow it to FleetTables,
 * because Kysely<Theirs> is not assignable to Kysely<Ours> even when the tables used are shared.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKysely = Kysely<any>;
