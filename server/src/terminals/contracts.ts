/**
 * What the parts of the terminals domain promise each other (fleet, protocol, apps and rollouts).
 * Tables named here are shared inside the domain; other domains use the exported functions only.
 * Timestamps are microseconds since the epoch, like the ledger's.
 */
import type { Kysely } from 'kysely';

/** `pos`: a conventional POS terminal speaking ISO 8583 to the acquirer host (gateway/acquirer), not the JSON protocol. */
export const TERMINAL_KINDS = ['smart_pos', 'tablet', 'phone', 'pos'] as const;
export type TerminalKind = (typeof TERMINAL_KINDS)[number];

export const TERMINAL_STATUSES = ['registered', 'active', 'locked', 'retired'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** The terminal a MAC-verified request comes from, as `request.terminal`. */
export interface TerminalPrincipal {
  terminal_id: string;
  serial: string;
  /** The merchant (or service point) party the terminal acts for; it acts for no one else. */
  owner_party_id: string;
  org_id: string;
  group_ids: readonly string[];
  /** The sign-on session whose keys verified the request. */
  session_id: string;
  /** The operator signed on at the terminal, if any. */
  operator: { id: string; operator_no: string; role: 'cashier' | 'supervisor' } | null;
}

export const COMMAND_KINDS = ['update_available', 'parameters', 'lock', 'unlock', 'retire', 'message'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface CommandInput {
  terminal_id: string;
  kind: CommandKind;
  /** JSON-serialisable; never a secret. */
  payload: Record<string, unknown>;
  /** After this the command is not delivered (µs). */
  expires_at: number;
  /** Held until this time, e.g. the start of a group's maintenance window (µs). */
  not_before?: number | null;
}

/** The durable command queue: the source of truth; push only wakes terminals to fetch. */
export interface CommandQueue {
  /** Stores the commands (inside `trx` when given) and wakes the terminals after commit. */
  enqueue(items: readonly CommandInput[], trx?: Kysely<TerminalSharedTables>): Promise<string[]>;
}

/** Tables more than one part of the domain reads. Each part may have more of its own. */
export interface TerminalSharedTables {
  terminals: {
    id: string;
    serial: string;
    model: string;
    kind: string;
    status: string;
    owner_party_id: string;
    org_id: string;
    region_code: string | null;
    /** Coordinates in millionths of a degree (integers; no floats in the schema). */
    lat_e6: number | null;
    lng_e6: number | null;
    tags: string; // JSON array of strings
    params: string; // JSON object: this terminal's own parameters (group parameters apply below them)
    device_public_key: string | null; // Ed25519, raw, base64url; set at activation
    activated_at: number | null;
    last_seen_at: number | null;
    created_at: number;
  };
  terminal_groups: {
    id: string;
    org_id: string;
    name: string;
    params: string; // JSON object
    /** 'HH:MM-HH:MM' in the bank's local time (Asia/Shanghai), or null for any time. */
    maintenance_window: string | null;
    created_at: number;
  };
  terminal_group_members: { group_id: string; terminal_id: string };
  terminal_commands: {
    id: string;
    terminal_id: string;
    kind: string;
    payload: string; // JSON
    created_at: number;
    not_before: number | null;
    expires_at: number;
    status: string; // 'pending' | 'acked' | 'expired' | 'cancelled'
    acked_at: number | null;
    result: string | null; // JSON the terminal sent with its acknowledgement
  };
}
