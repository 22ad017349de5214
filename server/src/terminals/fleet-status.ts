import { sql, type Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { revokeActivationCodes } from './activation-codes.js';
import type { CommandQueue, TerminalSharedTables, TerminalStatus } from './contracts.js';
import type { AnyKysely, FleetTables } from './fleet-tables.js';

/**
 * Remote lock, unlock and retire. The status in `terminals` is what the protocol part enforces on
 * every request; the command only tells the device at once (it shows the lock screen, or wipes
 * itself on retirement).
 *
 *   registered ─activation (protocol)→ active
 *   registered | active ─lock→ locked ─unlock→ active (registered if it was never activated)
 *   registered | active | locked ─retire→ retired (final)
 */
export const STATUS_ACTIONS = ['lock', 'unlock', 'retire'] as const;
export type StatusAction = (typeof STATUS_ACTIONS)[number];

const ALLOWED_FROM: Record<StatusAction, readonly TerminalStatus[]> = {
  lock: ['registered', 'active'],
  unlock: ['locked'],
  retire: ['registered', 'active', 'locked'],
};

/** A lock or retire command waits this long for an offline device; the status applies regardless. */
export const STATUS_COMMAND_TTL_US = 30 * 86_400 * 1_000_000;

export interface StatusChange {
  terminal_id: string;
  status: TerminalStatus;
  /** Id of the command sent to the device, or null when no device is bound yet. */
  command_id: string | null;
}

/**
 * Applies one action with one conditional UPDATE (so of two racing requests only one applies),
 * voids unused activation codes on lock and retirement (a locked terminal must not be
 * re-activated around the lock), and enqueues the command in the same transaction.
 */
export async function changeTerminalStatus(
  database: AnyKysely,
  commands: CommandQueue,
  terminalId: string,
  action: StatusAction,
  options: { reason?: string | null; now: number },
): Promise<StatusChange> {
  const db = database as Kysely<FleetTables>;
  const from = ALLOWED_FROM[action];
  return db.transaction().execute(async (trx) => {
    const target =
      action === 'unlock'
        ? sql<string>`case when activated_at is null then 'registered' else 'active' end`
        : sql<string>`${action === 'lock' ? 'locked' : 'retired'}`;
    const changed = await trx
      .updateTable('terminals')
      .set({ status: target })
      .where('id', '=', terminalId)
      .where('status', 'in', from)
      .returning(['status', 'device_public_key'])
      .executeTakeFirst();
    if (!changed) {
      const current = await trx.selectFrom('terminals').select('status').where('id', '=', terminalId).executeTakeFirst();
      throw current ? new XiaoweiError('terminal_status_conflict', current.status) : new XiaoweiError('not_found');
    }
    if (action !== 'unlock') await revokeActivationCodes(trx, terminalId, options.now);
    let commandId: string | null = null;
    if (changed.device_public_key !== null) {
      const payload: Record<string, unknown> = options.reason ? { reason: options.reason } : {};
      const [id] = await commands.enqueue(
        [{ terminal_id: terminalId, kind: action, payload, expires_at: options.now + STATUS_COMMAND_TTL_US, not_before: null }],
        trx as unknown as Kysely<TerminalSharedTables>,
      );
      commandId = id ?? null;
    }
    return { terminal_id: terminalId, status: changed.status as TerminalStatus, command_id: commandId };
  });
}
