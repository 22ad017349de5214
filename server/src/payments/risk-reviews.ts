/**
 * The review queue: transactions the rules held (status 'held', code '09': terminal card sales,
 * QR payments, customer transfers) wait for a reviewer;
 * approving posts them, declining releases the funds — both through the engine's resolveHeld.
 * Who decided, when, and the note are kept in risk_reviews.
 */
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import type { Actor } from '../platform/http/actor.js';
import { toSafeInt } from '../platform/int.js';
import type { PaymentsDeps } from './deps.js';
import { requireStaffActor } from './risk-store.js';
import type { HitView } from './risk-tables.js';
import type { RiskTables } from './risk-tables.js';

type Db = Kysely<RiskTables>;

export type ReviewDecision = 'approve' | 'decline';
export type ReviewStatus = 'pending' | 'approved' | 'declined';

/** The engine's resolver (engine-held.ts#resolveHeld): posts or releases a held transaction. */
export type ResolveHeld = (
  deps: PaymentsDeps,
  txnId: string,
  decision: ReviewDecision,
  actorId: string,
) => Promise<{ changed: boolean; row: { status: string } }>;

/** A hit as stored (RiskHit, or an allow-list hit without an outcome). */

export interface ReviewView {
  id: string;
  type: string;
  status: string;
  response_code: string;
  amount: number;
  fee: number;
  org_id: string;
  merchant_party_id: string | null;
  terminal_id: string | null;
  card_last4: string | null;
  /** The payer's account (card sales: the card's; QR sales and transfers: the one paid from). */
  account_id: string | null;
  /** A transfer's payee account. */
  counter_account_id: string | null;
  created_at: number;
  risk: { outcome: string; code: string; hits: HitView[] } | null;
  review: { decision: ReviewDecision; note: string; actor_id: string; actor_name: string; status_after: string; decided_at: number } | null;
}

type TxnRow = RiskTables['pay_transactions'];
type ReviewRow = RiskTables['risk_reviews'];

function view(
  t: Pick<
    TxnRow,
    | 'id'
    | 'type'
    | 'status'
    | 'response_code'
    | 'amount'
    | 'fee'
    | 'org_id'
    | 'merchant_party_id'
    | 'terminal_id'
    | 'card_last4'
    | 'account_id'
    | 'counter_account_id'
    | 'created_at'
    | 'risk'
  >,
  r: ReviewRow | null,
): ReviewView {
  let risk: ReviewView['risk'] = null;
  if (t.risk) {
    const parsed = JSON.parse(t.risk) as { outcome: string; code: string; hits?: HitView[] };
    risk = { outcome: parsed.outcome, code: parsed.code, hits: parsed.hits ?? [] };
  }
  return {
    id: t.id,
    type: t.type,
    status: t.status,
    response_code: t.response_code,
    amount: toSafeInt(t.amount),
    fee: toSafeInt(t.fee),
    org_id: t.org_id,
    merchant_party_id: t.merchant_party_id,
    terminal_id: t.terminal_id,
    card_last4: t.card_last4,
    account_id: t.account_id,
    counter_account_id: t.counter_account_id,
    created_at: toSafeInt(t.created_at),
    risk,
    review: r
      ? {
          decision: r.decision as ReviewDecision,
          note: r.note,
          actor_id: r.actor_id,
          actor_name: r.actor_name,
          status_after: r.status_after,
          decided_at: toSafeInt(r.decided_at),
        }
      : null,
  };
}

const TXN_COLUMNS = [
  't.id',
  't.type',
  't.status',
  't.response_code',
  't.amount',
  't.fee',
  't.org_id',
  't.merchant_party_id',
  't.terminal_id',
  't.card_last4',
  't.account_id',
  't.counter_account_id',
  't.created_at',
  't.risk',
] as const;

