/**
 * A ready payments world for the payments parts' tests (not a test itself): a fee plan, an
 * enrolled merchant with its ledger accounts, customers with funded deposit accounts and cards
 * of known PAN and PIN, and a terminal of the merchant activated and signed on through the real
 * protocol (a listening server), with a cashier (01) and a supervisor (02). Everything but the
 * terminal goes through the parts' functions, so a world costs well under a second.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { AddressInfo } from 'node:net';
import { openBlob, parseBlob } from '../crypto/handles.js';
import { createParty } from '../identity/parties.js';
import type { IdentityTables } from '../identity/tables.js';
import { LEDGER_CNY, accountType, displayBalance } from '../ledger/index.js';
import type { Secrets } from '../platform/secrets.js';
import { BANK_ACCOUNTS } from '../seed/bootstrap.js';
import { TerminalClient, generateDeviceKey } from '../terminals/client.js';
import { createOperator } from '../terminals/operators.js';
import type { ProtocolTables } from '../terminals/protocol-migration.js';
import { makePinBlock } from './card-access.js';
import { issueCard } from './cards.js';
import type { FeePlan } from './contracts.js';
import type { PaymentsDeps } from './deps.js';
import type { TerminalRequest } from './engine.js';
import { createFeePlan, type FeePlanInput } from './fee-plans.js';
import type { Payments } from './index.js';
import { enrolMerchant, type LoadedMerchant, type SettlementCycle } from './merchants.js';

/**
 * What the world needs of the test harness (test/harness.ts's `Harness` has all of it; named
 * structurally so this file imports nothing from test/ and builds with the server).
 */
export interface WorldHarness {
  app: FastifyInstance;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  secrets: Secrets;
  bankId: string;
  adminToken: string;
  payments: Payments;
}

export const CASHIER = { operatorNo: '01', password: 'Cashier-2026', name: '收银员小王' } as const;
export const SUPERVISOR = { operatorNo: '02', password: 'Supervisor-2026', name: '店长老李' } as const;
/** The PIN of every world card unless `pin` says otherwise (not trivial, so issuance accepts it). */
export const WORLD_PIN = '147258';

export interface WorldOptions {
  /** Customers, each with a funded account and a card (default 1). */
  customers?: number;
  /** Opening balance of each customer account, fen (default ¥10,000). */
  balance?: number;
  /** Fee plan numbers (default 0.38 %, no min/max/fixed). */
  feePlan?: Partial<FeePlanInput>;
  mcc?: string;
  settlementCycle?: SettlementCycle;
  /** Organisation of the merchant and the customers (default the bank). */
  orgId?: string;
  pin?: string;
  cardLimits?: { daily_limit?: number; per_txn_limit?: number };
  /** Who is signed on at the terminal at the end (default the cashier). */
  signedOn?: 'cashier' | 'supervisor' | null;
}

export interface WorldCard {
  id: string;
  pan: string;
  expiry: string;
  pin: string;
  token: string;
  last4: string;
}

export interface WorldCustomer {
  partyId: string;
  accountId: string;
  card: WorldCard;
}

export interface WorldTerminal {
  id: string;
  serial: string;
  client: TerminalClient;
  signOnCashier: () => Promise<void>;
  signOnSupervisor: () => Promise<void>;
  /** The hex of the terminal's current session PIN key (it changes at every sign-on). */
  pinKeyHex: () => Promise<string>;
  /** A format 4 PIN block (32 hex) under the current session PIN key; defaults: the world card. */
  pinBlock: (pin?: string, pan?: string) => Promise<string>;
}

export interface PaymentsWorld {
  deps: PaymentsDeps;
  baseUrl: string;
  orgId: string;
  feePlan: FeePlan;
  merchant: { partyId: string; receivable: string; settlement: string; row: LoadedMerchant };
  customer: { partyId: string };
  customerAccount: string;
  card: WorldCard;
  customers: WorldCustomer[];
  /** The first terminal's client, signed on (cashier by default). */
  terminal: TerminalClient;
  terminalId: string;
  /** The session PIN key hex at the end of setup (see `terminals[0].pinKeyHex()` after a re-sign-on). */
  pinKeyHex: string;
  pinBlock: (pin?: string, pan?: string) => Promise<string>;
  signOnCashier: () => Promise<void>;
  signOnSupervisor: () => Promise<void>;
  terminals: WorldTerminal[];
  /** Another terminal of the same merchant, activated and signed on (cashier). */
  addTerminal: () => Promise<WorldTerminal>;
  /** A ledger account's balance as its owner sees it (fen). */
  balanceOf: (accountId: string) => Promise<number>;
}

