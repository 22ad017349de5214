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

function row(e: AuditEntry): IdentityTables['audit_log'] {
  return {
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
  };
}

/** Rows per insert statement (10 columns each, well under SQLite's bound-parameter limit). */
const AUDIT_CHUNK = 500;

/**
 * The audit log writer. Entries written in the same tick share one durable insert, so a busy
 * counter costs one disk flush per batch rather than one per action; each caller's promise
 * resolves once its entry is stored. Details must never hold a secret (pass ids, not values).
 */
export class AuditLog {
  private queue: { row: IdentityTables['audit_log']; done: (error?: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly db: Kysely<IdentityTables>) {}

  write(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row: row(entry), done: (error) => (error ? reject(error instanceof Error ? error : new Error('audit write failed', { cause: error })) : resolve()) });
      if (!this.flushing) this.flushing = new Promise((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, AUDIT_CHUNK);
      try {
        await this.db.insertInto('audit_log').values(batch.map((b) => b.row)).execute();
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.done(error);
      }
    }
    this.flushing = undefined;
  }
}

export async function listAudit(db: Kysely<IdentityTables>, q: { before?: number; limit?: number; actor_id?: string }) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(Math.min(q.limit ?? 50, 500));
  if (q.before !== undefined) query = query.where('at', '<', q.before);
  if (q.actor_id) query = query.where('actor_id', '=', q.actor_id);
  return (await query.execute()).map((r) => ({ ...r, at: toSafeInt(r.at) }));
}
