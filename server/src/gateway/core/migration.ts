/**
 * Migration 0015-gateway-core: the core-banking adapter's one table.
 *
 * `gw_core_rejections` — ledger transfer ids the built-in ledger core (`LedgerCore`) saw rejected.
 * The ledger itself remembers every rejected transfer id (a retry gets the first rejection again)
 * but has no public lookup for it; this is a cache of those answers, written after the ledger
 * answered, so that `status(id)` can say 'rejected' rather than 'not_found', and a reversal can
 * step past an attempt that can never post (see ledger-core.ts). A row lost in a crash costs a
 * 'not_found' for a request that moved no money (or one more step for a reversal); the next
 * retry writes it.
 *
 *   transfer_id  text PK  'core:<request id>' (debit/credit) or 'core-rev:<original id>[:n]' (reversal attempt n)
 *   request_id   text     the caller's request id (for a reversal attempt: the original's)
 *   kind         text     'debit' | 'credit' | 'reversal' | 'void' (the request id was spent by a
 *                         reversal that came before it: status 'reversed')
 *   code         text     the reject code ('14' | '51' | '62' | '13'); '00' for 'void'
 *   created_at   bigint   µs
 *
 * The ISO 8583 core keeps nothing here: the host is the record (status query 0600).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export interface CoreTables {
  gw_core_rejections: {
    transfer_id: string;
    request_id: string;
    kind: 'debit' | 'credit' | 'reversal' | 'void';
    code: string;
    created_at: number;
  };
}

export function coreMigration(dialect: Dialect): Migration {
  // Request ids are compared byte for byte, whatever the database's collation.
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('gw_core_rejections')
        .addColumn('transfer_id', key, (c) => c.primaryKey())
        .addColumn('request_id', key, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
