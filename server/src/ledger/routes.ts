import '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { ERRORS, XiaoweiError } from '../platform/errors.js';
import { IDEMPOTENCY_KEY, newId } from '../platform/ids.js';
import { requireActor, type AccessPolicy, type Actor } from '../platform/http/actor.js';
import { Nullable } from '../platform/http/schema-helpers.js';
import { ACCOUNT_TYPES, TRANSFER_CODES, accountType, displayBalance } from './chart.js';
import { LEDGER_CNY, TRANSFER_RESULT_TEXT, type Account, type Ledger, type Transfer } from './index.js';

const MAX_FEN = Number.MAX_SAFE_INTEGER;
const Fen = Type.Integer({ minimum: 1, maximum: MAX_FEN, description: 'Amount in fen (分), a positive integer' });
const AccountId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Micros = Type.Integer({ minimum: 0, maximum: MAX_FEN, description: 'Microseconds since the Unix epoch' });

const AccountView = Type.Object({
  id: Type.String(),
  code: Type.Integer(),
  type: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  owner_id: Type.Union([Type.String(), Type.Null()]),
  ledger: Type.Integer(),
  flags: Type.Integer(),
  balance: Type.Integer({ description: 'Posted balance in fen, signed by the account type' }),
  available: Type.Integer({ description: 'Balance less pending holds, in fen' }),
  debits_pending: Type.Integer(),
  debits_posted: Type.Integer(),
  credits_pending: Type.Integer(),
  credits_posted: Type.Integer(),
  created_at: Micros,
});

const TransferView = Type.Object({
  id: Type.String(),
  debit_account_id: Type.String(),
  credit_account_id: Type.String(),
  amount: Type.Integer(),
  pending_id: Nullable(Type.String()),
  ledger: Type.Integer(),
  code: Type.Integer(),
  flags: Type.Integer(),
  reference: Nullable(Type.String()),
  ts: Micros,
});

function accountView(a: Account): Static<typeof AccountView> {
  const balance = displayBalance(a.code, a.debits_posted, a.credits_posted);
  const normalCredit = accountType(a.code)?.normal !== 'debit';
  const held = normalCredit ? a.debits_pending : a.credits_pending;
  return {
    id: a.id,
    code: a.code,
    type: accountType(a.code)?.key ?? 'other',
    name: a.name,
    owner_id: a.owner_id,
    ledger: a.ledger,
    flags: a.flags,
    balance,
    available: balance - held,
    debits_pending: a.debits_pending,
    debits_posted: a.debits_posted,
    credits_pending: a.credits_pending,
    credits_posted: a.credits_posted,
    created_at: a.timestamp,
  };
}

function transferView(t: Transfer): Static<typeof TransferView> {
  const { id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, reference, ts } = t;
  return { id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, reference, ts };
}

/** The HTTP status POST /transfers answers for a transfer's result (undefined: committed now). */
function transferStatus(result: string | undefined): number {
  if (result === undefined) return 201;
  if (result === 'exists') return 200;
  return ERRORS[result === 'exists_with_different_fields' ? 'transfer_exists_with_different_fields' : 'transfer_rejected'].status;
}

export interface LedgerRouteDeps {
  ledger: Ledger;
  access: AccessPolicy;
}

