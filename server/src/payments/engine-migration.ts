/**
 * The engine part's tables.
 *
 * `pay_batch_lines` — the lines a terminal uploaded (批上送) after a batch close that did not
 * balance. One row per uploaded line; read by reconciliation, which compares them with the host's
 * transactions of the same batch (`pay_transactions.batch_id = batch_id`):
 *
 *   id           text PK      newId()
 *   batch_id     text         pay_batches.id (the closed batch; its result is then 'uploaded')
 *   terminal_id  text         pay_batches.terminal_id
 *   batch_no     integer      pay_batches.batch_no
 *   line_no      integer      0-based position in the upload; unique per batch
 *   client_id    text         the terminal's client id of the transaction (pay_transactions.client_id,
 *                             with client_scope = terminal_id)
 *   type         text         TxnType as the terminal recorded it (sale, void, refund, completion, …)
 *   amount       bigint       fen, as the terminal recorded it
 *   txn_id       text | null  the host transaction with that (terminal, client id) when the upload
 *                             arrived; null = missing on host
 *   uploaded_at  bigint       µs
 *
 * A batch is uploaded once (the first upload wins; a retry with the same clientId gets the same
 * answer, another upload of a batch already uploaded is refused).
 *
 * `pay_engine_requests` — exactly-once for the terminal's non-transaction requests (batch close,
 * batch upload): (terminal_id, client_id) unique, the request hash and the first reply.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export interface EngineTables {
  pay_batch_lines: {
    id: string;
    batch_id: string;
    terminal_id: string;
    batch_no: number;
    line_no: number;
    client_id: string;
    type: string;
    amount: number;
    txn_id: string | null;
    uploaded_at: number;
  };
  pay_engine_requests: {
    terminal_id: string;
    client_id: string;
    kind: 'batch_close' | 'batch_upload';
    request_hash: string;
    reply: string;
    created_at: number;
  };
}

export function engineMigration(dialect: Dialect): Migration {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pay_batch_lines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('batch_id', 'text', (c) => c.notNull().references('pay_batches.id'))
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('batch_no', 'integer', (c) => c.notNull())
        .addColumn('line_no', 'integer', (c) => c.notNull())
        .addColumn('client_id', key, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('txn_id', key)
        .addColumn('uploaded_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pay_batch_lines_line').on('pay_batch_lines').columns(['batch_id', 'line_no']).unique().execute();

      await db.schema
        .createTable('pay_engine_requests')
        .addColumn('terminal_id', key, (c) => c.notNull())
        .addColumn('client_id', key, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('reply', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pay_engine_requests_pk', ['terminal_id', 'client_id'])
        .execute();
    },
  };
}
