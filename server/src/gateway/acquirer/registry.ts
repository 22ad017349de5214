/**
 * Conventional POS terminals as the acquirer host knows them: registration of a platform
 * terminal of kind 'pos' with its field 41/42 numbers and its terminal master key (TMK), re-keying,
 * and the staff views. The TMK is formed inside the crypto service from clear components — the
 * custodians' components, or two the host draws and answers once for the key-loading device.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isCryptoError, type KeyHandle } from '../../crypto/index.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { fixParity, toHex } from '../../crypto/primitives.js';
import { scopeHas } from '../../identity/access.js';
import type { IdentityTables } from '../../identity/tables.js';
import { loadMerchant } from '../../payments/merchants.js';
import { XiaoweiError } from '../../platform/errors.js';
import type { Actor } from '../../platform/http/actor.js';
import { toSafeInt, toSafeIntOrNull } from '../../platform/int.js';
import { visibleTerminal } from '../../terminals/fleet.js';
import type { FleetTables } from '../../terminals/fleet-tables.js';
import type { GatewayDeps } from '../deps.js';
import { pinModeColumns, type PinMode } from './dukpt.js';
import type { AcquirerTables } from './migration.js';
import { posTerminalChanged } from './session-events.js';

export type AcquirerDb = Kysely<AcquirerTables>;
export type PosTerminalRow = AcquirerTables['pos_terminals'];
export type PosSessionRow = AcquirerTables['pos_sessions'];

export const TID_PATTERN = '^[0-9A-Za-z]{8}$';
export const MID_PATTERN = '^[0-9A-Za-z]{15}$';
/** One TDES2 component, 32 hex digits. */
export const COMPONENT_PATTERN = '^[0-9A-Fa-f]{32}$';

export interface PosTerminalView {
  terminal_id: string;
  tid: string;
  mid: string;
  owner_party_id: string;
  org_id: string;
  tmk_kcv: string;
  status: 'active' | 'disabled';
  /** How the terminal's PIN blocks are keyed (dukpt.ts), and the BDK of a DUKPT mode. */
  pin_mode: PinMode;
  bdk: string | null;
  session: { id: string; batch_no: number; signed_on_at: number } | null;
  created_at: number;
  updated_at: number;
}

/** Clear TMK components the host drew: answered once, never stored. */
export interface IssuedComponent {
  component: string;
  kcv: string;
}

export const toPosTerminalRow = (r: PosTerminalRow): PosTerminalRow => ({ ...r, created_at: toSafeInt(r.created_at), updated_at: toSafeInt(r.updated_at) });
export const toPosSessionRow = (r: PosSessionRow): PosSessionRow => ({
  ...r,
  batch_no: toSafeInt(r.batch_no),
  signed_on_at: toSafeInt(r.signed_on_at),
  closed_at: toSafeIntOrNull(r.closed_at),
});

const db = (deps: GatewayDeps): AcquirerDb => deps.db as AcquirerDb;

/**
 * Forms the TMK: from the custodians' components (2 or 3, XORed inside the crypto service), or
 * from two components drawn here with odd parity, which the caller answers once.
 */
async function formTmk(deps: GatewayDeps, components: readonly string[] | undefined): Promise<{ tmk: KeyHandle; issued?: IssuedComponent[] }> {
  try {
    if (components) return { tmk: await deps.crypto.importComponents('TMK', 'TDES2', components) };
    for (;;) {
      const parts = [fixParity(randomBytes(16)), fixParity(randomBytes(16))];
      try {
        const tmk = await deps.crypto.importComponents('TMK', 'TDES2', parts.map(toHex));
        return { tmk, issued: parts.map((p) => ({ component: toHex(p), kcv: keyCheckValue('TDES2', p) })) };
      } catch (error) {
        // Two components whose XOR has equal halves (2^-56): draw again.
        if (!(isCryptoError(error) && error.code === 'key_invalid')) throw error;
      } finally {
        for (const p of parts) p.fill(0);
      }
    }
  } catch (error) {
    // The crypto service's own message is English and internal: name the problem in both languages.
    if (isCryptoError(error)) throw new XiaoweiError('pos_tmk_invalid', error.code === 'key_invalid' ? '弱密钥或长度不符 weak key or wrong length' : error.code);
    throw error;
  }
}

