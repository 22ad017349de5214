/**
 * The engine's database writes (claims, final updates, declines) as small jobs run in a
 * transaction, grouped into one durable commit per tick on SQLite (platform/db/group-writer.ts).
 */
import { groupWrite } from '../platform/db/group-writer.js';
import type { EngineDb } from './engine-rows.js';

export type WriteJob<T> = (trx: EngineDb) => Promise<T>;

/** Runs a write job durably: grouped with others on SQLite, its own transaction on PostgreSQL. */
export function write<T>(deps: { db: unknown; database: { dialect: string } }, job: WriteJob<T>): Promise<T> {
  return groupWrite<T, EngineDb>(deps, job);
}