/** Held transactions waiting (newest first), or those decided (newest decision first), in the actor's subtree. */
export async function listReviews(
  db: Db,
  actor: Actor,
  q: { status?: ReviewStatus; before?: number; limit?: number },
): Promise<{ items: ReviewView[]; next_before: number | null }> {
  requireStaffActor(actor);
  const limit = q.limit ?? 50;
  const orgs = [...actor.org_scope!];
  const status = q.status ?? 'pending';
  if (status === 'pending') {
    let query = db
      .selectFrom('pay_transactions as t')
      .select(TXN_COLUMNS)
      .where('t.status', '=', 'held')
      .where('t.org_id', 'in', orgs)
      .orderBy('t.created_at', 'desc')
      .orderBy('t.id', 'desc')
      .limit(limit);
    if (q.before !== undefined) query = query.where('t.created_at', '<', q.before);
    const items = (await query.execute()).map((t) => view(t, null));
    return { items, next_before: items.length === limit ? items[items.length - 1]!.created_at : null };
  }
  let query = db
    .selectFrom('risk_reviews as r')
    .innerJoin('pay_transactions as t', 't.id', 'r.txn_id')
    .select([
      ...TXN_COLUMNS,
      'r.txn_id',
      'r.decision',
      'r.note',
      'r.actor_id',
      'r.actor_name',
      'r.status_after',
      'r.decided_at',
      'r.org_id as r_org_id',
    ])
    .where('r.decision', '=', status === 'approved' ? 'approve' : 'decline')
    .where('r.org_id', 'in', orgs)
    .orderBy('r.decided_at', 'desc')
    .orderBy('r.txn_id', 'desc')
    .limit(limit);
  if (q.before !== undefined) query = query.where('r.decided_at', '<', q.before);
  const items = (await query.execute()).map((row) =>
    view(row, {
      txn_id: row.txn_id,
      org_id: row.r_org_id,
      decision: row.decision,
      note: row.note,
      actor_id: row.actor_id,
      actor_name: row.actor_name,
      status_after: row.status_after,
      decided_at: row.decided_at,
    }),
  );
  return { items, next_before: items.length === limit ? items[items.length - 1]!.review!.decided_at : null };
}

async function loadTxn(db: Db, actor: Actor, id: string) {
  const t = await db.selectFrom('pay_transactions as t').select(TXN_COLUMNS).where('t.id', '=', id).executeTakeFirst();
  if (!t || !actor.org_scope!.has(t.org_id)) throw new XiaoweiError('risk_review_not_found');
  return t;
}

/**
 * A reviewer's decision on a held transaction: the engine posts or releases it, then the decision
 * is recorded. Only a transaction still held can be decided; of two reviewers deciding at once,
 * the engine lets one through and the other is told the transaction is no longer pending.
 */
export async function decideReview(
  deps: PaymentsDeps,
  resolveHeld: ResolveHeld,
  actor: Actor,
  id: string,
  input: { decision: ReviewDecision; note: string },
): Promise<ReviewView> {
  requireStaffActor(actor);
  const db = deps.db as Db;
  const before = await loadTxn(db, actor, id);
  if (before.status !== 'held') throw new XiaoweiError('risk_review_not_pending', before.status);
  const resolved = await resolveHeld(deps, id, input.decision, actor.user_id);
  // Decided by someone else meanwhile, or the hold lapsed: this decision changed nothing.
  if (!resolved.changed) throw new XiaoweiError('risk_review_not_pending', resolved.row.status);
  const after = await loadTxn(db, actor, id);
  await db
    .insertInto('risk_reviews')
    .values({
      txn_id: id,
      org_id: after.org_id,
      decision: input.decision,
      note: input.note,
      actor_id: actor.user_id,
      actor_name: actor.username,
      status_after: after.status,
      decided_at: deps.now(),
    })
    .onConflict((oc) => oc.column('txn_id').doNothing())
    .execute();
  const review = await db.selectFrom('risk_reviews').selectAll().where('txn_id', '=', id).executeTakeFirstOrThrow();
  // Another reviewer's decision was recorded first: this one did not count.
  if (review.actor_id !== actor.user_id || review.decision !== input.decision)
    throw new XiaoweiError('risk_review_not_pending', `${review.decision} by ${review.actor_name}`);
  return view(after, review);
}

export type { HitView } from './risk-tables.js';