let worldCounter = 0;

/**
 * A request of the world's first terminal for calling the engine directly, as its routes build one
 * after the MAC check: the terminal's session, `operatorId` ('op-test' unless given), sequence 1.
 */
export function engineRequest(
  w: Pick<PaymentsWorld, 'terminalId' | 'merchant' | 'orgId' | 'terminal'>,
  operatorId: string | null = 'op-test',
): TerminalRequest {
  return {
    terminal: {
      terminal_id: w.terminalId,
      serial: '',
      owner_party_id: w.merchant.partyId,
      org_id: w.orgId,
      group_ids: [],
      session_id: w.terminal.session!.sessionId,
      operator: null,
    },
    operatorId,
    seq: 1,
  };
}

/** The listening origin of the harness's app (starts listening on a free port when needed). */
export async function listeningBase(h: WorldHarness): Promise<string> {
  if (!h.app.server.listening) await h.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
}

/** The clear session PIN key of a sign-on session, hex — a test's view into the HSM, nothing more. */
export async function sessionPinKeyHex(h: WorldHarness, sessionId: string): Promise<string> {
  const row = await (h.db as unknown as Kysely<ProtocolTables>)
    .selectFrom('terminal_sessions')
    .select('pin_key')
    .where('id', '=', sessionId)
    .executeTakeFirstOrThrow();
  const parsed = parseBlob(row.pin_key);
  const key = openBlob(h.secrets.deriveKey(`crypto:lmk:v${parsed.labels.lmkVersion}`), parsed);
  return key.toString('hex');
}

async function staff(h: WorldHarness, method: 'POST' | 'GET', url: string, payload?: object): Promise<Record<string, unknown>> {
  const res = await h.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { authorization: `Bearer ${h.adminToken}` },
    ...(payload ? { payload } : {}),
  });
  if (res.statusCode >= 300) throw new Error(`world: ${method} ${url} answered ${res.statusCode}: ${res.body}`);
  return res.json<Record<string, unknown>>();
}

