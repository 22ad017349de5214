/**
 * POS sign-on sessions: the working keys (TPK for PIN blocks, TAK for MACs) the host generates at
 * each sign-on and sends under the terminal's TMK, and the terminal principal the engine acts for.
 *
 * Sessions live in the database (a terminal may reconnect to another process); each process keeps
 * what it read for a few seconds. A MAC that does not verify under a cached session is checked
 * once more against a fresh read, so a sign-on handled by another process costs one extra read,
 * and a terminal locked or retired in the fleet is refused within CACHE_MS. A re-key or PIN-mode
 * change (registry.ts) clears this process's entry at once (session-events.ts). The session also
 * carries the terminal's PIN setting (TPK or DUKPT with its BDK handle, dukpt.ts).
 */
import type { Kysely } from 'kysely';
import { keyHandleFromBlob, type KeyHandle } from '../../crypto/index.js';
import { openBatch } from '../../payments/batches.js';
import type { EngineDb } from '../../payments/engine-rows.js';
import { newId } from '../../platform/ids.js';
import type { TerminalPrincipal } from '../../terminals/contracts.js';
import { loadTerminal } from '../../terminals/fleet.js';
import type { FleetTables } from '../../terminals/fleet-tables.js';
import type { GatewayDeps } from '../deps.js';
import { loadBdk, type PinSetting } from './dukpt.js';
import { encodeKeyData } from './messages.js';
import { onPosTerminalChanged } from './session-events.js';
import { toPosSessionRow, toPosTerminalRow, type AcquirerDb, type PosTerminalRow } from './registry.js';

const CACHE_MS = 5_000;
const CACHE_MAX = 20_000;
/** Fleet states in which a conventional POS may transact (it never activates through the JSON protocol, so 'registered' is its normal state). */
const USABLE = new Set(['registered', 'active']);

export interface PosSession {
  id: string;
  terminalId: string;
  tid: string;
  mid: string;
  tpk: KeyHandle;
  tak: KeyHandle;
  batchNo: number;
  /** How its PIN blocks are keyed: the TPK, or DUKPT under a BDK (dukpt.ts). */
  pin: PinSetting;
  principal: TerminalPrincipal;
  /** Date.now() when read. */
  readAt: number;
}

export type Refusal = 'unknown_terminal' | 'not_signed_on';

export class PosSessions {
  private readonly cache = new Map<string, PosSession>();

  constructor(private readonly deps: GatewayDeps) {
    onPosTerminalChanged(deps.db, (tid) => this.forget(tid));
  }

  private get db(): AcquirerDb {
    return this.deps.db as AcquirerDb;
  }

  /** The registered, active terminal with this field 41 whose platform terminal may transact, with its platform row. */
  private async terminal(tid: string): Promise<{ row: PosTerminalRow; principal: Omit<TerminalPrincipal, 'session_id'> } | undefined> {
    const found = await this.db.selectFrom('pos_terminals').selectAll().where('tid', '=', tid).executeTakeFirst();
    if (!found || found.status !== 'active') return undefined;
    const row = toPosTerminalRow(found);
    const t = await loadTerminal(this.deps.db as Kysely<FleetTables>, row.terminal_id).catch(() => undefined);
    if (!t || t.kind !== 'pos' || !USABLE.has(t.status)) return undefined;
    return { row, principal: { terminal_id: t.id, serial: t.serial, owner_party_id: t.owner_party_id, org_id: t.org_id, group_ids: [], operator: null } };
  }

