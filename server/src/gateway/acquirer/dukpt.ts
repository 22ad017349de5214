/**
 * DUKPT PIN pads on the acquirer host (the receiving side; the pad's side is dukpt-pad.ts).
 *
 * Keys. A base derivation key (BDK) is a key of its own, formed at a staff key ceremony from 2–3
 * clear components inside the crypto service (type 'BDK'; 'TDES2' for TDES DUKPT, 'AES128' or
 * 'AES256' for AES DUKPT — the crypto service has no TDES3 BDK) under a permanent name. The
 * components are never stored or logged; the answer carries the BDK's check value and each
 * component's, for the custodians to compare. Table `pos_bdks` (migration 0017).
 *
 * Terminals. `pos_terminals.pin_mode` is 'tpk' (the default: format 0 under the session TPK),
 * 'dukpt-tdes' or 'dukpt-aes' with `bdk_name`; set at registration or later. A change closes the
 * terminal's session, as a re-key does (it signs on again; sign-on and the TAK MAC are the same in
 * every mode — the TPK of a DUKPT terminal is simply unused).
 *
 * Wire (financial requests with a PIN; layout also in messages.ts):
 *   dukpt-tdes: 52 = ISO 9564 format 0 block (8 bytes) under the TDES DUKPT PIN key;
 *               62 = the KSN, 10 bytes.
 *   dukpt-aes:  62 = the KSN (12 bytes) ‖ the ISO 9564 format 4 block (16 bytes) under the AES
 *               DUKPT PIN key (AES-128) — 28 bytes; no 52, because 52 is 8 bytes on this interface
 *               (CUP_POS b64) and a format 4 block is 16.
 *   A request that has a PIN and no KSN, a KSN of the wrong length or with an impossible counter
 *   (0, or more one-bits than the pad would use: 10 TDES, 16 AES), or, for AES, a 52 → '30'
 *   (format error). Not '55': nothing is wrong with the cardholder's PIN — the terminal sent a
 *   message it should not have, and asking for the PIN again would not change it. Such a request
 *   never reaches the engine and counts no PIN try. Field 62 of a 'tpk' terminal is ignored.
 * The engine gets `pin = { key: { dukpt: { bdk, ksn, scheme } }, format }`; its PIN check and the
 * switch link's translation to the ZPK work unchanged from there.
 *
 * Replays. X9.24 does not ask the host to refuse a repeated KSN; this host does, because a PIN
 * block under a KSN never seen before is what DUKPT promises. Before the engine is called, the
 * (BDK, KSN) pair is recorded with the terminal and the request's client id (`pos_dukpt_ksns`,
 * through the group writer); a KSN already recorded for another request — another client id or
 * another terminal — is answered '63' (security violation) without calling the engine. A retry
 * of the same request (same terminal, batch and STAN) with the same KSN passes, so the engine can
 * give its stored answer; a retry with the PIN entered again carries a new KSN and passes too.
 * KSNs need not arrive in order (several requests may be in flight).
 *
 * Retention (`pruneKsns`). A pad's transaction counter only moves forward, so the table need not
 * keep every KSN for ever: KSNs younger than XIAOWEI_DUKPT_KSN_KEEP_DAYS (default 30) are kept
 * one by one — out-of-order arrival and retries of a request work as above — and older ones are
 * folded, per pad (the KSN with its counter bits zero) and BDK, into a floor: the highest counter
 * pruned (`pos_dukpt_floors`). A KSN that is not in the table and whose counter is at or below its
 * pad's floor is refused '63' like any replay. So every KSN ever accepted stays refused; the cost
 * is one row per pad, and the only KSNs refused that were never used are ones a pad would have
 * sent more than the retention ago (a request held that long, or a pad re-injected with an
 * initial KSN it had before, which X9.24 forbids). The floor is read after the KSN's row is
 * inserted, so a prune committing meanwhile is seen (PostgreSQL: read committed; SQLite: one writer).
 */
