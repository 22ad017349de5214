import type BetterSqlite3 from 'better-sqlite3';
import type { IdentityTables } from './tables.js';

/** The audit log's operation for the SQLite writer thread (platform/db/sqlite-writer.ts). */
export function sqliteOperations(db: BetterSqlite3.Database) {
  const insert = db.prepare(
    `insert into audit_log (id, at, actor_id, actor_name, action, target, outcome, detail, ip, request_id)
     values (@id, @at, @actor_id, @actor_name, @action, @target, @outcome, @detail, @ip, @request_id)`,
  );
  return {
    'audit.append': (rows: IdentityTables['audit_log'][]) => {
      for (const row of rows) insert.run(row);
      return rows.length;
    },
  };
}
