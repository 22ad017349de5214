/**
 * Migration 0018-payments-card-requests: exactly-once card issuance. A staff request that carries
 * an `Idempotency-Key` leaves a row here in the same transaction as its card, so a retry after a
 * lost answer (a village branch's network) returns the same card instead of issuing a second one:
 *
 *   org_id        text     the cardholder's organisation (keys are unique per organisation)
 *   client_key    text     the Idempotency-Key header
 *   card_id       text     pay_cards.id
 *   request_hash  text     SHA-256 of the request's fields (the PIN excluded: it is never kept)
 *   created_at    bigint   µs
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

export interface CardRequestTables {
  pay_card_requests: { org_id: string; client_key: string; card_id: string; request_hash: string; created_at: number };
}

export function cardRequestMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createTable('pay_card_requests')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('client_key', 'text', (c) => c.notNull())
        .addColumn('card_id', 'text', (c) => c.notNull().references('pay_cards.id'))
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pay_card_requests_pk', ['org_id', 'client_key'])
        .execute();
    },
  };
}