  /** The terminal's open session; `fresh` skips the cache. */
  async current(tid: string, fresh = false): Promise<PosSession | Refusal> {
    const cached = this.cache.get(tid);
    if (cached && !fresh && Date.now() - cached.readAt < CACHE_MS) return cached;
    this.cache.delete(tid);
    const t = await this.terminal(tid);
    if (!t) return 'unknown_terminal';
    if (!t.row.current_session_id) return 'not_signed_on';
    const s = await this.db.selectFrom('pos_sessions').selectAll().where('id', '=', t.row.current_session_id).executeTakeFirst();
    if (!s || s.closed_at !== null) return 'not_signed_on';
    const row = toPosSessionRow(s);
    const session: PosSession = {
      pin: await this.pinSetting(t.row),
      id: row.id,
      terminalId: t.row.terminal_id,
      tid,
      mid: t.row.mid,
      tpk: keyHandleFromBlob(row.tpk),
      tak: keyHandleFromBlob(row.tak),
      batchNo: row.batch_no,
      principal: { ...t.principal, session_id: row.id },
      readAt: Date.now(),
    };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(tid, session);
    return session;
  }

  private async pinSetting(row: PosTerminalRow): Promise<PinSetting> {
    if (row.pin_mode === 'tpk') return { mode: 'tpk' };
    // BDKs are never deleted, and the mode was checked against the BDK when it was set.
    const bdk = row.bdk_name === null ? undefined : await loadBdk(this.deps, row.bdk_name);
    if (!bdk || row.bdk_name === null) throw new Error(`pos terminal ${row.tid}: ${row.pin_mode} without its BDK`);
    return { mode: row.pin_mode, bdkName: row.bdk_name, bdk: bdk.handle };
  }

  /**
   * Sign-on: new TPK and TAK (TDES2) exported under the TMK, the engine's open batch for 60.2; the
   * terminal's earlier session is closed. Answers field 62 (layout in messages.ts), or a refusal.
   */
  async signOn(tid: string, mid: string | undefined): Promise<{ keyData: Buffer; batchNo: number } | Refusal | 'wrong_merchant'> {
    this.cache.delete(tid);
    const t = await this.terminal(tid);
    if (!t) return 'unknown_terminal';
    if (mid !== undefined && mid !== t.row.mid) return 'wrong_merchant';
    const crypto = this.deps.crypto;
    const tmk = keyHandleFromBlob(t.row.tmk);
    const [tpk, tak] = await Promise.all([crypto.generateKey('TPK', 'TDES2'), crypto.generateKey('TAK', 'TDES2')]);
    const [tpkOut, takOut] = await Promise.all([crypto.exportUnder(tpk, tmk), crypto.exportUnder(tak, tmk)]);
    const now = this.deps.now();
    const batch = await openBatch(this.deps.db as EngineDb, t.row.terminal_id, now);
    const id = newId();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('pos_sessions').set({ closed_at: now }).where('terminal_id', '=', t.row.terminal_id).where('closed_at', 'is', null).execute();
      await trx.insertInto('pos_sessions').values({ id, terminal_id: t.row.terminal_id, tpk: tpk.blob, tak: tak.blob, batch_no: batch.batch_no, signed_on_at: now, closed_at: null }).execute();
      // The owner and organisation may have changed in the fleet since registration: keep the copy the list is scoped by current.
      await trx
        .updateTable('pos_terminals')
        .set({ current_session_id: id, owner_party_id: t.principal.owner_party_id, org_id: t.principal.org_id, updated_at: now })
        .where('terminal_id', '=', t.row.terminal_id)
        .execute();
    });
    this.cache.delete(tid);
    return { keyData: encodeKeyData({ tpk: tpkOut.cryptogram, tpkKcv: tpkOut.kcv, tak: takOut.cryptogram, takKcv: takOut.kcv }), batchNo: batch.batch_no };
  }

  /** Sign-off (0820, 60.3 '002'): the session ends; financial requests are refused '97' until the next sign-on. */
  async signOff(session: PosSession): Promise<void> {
    const now = this.deps.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('pos_sessions').set({ closed_at: now }).where('id', '=', session.id).where('closed_at', 'is', null).execute();
      await trx.updateTable('pos_terminals').set({ current_session_id: null, updated_at: now }).where('terminal_id', '=', session.terminalId).where('current_session_id', '=', session.id).execute();
    });
    this.cache.delete(session.tid);
  }

  /** Forgets what this process read about a terminal (after a re-key, for instance). */
  forget(tid: string): void {
    this.cache.delete(tid);
  }
}
