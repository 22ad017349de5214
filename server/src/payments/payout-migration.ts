/**
 * Migration 0016-payments-core-payout. Owned by the payout part. (Stub: replace with the part's changes.)
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export function payoutMigration(_dialect: Dialect): Migration {
  return {
    async up(_db: Db) {
      // changes of this part
    },
  };
}