import { sql, type Kysely } from 'kysely';
import { isCryptoError, keyHandleFromBlob, type KeyHandle, type PinBlockFormat, type PinKeyRef } from '../../crypto/index.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { groupWrite } from '../../platform/db/group-writer.js';
import { XiaoweiError } from '../../platform/errors.js';
import type { Actor } from '../../platform/http/actor.js';
import { toSafeInt } from '../../platform/int.js';
import type { GatewayDeps } from '../deps.js';
import type { BdkAlgorithm, DukptTables, PinMode } from './dukpt-migration.js';
import { KSN_BYTES, MAX_ONE_BITS, ksnCounter, oneBits, type DukptScheme } from './dukpt-pad.js';

export type { BdkAlgorithm, PinMode } from './dukpt-migration.js';

export const PIN_MODES = ['tpk', 'dukpt-tdes', 'dukpt-aes'] as const satisfies readonly PinMode[];
export const BDK_ALGORITHMS = ['TDES2', 'AES128', 'AES256'] as const satisfies readonly BdkAlgorithm[];
export const BDK_NAME_PATTERN = '^[A-Za-z0-9._-]{1,32}$';
/** One component: 32 hex digits (TDES2, AES128) or 64 (AES256). */
export const BDK_COMPONENT_PATTERN = '^([0-9A-Fa-f]{32}){1,2}$';

const COMPONENT_HEX: Readonly<Record<BdkAlgorithm, number>> = { TDES2: 32, AES128: 32, AES256: 64 };
const AES_FORMAT4_BLOCK = 16;

type Db = Kysely<DukptTables & { pos_terminals: { terminal_id: string; pin_mode: PinMode; bdk_name: string | null } }>;
const db = (deps: Pick<GatewayDeps, 'db'>): Db => deps.db as Db;

export const schemeOf = (mode: PinMode): DukptScheme | null => (mode === 'dukpt-tdes' ? 'tdes' : mode === 'dukpt-aes' ? 'aes' : null);
const schemeOfAlgorithm = (algorithm: BdkAlgorithm): DukptScheme => (algorithm === 'TDES2' ? 'tdes' : 'aes');

// ─── BDKs ─────────────────────────────────────────────────────────────────────────────────────

export interface BdkView {
  name: string;
  algorithm: BdkAlgorithm;
  scheme: DukptScheme;
  kcv: string;
  created_by: string | null;
  created_at: number;
  /** Registered POS terminals whose PIN mode uses it. */
  terminals: number;
}

/**
 * The key ceremony: forms the BDK from the custodians' components inside the crypto service and
 * stores its handle under a new name. Answers the BDK's check value and each component's (for
 * each custodian to compare with the one on their sheet); a refusal names the broken rule, never
 * digits of a component.
 */
export async function importBdk(
  deps: GatewayDeps,
  actor: Actor,
  input: { name: string; algorithm: BdkAlgorithm; components: readonly string[] },
): Promise<{ view: BdkView; componentKcvs: string[] }> {
  const { name, algorithm, components } = input;
  if (!BDK_ALGORITHMS.includes(algorithm)) throw new XiaoweiError('pos_bdk_invalid', 'algorithm');
  if (!Array.isArray(components) || components.length < 2 || components.length > 3)
    throw new XiaoweiError('pos_bdk_invalid', `${components.length} components`);
  components.forEach((c, i) => {
    if (typeof c !== 'string' || c.length !== COMPONENT_HEX[algorithm] || !/^[0-9A-Fa-f]+$/.test(c))
      throw new XiaoweiError('pos_bdk_invalid', `component ${i + 1}`);
  });
  if (await db(deps).selectFrom('pos_bdks').select('name').where('name', '=', name).executeTakeFirst())
    throw new XiaoweiError('pos_bdk_exists', name);
  let handle: KeyHandle;
  try {
    handle = await deps.crypto.importComponents('BDK', algorithm, components);
  } catch (error) {
    if (isCryptoError(error)) throw new XiaoweiError('pos_bdk_invalid', error.code);
    throw error;
  }
  const componentKcvs = components.map((c: string) => {
    const bytes = Buffer.from(c, 'hex');
    try {
      return keyCheckValue(algorithm, bytes);
    } finally {
      bytes.fill(0);
    }
  });
  const row = { name, algorithm, bdk: handle.blob, kcv: handle.kcv, created_by: actor.user_id, created_at: deps.now() };
  try {
    await db(deps).insertInto('pos_bdks').values(row).execute();
  } catch (error) {
    // Two ceremonies for one name at once: the primary key decides.
    if (await db(deps).selectFrom('pos_bdks').select('name').where('name', '=', name).executeTakeFirst())
      throw new XiaoweiError('pos_bdk_exists', name);
    throw error;
  }
  return { view: { ...row, scheme: schemeOfAlgorithm(algorithm), terminals: 0 }, componentKcvs };
}

