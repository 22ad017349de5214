import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { RowNote } from '../platform/db/row-note.js';
import { WalSync } from '../platform/db/wal-sync.js';
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

/** An entry as a row for another domain's transaction (the ledger's group commit), so it commits with the action. */
export function auditRowNote(e: AuditEntry): RowNote {
  return { table: 'audit_log', row: row(e) };
}

/** Rows per insert statement (10 columns each, well under SQLite's bound-parameter limit). */
const AUDIT_CHUNK = 500;

type AuditRow = IdentityTables['audit_log'];

/**
 * The audit log writer. Entries written in the same tick share one durable insert, so a busy
 * counter costs one disk flush per batch rather than one per action; each caller's promise
 * resolves once its entry is stored. Details must never hold a secret (pass ids, not values).
 *
 * On SQLite (given the raw connection) the insert commits without a sync of its own and waits for
 * the shared WAL sync (ADR 0011), the one the ledger's group commit waits for too: a transfer and
 * its audit entry cost the disk one sync between them, off the event loop.
 */
export class AuditLog {
  private queue: { row: AuditRow; done: (error?: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private readonly wal: WalSync | undefined;
  private readonly insertMany: ((rows: readonly AuditRow[]) => void) | undefined;

  constructor(
    private readonly db: Kysely<IdentityTables>,
    private readonly raw?: BetterSqlite3.Database,
  ) {
    this.wal = raw ? WalSync.of(raw) : undefined;
    if (raw && this.wal) {
      const insert = raw.prepare(
        'insert into audit_log (id, at, actor_id, actor_name, action, target, outcome, detail, ip, request_id) values (?,?,?,?,?,?,?,?,?,?)',
      );
      this.insertMany = raw.transaction((rows: readonly AuditRow[]) => {
        for (const r of rows) insert.run(r.id, r.at, r.actor_id, r.actor_name, r.action, r.target, r.outcome, r.detail, r.ip, r.request_id);
      });
    }
  }

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
        const { wal, insertMany, raw } = this;
        // A Kysely transaction open on the connection (between its awaits) owns it: go through Kysely, which waits for it.
        if (wal && insertMany && raw && !raw.inTransaction) {
          const rows = batch.map((b) => b.row);
          wal.unsynced(() => insertMany(rows));
          await wal.durable();
        } else {
          await this.db.insertInto('audit_log').values(batch.map((b) => b.row)).execute();
        }
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
