import type { FastifyRequest } from 'fastify';
import { XiaoweiError } from '../errors.js';
import type { RowNote } from '../db/row-note.js';

/**
 * Who is calling, as every domain's routes see it. Built by the identity domain's auth hook;
 * other domains only read it, so they need not know how users and sessions work.
 */
export interface Actor {
  user_id: string;
  username: string;
  display_name: string;
  role: string;
  permissions: ReadonlySet<string>;
  org_id: string;
  /** For merchant, cashier, buyer and agent users: the party they act for. */
  merchant_id: string | null;
  /** Staff: the organisations whose data they may see (their org and everything under it). */
  org_scope: ReadonlySet<string> | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** What an audited route acted on, when it is not the `:id` in the path (e.g. a new id). */
    auditTarget: string | null;
    /**
     * On an audited route with a signed-in caller: the request's audit entry as a row, its outcome
     * from the HTTP status the route will answer, for the route to store in the same transaction as
     * its own writes (undefined otherwise). Once that commit has succeeded the route sets
     * `auditStored`, and the audit hook writes no second entry.
     */
    auditNote(status: number): RowNote | undefined;
    auditStored: boolean;
  }
  interface FastifyContextConfig {
    /** Permission a route needs; absent = public. */
    permission?: string;
    /** Name written to the audit log for a state-changing route. */
    audit?: string;
  }
}

export function requireActor(request: FastifyRequest): Actor {
  if (!request.actor) throw new XiaoweiError('unauthenticated');
  return request.actor;
}

/** What the identity domain tells other domains about who may see whose data. */
export interface AccessPolicy {
  /** May the actor see data owned by this party or organisation? */
  canSeeOwner(actor: Actor, ownerId: string | null): Promise<boolean>;
  /** Owner ids the actor may see, or null when the actor sees the whole bank. */
  visibleOwners(actor: Actor): Promise<string[] | null>;
}