/** Every BDK (they are the bank's, like the ZMK: any staff user with gateway:read sees them), by name. */
export async function listBdks(deps: GatewayDeps): Promise<BdkView[]> {
  const rows = await db(deps)
    .selectFrom('pos_bdks')
    .select(['name', 'algorithm', 'kcv', 'created_by', 'created_at'])
    .orderBy('name')
    .execute();
  const uses = await db(deps)
    .selectFrom('pos_terminals')
    .select(['bdk_name', (eb) => eb.fn.countAll().as('n')])
    .where('bdk_name', 'is not', null)
    .groupBy('bdk_name')
    .execute();
  const count = new Map(uses.map((u) => [u.bdk_name, toSafeInt(u.n)]));
  return rows.map((r) => ({
    ...r,
    scheme: schemeOfAlgorithm(r.algorithm),
    created_at: toSafeInt(r.created_at),
    terminals: count.get(r.name) ?? 0,
  }));
}

export async function bdkView(deps: GatewayDeps, name: string): Promise<BdkView> {
  const found = (await listBdks(deps)).find((b) => b.name === name);
  if (!found) throw new XiaoweiError('pos_bdk_not_found');
  return found;
}

/** The BDK's handle, or undefined. */
export async function loadBdk(
  deps: Pick<GatewayDeps, 'db'>,
  name: string,
): Promise<{ handle: KeyHandle; algorithm: BdkAlgorithm } | undefined> {
  const row = await db(deps).selectFrom('pos_bdks').select(['bdk', 'algorithm']).where('name', '=', name).executeTakeFirst();
  return row ? { handle: keyHandleFromBlob(row.bdk), algorithm: row.algorithm } : undefined;
}

/**
 * Checks a PIN mode and BDK name against each other and the stored BDK; answers the columns to
 * store. 'tpk' takes no BDK; a DUKPT mode needs a BDK of its scheme.
 */
export async function pinModeColumns(
  deps: GatewayDeps,
  mode: PinMode | undefined,
  bdkName: string | undefined,
): Promise<{ pin_mode: PinMode; bdk_name: string | null }> {
  const pinMode = mode ?? 'tpk';
  const scheme = schemeOf(pinMode);
  if (!PIN_MODES.includes(pinMode)) throw new XiaoweiError('pos_pin_mode_invalid', 'pin_mode');
  if (scheme === null) {
    if (bdkName !== undefined) throw new XiaoweiError('pos_pin_mode_invalid', 'tpk with a BDK');
    return { pin_mode: 'tpk', bdk_name: null };
  }
  if (bdkName === undefined) throw new XiaoweiError('pos_pin_mode_invalid', `${pinMode} without a BDK`);
  const bdk = await loadBdk(deps, bdkName);
  if (!bdk) throw new XiaoweiError('pos_pin_mode_invalid', `no BDK ${bdkName}`);
  if (schemeOfAlgorithm(bdk.algorithm) !== scheme) throw new XiaoweiError('pos_pin_mode_invalid', `${pinMode} with a ${bdk.algorithm} BDK`);
  return { pin_mode: pinMode, bdk_name: bdkName };
}

