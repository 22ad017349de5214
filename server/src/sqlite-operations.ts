/**
 * Modules whose operations run on the SQLite writer thread (platform/db/sqlite-writer.ts). Each
 * exports `sqliteOperations(db)`. Listed here, at the top, because the platform must not import
 * domains. Resolved next to this file, so it works from sources (.ts) and from dist (.js).
 */
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

export const SQLITE_OPERATION_MODULES: readonly string[] = [
  new URL(`./ledger/sqlite-operations.${ext}`, import.meta.url).href,
  new URL(`./identity/audit-sqlite.${ext}`, import.meta.url).href,
];
