import type { Kysely } from 'kysely';
import { newId } from '../platform/ids.js';
import { toSafeInt } from '../platform/int.js';
import type { IdentityTables } from './tables.js';

export interface AuditEntry {
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target?: string | null;
  outcome: string;
  detail?: string | null;
  ip?: string | null;
  request_id?: string | null;
}

/** Appends to the audit log. Details must never hold a secret (callers pass ids, not values). */
export async function audit(db: Kysely<IdentityTables>, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      id: newId(),
      at: Date.now(),
      actor_id: e.actor_id,
      actor_name: e.actor_name,
      action: e.action,
      target: e.target ?? null,
      outcome: e.outcome,
      detail: e.detail ? e.detail.slice(0, 1000) : null,
      ip: e.ip ?? null,
      request_id: e.request_id ?? null,
    })
    .execute();
}

export async function listAudit(db: Kysely<IdentityTables>, q: { before?: number; limit?: number; actor_id?: string }) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(Math.min(q.limit ?? 50, 500));
  if (q.before !== undefined) query = query.where('at', '<', q.before);
  if (q.actor_id) query = query.where('actor_id', '=', q.actor_id);
  return (await query.execute()).map((r) => ({ ...r, at: toSafeInt(r.at) }));
}
