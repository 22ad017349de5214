import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/** The qr part's tables. */
export function qrMigration(_dialect: Dialect): Migration {
  return {
    async up(_db: Db) {
      // Filled in by the qr part.
    },
  };
}
