/**
 * A row for another domain's table, written in the same transaction as the writes it describes —
 * the audit entry of a transfer, stored in the ledger's group commit beside the transfer, so one
 * commit (and on SQLite one sync) makes both durable and neither exists without the other. Table
 * and column names come from code, never from input.
 */
export interface RowNote {
  table: string;
  row: Readonly<Record<string, string | number | null>>;
}
