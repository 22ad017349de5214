/**
 * Migration 0013-gateway-acquirer. Owned by H3 (acquirer host). (Stub: replace with the part's tables.)
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export function acquirerMigration(_dialect: Dialect): Migration {
  return {
    async up(_db: Db) {
      // tables of this part
    },
  };
}
