/**
 * Migration 0012-gateway-switch. Owned by H2 (switch link). (Stub: replace with the part's tables.)
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export function switchMigration(_dialect: Dialect): Migration {
  return {
    async up(_db: Db) {
      // tables of this part
    },
  };
}