// ─── The host side of a request ───────────────────────────────────────────────────────────────

/** How a signed-on terminal's PIN blocks are keyed (part of its cached session). */
export type PinSetting = { mode: 'tpk' } | { mode: 'dukpt-tdes' | 'dukpt-aes'; bdkName: string; bdk: KeyHandle };

/** A request's PIN block with its key and format, and the KSN to record for a DUKPT one. */
export interface PinEntry {
  /** Hex, as the engine takes it. */
  block: string;
  key: PinKeyRef;
  format: PinBlockFormat;
  ksn?: string;
}

/** Is this a KSN a pad of the scheme could have sent (length, and a counter that is used)? */
function ksnValid(scheme: DukptScheme, ksn: Buffer): boolean {
  if (ksn.length !== KSN_BYTES[scheme]) return false;
  const counter = ksnCounter(scheme, ksn);
  return counter !== 0 && oneBits(counter) <= MAX_ONE_BITS[scheme];
}

/**
 * The PIN of a request under the terminal's PIN mode: null for none, '30' for a malformed one
 * (a PIN the third digit of 22 announces and that is missing; a DUKPT PIN without a usable KSN;
 * a 52 from an AES DUKPT terminal). Layouts in the module comment.
 */
export function pinEntryOf(
  setting: PinSetting,
  tpk: KeyHandle,
  f: { f22: string | undefined; f52: Buffer | undefined; f62: Buffer | undefined },
): PinEntry | null | '30' {
  const announced = f.f22?.[2] === '1';
  if (setting.mode === 'tpk') {
    if (!f.f52) return announced ? '30' : null;
    return { block: f.f52.toString('hex').toUpperCase(), key: tpk, format: 0 };
  }
  const scheme: DukptScheme = setting.mode === 'dukpt-tdes' ? 'tdes' : 'aes';
  let ksn: Buffer;
  let block: Buffer;
  if (scheme === 'tdes') {
    if (!f.f52) return announced ? '30' : null;
    if (!f.f62) return '30';
    [ksn, block] = [f.f62, f.f52];
  } else {
    if (f.f52) return '30';
    if (!f.f62) return announced ? '30' : null;
    if (f.f62.length !== KSN_BYTES.aes + AES_FORMAT4_BLOCK) return '30';
    [ksn, block] = [f.f62.subarray(0, KSN_BYTES.aes), f.f62.subarray(KSN_BYTES.aes)];
  }
  if (!ksnValid(scheme, ksn)) return '30';
  const ksnHex = ksn.toString('hex').toUpperCase();
  return {
    block: block.toString('hex').toUpperCase(),
    key: { dukpt: { bdk: setting.bdk, ksn: ksnHex, scheme } },
    format: scheme === 'tdes' ? 0 : 4,
    ksn: ksnHex,
  };
}

/**
 * Records the KSN for this request, or finds that another request used it: 'ok' for a new KSN or
 * a retry of the same request (same terminal and client id), 'replay' otherwise. Durable before
 * the engine is called (group writer: one commit per tick on SQLite).
 */