/** A merchant number for a terminal registered without one: '898', the MCC and 8 digits of a hash of the merchant's party id (the same for all its terminals). */
function defaultMid(mcc: string, partyId: string): string {
  const n = createHash('sha256').update(partyId).digest().readUInt32BE(0) % 100_000_000;
  return `898${mcc}${String(n).padStart(8, '0')}`;
}

async function sessionOf(deps: GatewayDeps, row: PosTerminalRow): Promise<PosTerminalView['session']> {
  if (!row.current_session_id) return null;
  const s = await db(deps).selectFrom('pos_sessions').selectAll().where('id', '=', row.current_session_id).executeTakeFirst();
  if (!s || s.closed_at !== null) return null;
  const session = toPosSessionRow(s);
  return { id: session.id, batch_no: session.batch_no, signed_on_at: session.signed_on_at };
}

export async function posTerminalView(deps: GatewayDeps, r: PosTerminalRow): Promise<PosTerminalView> {
  const row = toPosTerminalRow(r);
  return {
    terminal_id: row.terminal_id,
    tid: row.tid,
    mid: row.mid,
    owner_party_id: row.owner_party_id,
    org_id: row.org_id,
    tmk_kcv: row.tmk_kcv,
    status: row.status,
    pin_mode: row.pin_mode,
    bdk: row.bdk_name,
    session: await sessionOf(deps, row),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export interface RegisterInput {
  terminal_id: string;
  tid: string;
  mid?: string | undefined;
  tmk_components?: string[] | undefined;
  pin_mode?: PinMode | undefined;
  bdk?: string | undefined;
}

/** Registers a platform terminal of kind 'pos' for the ISO 8583 host and forms its TMK. */
export async function registerPosTerminal(deps: GatewayDeps, actor: Actor, input: RegisterInput): Promise<{ view: PosTerminalView; issued?: IssuedComponent[] }> {
  const terminal = await visibleTerminal(deps.db as Kysely<FleetTables>, actor, input.terminal_id).catch(() => {
    throw new XiaoweiError('pos_terminal_invalid', input.terminal_id.slice(0, 64));
  });
  if (terminal.kind !== 'pos' || terminal.status === 'retired') throw new XiaoweiError('pos_terminal_invalid', `${terminal.kind}/${terminal.status}`);
  const merchant = await loadMerchant(deps.db as Kysely<unknown>, terminal.owner_party_id);
  if (!merchant || merchant.status === 'closed') throw new XiaoweiError('pos_owner_not_merchant');
  const d = db(deps);
  if (await d.selectFrom('pos_terminals').select('terminal_id').where('terminal_id', '=', terminal.id).executeTakeFirst()) throw new XiaoweiError('pos_terminal_exists');
  if (await d.selectFrom('pos_terminals').select('terminal_id').where('tid', '=', input.tid).executeTakeFirst()) throw new XiaoweiError('pos_tid_exists', input.tid);
  const pin = await pinModeColumns(deps, input.pin_mode, input.bdk);
  const { tmk, issued } = await formTmk(deps, input.tmk_components);
  const now = deps.now();
  const row: PosTerminalRow = {
    ...pin,
    terminal_id: terminal.id,
    tid: input.tid,
    mid: input.mid ?? defaultMid(merchant.mcc, merchant.party_id),
    owner_party_id: terminal.owner_party_id,
    org_id: terminal.org_id,
    tmk: tmk.blob,
    tmk_kcv: tmk.kcv,
    status: 'active',
    current_session_id: null,
    created_at: now,
    updated_at: now,
  };
  try {
    await d.insertInto('pos_terminals').values(row).execute();
  } catch (error) {
    // Two registrations at once: the unique keys decide.
    if (await d.selectFrom('pos_terminals').select('terminal_id').where('terminal_id', '=', terminal.id).executeTakeFirst()) throw new XiaoweiError('pos_terminal_exists');
    if (await d.selectFrom('pos_terminals').select('terminal_id').where('tid', '=', input.tid).executeTakeFirst()) throw new XiaoweiError('pos_tid_exists', input.tid);
    throw error;
  }
  return { view: await posTerminalView(deps, row), ...(issued ? { issued } : {}) };
}

/** The registered terminal if the actor may see it, else pos_terminal_not_found. */
export async function visiblePosTerminal(deps: GatewayDeps, actor: Actor, terminalId: string): Promise<PosTerminalRow> {
  const row = await db(deps).selectFrom('pos_terminals').selectAll().where('terminal_id', '=', terminalId).executeTakeFirst();
  if (!row || !(await visibleTo(deps, actor, row))) throw new XiaoweiError('pos_terminal_not_found');
  return toPosTerminalRow(row);
}

async function visibleTo(deps: GatewayDeps, actor: Actor, row: Pick<PosTerminalRow, 'org_id' | 'owner_party_id'>): Promise<boolean> {
  if (actor.org_scope === null) return actor.merchant_id !== null && actor.merchant_id === row.owner_party_id;
  return scopeHas(deps.db as Kysely<IdentityTables>, actor, row.org_id);
}

/**
 * A new TMK for a registered terminal. The open session (its working keys came under the old
 * TMK) is closed: the terminal must sign on again once the new key is loaded.
 */
export async function rekeyPosTerminal(deps: GatewayDeps, actor: Actor, terminalId: string, components: string[] | undefined): Promise<{ view: PosTerminalView; issued?: IssuedComponent[] }> {
  const row = await visiblePosTerminal(deps, actor, terminalId);
  const { tmk, issued } = await formTmk(deps, components);
  const now = deps.now();
  await db(deps)
    .transaction()
    .execute(async (trx) => {
      await trx.updateTable('pos_terminals').set({ tmk: tmk.blob, tmk_kcv: tmk.kcv, current_session_id: null, updated_at: now }).where('terminal_id', '=', row.terminal_id).execute();
      await trx.updateTable('pos_sessions').set({ closed_at: now }).where('terminal_id', '=', row.terminal_id).where('closed_at', 'is', null).execute();
    });
  posTerminalChanged(deps.db, row.tid);
  const fresh = await visiblePosTerminal(deps, actor, terminalId);
  return { view: await posTerminalView(deps, fresh), ...(issued ? { issued } : {}) };
}

/**
 * Sets how the terminal's PIN blocks are keyed. A change closes the open session, as a re-key
 * does: the terminal signs on again with its new PIN pad (the MAC keys are unchanged by DUKPT, but
 * a fresh sign-on is the one moment every server process re-reads the terminal). The same mode
 * and BDK again change nothing.
 */
export async function setPinMode(deps: GatewayDeps, actor: Actor, terminalId: string, mode: PinMode, bdkName: string | undefined): Promise<PosTerminalView> {
  const row = await visiblePosTerminal(deps, actor, terminalId);
  const pin = await pinModeColumns(deps, mode, bdkName);
  if (pin.pin_mode !== row.pin_mode || pin.bdk_name !== row.bdk_name) {
    const now = deps.now();
    await db(deps)
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('pos_terminals').set({ ...pin, current_session_id: null, updated_at: now }).where('terminal_id', '=', row.terminal_id).execute();
        await trx.updateTable('pos_sessions').set({ closed_at: now }).where('terminal_id', '=', row.terminal_id).where('closed_at', 'is', null).execute();
      });
    posTerminalChanged(deps.db, row.tid);
  }
  return posTerminalView(deps, await visiblePosTerminal(deps, actor, terminalId));
}

export interface PosTerminalQuery {
  tid?: string | undefined;
  owner_party_id?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Registered POS terminals the actor may see, newest first. */
export async function listPosTerminals(deps: GatewayDeps, actor: Actor, query: PosTerminalQuery): Promise<{ items: PosTerminalView[]; total: number }> {
  let q = db(deps).selectFrom('pos_terminals');
  if (actor.org_scope === null) q = q.where('owner_party_id', '=', actor.merchant_id ?? '');
  else q = q.where('org_id', 'in', [...actor.org_scope]);
  if (query.tid) q = q.where('tid', '=', query.tid);
  if (query.owner_party_id) q = q.where('owner_party_id', '=', query.owner_party_id);
  const total = await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await q
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('terminal_id')
    .limit(query.limit ?? 50)
    .offset(query.offset ?? 0)
    .execute();
  const items: PosTerminalView[] = [];
  for (const r of rows) items.push(await posTerminalView(deps, r));
  return { items, total: toSafeInt(total.n) };
}