export async function setupPaymentsWorld(h: WorldHarness, opts: WorldOptions = {}): Promise<PaymentsWorld> {
  const n = ++worldCounter;
  const deps = h.payments.deps;
  const now = deps.now;
  const orgId = opts.orgId ?? h.bankId;
  const idb = h.db as Kysely<IdentityTables>;
  const baseUrl = await listeningBase(h);

  const feePlan = await createFeePlan(
    deps.db,
    orgId,
    { name: `测试费率 ${process.pid}-${n}`, rate_bp: 38, min_fee: 0, max_fee: null, fixed_fee: 0, ...opts.feePlan },
    now(),
  );
  const merchantParty = await createParty(idb, h.secrets, { kind: 'business', name: `测试商户${n}`, roles: ['merchant'], org_id: orgId });
  const { merchant } = await enrolMerchant(
    deps,
    { party_id: merchantParty.id, mcc: opts.mcc ?? '5411', fee_plan_id: feePlan.id, settlement_cycle: opts.settlementCycle ?? 'T1' },
    now(),
  );

  const deposit = accountType(2001)!;
  const balance = opts.balance ?? 1_000_000;
  const customers: WorldCustomer[] = [];
  for (let i = 0; i < (opts.customers ?? 1); i++) {
    const party = await createParty(idb, h.secrets, { kind: 'person', name: `测试客户${n}-${i + 1}`, roles: ['customer'], org_id: orgId });
    const accountId = `${party.id}:2001`;
    const failed = await deps.ledger.createAccounts([
      {
        id: accountId,
        ledger: LEDGER_CNY,
        code: deposit.code,
        flags: deposit.flags,
        owner_id: party.id,
        name: `${deposit.zh} ${deposit.en}`,
      },
    ]);
    if (failed.length > 0) throw new Error(`world: account ${accountId}: ${failed[0]!.result}`);
    if (balance > 0) {
      const bad = await deps.ledger.createTransfers([
        {
          id: `fund:${accountId}`,
          ledger: LEDGER_CNY,
          code: 2,
          debit_account_id: BANK_ACCOUNTS.settlement,
          credit_account_id: accountId,
          amount: balance,
          reference: 'test-world',
        },
      ]);
      if (bad.length > 0) throw new Error(`world: funding ${accountId}: ${bad[0]!.result}`);
    }
    const pin = opts.pin ?? WORLD_PIN;
    const issued = await issueCard(deps, { party_id: party.id, account_id: accountId, pin, ...opts.cardLimits });
    customers.push({
      partyId: party.id,
      accountId,
      card: { id: issued.card.id, pan: issued.pan, expiry: issued.card.expiry, pin, token: issued.card.token, last4: issued.card.last4 },
    });
  }

  const pdb = h.db as unknown as Kysely<ProtocolTables>;
  const operatorCount = await pdb.selectFrom('terminal_operators').select('id').where('owner_party_id', '=', merchantParty.id).execute();
  if (operatorCount.length === 0) {
    await createOperator(
      pdb,
      {
        owner_party_id: merchantParty.id,
        operator_no: CASHIER.operatorNo,
        name: CASHIER.name,
        role: 'cashier',
        password: CASHIER.password,
      },
      now(),
    );
    await createOperator(
      pdb,
      {
        owner_party_id: merchantParty.id,
        operator_no: SUPERVISOR.operatorNo,
        name: SUPERVISOR.name,
        role: 'supervisor',
        password: SUPERVISOR.password,
      },
      now(),
    );
  }

  const card0 = customers[0]!.card;
  const addTerminal = async (signedOn: WorldOptions['signedOn'] = 'cashier'): Promise<WorldTerminal> => {
    const serial = `PAY${String(process.pid % 100_000).padStart(5, '0')}${String(n).padStart(4, '0')}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const created = await staff(h, 'POST', '/terminals', { serial, model: 'P30', kind: 'smart_pos', owner_party_id: merchantParty.id });
    const id = created.id as string;
    const code = (await staff(h, 'POST', `/terminals/${id}/activation-codes`, {})).code as string;
    const client = new TerminalClient({ baseUrl });
    await client.activate(code, serial, await generateDeviceKey());
    await client.signOn();
    const pinKeyHex = async (): Promise<string> => sessionPinKeyHex(h, client.session!.sessionId);
    const t: WorldTerminal = {
      id,
      serial,
      client,
      signOnCashier: async () => void (await client.operatorSignOn(CASHIER.operatorNo, CASHIER.password)),
      signOnSupervisor: async () => void (await client.operatorSignOn(SUPERVISOR.operatorNo, SUPERVISOR.password)),
      pinKeyHex,
      pinBlock: async (pin = card0.pin, pan = card0.pan) => makePinBlock(pin, pan, await pinKeyHex()),
    };
    if (signedOn === 'cashier') await t.signOnCashier();
    if (signedOn === 'supervisor') await t.signOnSupervisor();
    return t;
  };
  const first = await addTerminal(opts.signedOn === undefined ? 'cashier' : opts.signedOn);
  const terminals = [first];

  return {
    deps,
    baseUrl,
    orgId,
    feePlan,
    merchant: {
      partyId: merchantParty.id,
      receivable: merchant.receivable_account_id,
      settlement: merchant.settlement_account_id,
      row: merchant,
    },
    customer: { partyId: customers[0]!.partyId },
    customerAccount: customers[0]!.accountId,
    card: card0,
    customers,
    terminal: first.client,
    terminalId: first.id,
    pinKeyHex: await first.pinKeyHex(),
    pinBlock: first.pinBlock,
    signOnCashier: first.signOnCashier,
    signOnSupervisor: first.signOnSupervisor,
    terminals,
    async addTerminal() {
      const t = await addTerminal('cashier');
      terminals.push(t);
      return t;
    },
    async balanceOf(accountId) {
      const [a] = await deps.ledger.lookupAccounts([accountId]);
      if (!a) throw new Error(`no account ${accountId}`);
      return displayBalance(a.code, a.debits_posted, a.credits_posted);
    },
  };
}