/** HTTP API for accounts, statements and staff transfers. */
export const ledgerRoutes: FastifyPluginAsyncTypebox<LedgerRouteDeps> = async (app, { ledger, access }) => {
  const visibleAccount = async (actor: Actor, id: string): Promise<Account> => {
    const [account] = await ledger.lookupAccounts([id]);
    if (!account || !(await access.canSeeOwner(actor, account.owner_id))) throw new XiaoweiError('not_found');
    return account;
  };

  app.get('/chart', { schema: { tags: ['ledger'], summary: 'Account types and transfer codes 科目与交易码' } }, async () => ({
    account_types: ACCOUNT_TYPES,
    transfer_codes: TRANSFER_CODES,
  }));

  app.post('/accounts', {
    config: { permission: 'account:write', audit: 'account.open' },
    schema: {
      tags: ['ledger'],
      summary: 'Open an account 开户',
      body: Type.Object({
        code: Type.Integer({ enum: ACCOUNT_TYPES.map((t) => t.code) }),
        owner_id: AccountId,
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      }, { additionalProperties: false }),
      response: { 201: AccountView },
    },
  }, async (request, reply) => {
    const actor = requireActor(request);
    const { code, owner_id, name } = request.body;
    if (!(await access.canSeeOwner(actor, owner_id))) throw new XiaoweiError('validation_failed', 'owner_id must name a party or organisation you serve');
    const type = accountType(code)!;
    const id = newId();
    request.auditTarget = id;
    const failures = await ledger.createAccounts([{ id, ledger: LEDGER_CNY, code, flags: type.flags, owner_id, name: name ?? `${type.zh} ${type.en}` }]);
    if (failures.length > 0) throw new XiaoweiError('account_rejected', failures[0]!.result);
    const [account] = await ledger.lookupAccounts([id]);
    return reply.status(201).send(accountView(account!));
  });

  app.get('/accounts', {
    config: { permission: 'account:read' },
    schema: {
      tags: ['ledger'],
      summary: 'Accounts 账户列表',
      querystring: Type.Object({
        owner_id: Type.Optional(AccountId),
        code: Type.Optional(Type.Integer()),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(AccountView), total: Type.Integer() }) },
    },
  }, async (request) => {
    const actor = requireActor(request);
    const q = request.query;
    let owners = await access.visibleOwners(actor);
    if (q.owner_id) owners = owners === null || owners.includes(q.owner_id) ? [q.owner_id] : [];
    const page = await ledger.listAccounts({ owners, code: q.code, limit: q.limit, offset: q.offset });
    return { items: page.items.map(accountView), total: page.total };
  });

  app.get('/accounts/:id', {
    config: { permission: 'account:read' },
    schema: { tags: ['ledger'], summary: 'One account 账户详情', params: Type.Object({ id: AccountId }), response: { 200: AccountView } },
  }, async (request) => accountView(await visibleAccount(requireActor(request), request.params.id)));

  app.get('/accounts/:id/statement', {
    config: { permission: 'account:read' },
    schema: {
      tags: ['ledger'],
      summary: 'Account statement, newest first 对账单',
      params: Type.Object({ id: AccountId }),
      querystring: Type.Object({ before: Type.Optional(Micros), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }, { additionalProperties: false }),
    },
  }, async (request) => {
    const account = await visibleAccount(requireActor(request), request.params.id);
    const page = await ledger.statement(account.id, request.query);
    return {
      items: page.items.map((l) => ({
        ...transferView(l.transfer),
        side: l.side,
        balance_after: displayBalance(account.code, l.debits_posted_after, l.credits_posted_after),
      })),
      next_cursor: page.next_cursor,
    };
  });

  app.get('/accounts/:id/balance', {
    config: { permission: 'account:read' },
    schema: {
      tags: ['ledger'],
      summary: 'Balance at a moment 历史余额',
      params: Type.Object({ id: AccountId }),
      querystring: Type.Object({ at: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
    },
  }, async (request) => {
    const account = await visibleAccount(requireActor(request), request.params.id);
    const atMs = Date.parse(request.query.at);
    if (!Number.isFinite(atMs) || atMs < 0) throw new XiaoweiError('validation_failed', 'at must be a date-time');
    const b = await ledger.balanceAt(account.id, atMs * 1000);
    return { account_id: account.id, at: request.query.at, balance: displayBalance(account.code, b.debits_posted, b.credits_posted), last_transfer_ts: b.ts };
  });

  app.post('/transfers', {
    config: { permission: 'transfer:create', audit: 'transfer.create' },
    schema: {
      tags: ['ledger'],
      summary: 'Transfer between accounts (needs Idempotency-Key) 转账',
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
      body: Type.Object({
        debit_account_id: AccountId,
        credit_account_id: AccountId,
        amount: Fen,
        code: Type.Integer({ enum: TRANSFER_CODES.map((c) => c.code) }),
        reference: Type.Optional(Type.String({ maxLength: 256 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ transfer: TransferView, replayed: Type.Boolean() }), 201: Type.Object({ transfer: TransferView, replayed: Type.Boolean() }) },
    },
  }, async (request, reply) => {
    const actor = requireActor(request);
    const key = request.headers['idempotency-key'];
    if (!key) throw new XiaoweiError('idempotency_key_required');
    if (!IDEMPOTENCY_KEY.test(key)) throw new XiaoweiError('idempotency_key_invalid');
    request.auditTarget = key;
    const body = request.body;
    // Owners are immutable and cached by the ledger: no read per request once an account is known.
    const owners = await ledger.accountOwners([body.debit_account_id, body.credit_account_id]);
    for (const owner of owners.values()) if (!(await access.canSeeOwner(actor, owner))) throw new XiaoweiError('forbidden');
    // The commit answers with the stored transfer (for a replay the first one): nothing to read
    // afterwards. The audit entry goes into the same commit, its outcome from the answer below.
    const { failures: [failure], transfers: [transfer] } = await ledger.createTransfersReturning(
      [{ id: key, ...body, ledger: LEDGER_CNY, reference: body.reference ?? null }],
      { note: ([f]) => request.auditNote(transferStatus(f?.result)) },
    );
    request.auditStored = true;
    if (failure && failure.result !== 'exists') {
      if (failure.result === 'exists_with_different_fields') throw new XiaoweiError('transfer_exists_with_different_fields');
      const text = TRANSFER_RESULT_TEXT[failure.result];
      throw new XiaoweiError('transfer_rejected', `${failure.result} (${text.zh} / ${text.en})`, { result: failure.result, text });
    }
    return reply.status(failure ? 200 : 201).send({ transfer: transferView(transfer!), replayed: failure !== undefined });
  });

  app.get('/transfers', {
    config: { permission: 'transfer:read' },
    schema: {
      tags: ['ledger'],
      summary: 'Search transfers, newest first 交易查询',
      querystring: Type.Object({
        account_id: Type.Optional(AccountId),
        code: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        from: Type.Optional(Micros),
        to: Type.Optional(Micros),
        reference: Type.Optional(Type.String({ maxLength: 256 })),
        before: Type.Optional(Micros),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }, { additionalProperties: false }),
    },
  }, async (request) => {
    const actor = requireActor(request);
    const q = request.query;
    if (q.account_id) await visibleAccount(actor, q.account_id);
    else if ((await access.visibleOwners(actor)) !== null) throw new XiaoweiError('validation_failed', 'account_id is required for your role');
    const page = await ledger.searchTransfers(q);
    return { items: page.items.map(transferView), next_cursor: page.next_cursor };
  });

  app.get('/transfers/:id', {
    config: { permission: 'transfer:read' },
    schema: { tags: ['ledger'], summary: 'One transfer 交易详情', params: Type.Object({ id: AccountId }), response: { 200: TransferView } },
  }, async (request) => {
    const actor = requireActor(request);
    const t = await ledger.lookupTransfer(request.params.id);
    if (!t) throw new XiaoweiError('not_found');
    const [dr, cr] = await ledger.lookupAccounts([t.debit_account_id, t.credit_account_id]);
    const ok = (dr && (await access.canSeeOwner(actor, dr.owner_id))) || (cr && (await access.canSeeOwner(actor, cr.owner_id)));
    if (!ok) throw new XiaoweiError('not_found');
    return transferView(t);
  });

  app.get('/dashboard/overview', {
    config: { permission: 'dashboard:read' },
    schema: {
      tags: ['ledger'],
      summary: 'Money moved per day and balances by account type 概览',
      querystring: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366, default: 30 }) }, { additionalProperties: false }),
    },
  }, async (request) => {
    const days = request.query.days;
    const toDay = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const fromDay = new Date(Date.now() + 8 * 3600_000 - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    const [daily, byCode] = await Promise.all([ledger.dailyTotals(fromDay, toDay), ledger.balancesByCode()]);
    return {
      from: fromDay,
      to: toDay,
      daily,
      balances_by_type: byCode.map((b) => ({
        code: b.code,
        type: accountType(b.code)?.key ?? 'other',
        accounts: b.accounts,
        balance: displayBalance(b.code, b.debits_posted, b.credits_posted),
      })),
    };
  });
};