export async function claimKsn(
  deps: GatewayDeps,
  claim: { bdkName: string; ksn: string; terminalId: string; clientId: string },
): Promise<'ok' | 'replay'> {
  const row = { bdk_name: claim.bdkName, ksn: claim.ksn, terminal_id: claim.terminalId, client_id: claim.clientId, created_at: deps.now() };
  const pad = padOfKsn(claim.ksn);
  return groupWrite<'ok' | 'replay', Db>(deps, async (trx) => {
    const inserted = await trx
      .insertInto('pos_dukpt_ksns')
      .values(row)
      .onConflict((oc) => oc.columns(['bdk_name', 'ksn']).doNothing())
      .executeTakeFirst();
    const owner = await trx
      .selectFrom('pos_dukpt_ksns')
      .select(['terminal_id', 'client_id'])
      .where('bdk_name', '=', claim.bdkName)
      .where('ksn', '=', claim.ksn)
      .executeTakeFirst();
    if (!owner || owner.terminal_id !== claim.terminalId || owner.client_id !== claim.clientId) return 'replay';
    // A retry of a request whose KSN is still recorded passes; a KSN new to the table must be above its pad's floor.
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1 || !pad) return 'ok';
    const floor = await trx
      .selectFrom('pos_dukpt_floors')
      .select('counter')
      .where('bdk_name', '=', claim.bdkName)
      .where('device', '=', pad.device)
      .executeTakeFirst();
    if (floor && pad.counter <= toSafeInt(floor.counter, 'pos_dukpt_floors.counter')) {
      await trx.deleteFrom('pos_dukpt_ksns').where('bdk_name', '=', claim.bdkName).where('ksn', '=', claim.ksn).execute();
      return 'replay';
    }
    return 'ok';
  });
}

/** A KSN (hex) as its pad (the KSN with the counter bits zero) and counter; null for a length no scheme has. */
export function padOfKsn(ksnHex: string): { device: string; counter: number } | null {
  const ksn = Buffer.from(ksnHex, 'hex');
  const scheme: DukptScheme | null = ksn.length === KSN_BYTES.tdes ? 'tdes' : ksn.length === KSN_BYTES.aes ? 'aes' : null;
  if (!scheme) return null;
  const counter = ksnCounter(scheme, ksn);
  const device = Buffer.from(ksn);
  if (scheme === 'tdes') device.writeUIntBE(device.readUIntBE(7, 3) & ~0x1fffff & 0xffffff, 7, 3);
  else device.writeUInt32BE(0, 8);
  return { device: device.toString('hex').toUpperCase(), counter };
}

const PRUNE_BATCH = 500;

/**
 * Folds the KSNs recorded before `before` (µs) into their pads' floors and deletes them, in
 * batches (each one transaction: floors raised and rows deleted together). Returns how many rows
 * went. Safe to run in several processes at once (a floor only rises; a row is deleted once).
 */
export async function pruneKsns(deps: GatewayDeps, before: number): Promise<number> {
  let pruned = 0;
  for (;;) {
    const batch = await groupWrite<{ deleted: number; more: boolean }, Db>(deps, async (trx) => {
      const rows = await trx
        .selectFrom('pos_dukpt_ksns')
        .select(['bdk_name', 'ksn'])
        .where('created_at', '<', before)
        .orderBy('created_at')
        .limit(PRUNE_BATCH)
        .execute();
      if (rows.length === 0) return { deleted: 0, more: false };
      const floors = new Map<string, { bdk_name: string; device: string; counter: number }>();
      for (const r of rows) {
        const pad = padOfKsn(r.ksn);
        if (!pad) continue;
        const k = `${r.bdk_name}|${pad.device}`;
        const f = floors.get(k);
        if (!f || pad.counter > f.counter) floors.set(k, { bdk_name: r.bdk_name, device: pad.device, counter: pad.counter });
      }
      const now = deps.now();
      for (const f of floors.values()) {
        await trx
          .insertInto('pos_dukpt_floors')
          .values({ ...f, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['bdk_name', 'device']).doUpdateSet({
              counter: sql<number>`case when excluded.counter > pos_dukpt_floors.counter then excluded.counter else pos_dukpt_floors.counter end`,
              updated_at: now,
            }),
          )
          .execute();
      }
      const byBdk = new Map<string, string[]>();
      for (const r of rows) byBdk.set(r.bdk_name, [...(byBdk.get(r.bdk_name) ?? []), r.ksn]);
      let deleted = 0;
      for (const [bdk, ksns] of byBdk) {
        const result = await trx.deleteFrom('pos_dukpt_ksns').where('bdk_name', '=', bdk).where('ksn', 'in', ksns).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      return { deleted, more: rows.length === PRUNE_BATCH };
    });
    pruned += batch.deleted;
    if (!batch.more) return pruned;
  }
}
