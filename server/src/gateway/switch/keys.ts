/**
 * Zone keys. The zone master key (ZMK) is formed at a key ceremony from 2–3 clear components
 * typed in by different custodians; it lives only as a crypto-service handle (sealed under the
 * LMK). The zone PIN and MAC keys (ZPK, ZAK) are generated fresh at every sign-on and sent to the
 * switch under the ZMK; the table keeps the last ones only so staff can see their check values.
 */
import { keyHandleFromBlob, type KeyHandle } from '../../crypto/index.js';
import { isCryptoError } from '../../crypto/index.js';
import { XiaoweiError } from '../../platform/errors.js';
import type { GatewayDeps } from '../deps.js';
import type { SwitchDb } from './tables.js';

const COMPONENT = /^[0-9A-Fa-f]{32}$/;

/**
 * Forms the ZMK (TDES2) from clear components and stores its handle, replacing the previous one.
 * Returns the check value the custodians compare with the switch's. The components are never
 * logged or stored; an error names which component is malformed, never its digits.
 */
export async function importZmk(deps: Pick<GatewayDeps, 'db' | 'crypto' | 'now'>, components: readonly string[], actor: { user_id: string } | null): Promise<{ kcv: string }> {
  if (!Array.isArray(components) || components.length < 2 || components.length > 3) {
    throw new XiaoweiError('switch_zmk_invalid', `${Array.isArray(components) ? components.length : 0} components`);
  }
  components.forEach((c, i) => {
    if (typeof c !== 'string' || !COMPONENT.test(c)) throw new XiaoweiError('switch_zmk_invalid', `component ${i + 1}`);
  });
  let handle: KeyHandle;
  try {
    handle = await deps.crypto.importComponents('ZMK', 'TDES2', components);
  } catch (error) {
    if (isCryptoError(error)) throw new XiaoweiError('switch_zmk_invalid', error.code);
    throw error;
  }
  await storeKey(deps.db as SwitchDb, 'zmk', handle, deps.now(), actor?.user_id ?? null);
  return { kcv: handle.kcv };
}

export async function storeKey(db: SwitchDb, name: 'zmk' | 'zpk' | 'zak', handle: KeyHandle, now: number, by: string | null): Promise<void> {
  await db
    .insertInto('gw_switch_keys')
    .values({ name, blob: handle.blob, kcv: handle.kcv, updated_by: by, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ blob: handle.blob, kcv: handle.kcv, updated_by: by, updated_at: now }))
    .execute();
}

export async function loadKey(db: SwitchDb, name: 'zmk' | 'zpk' | 'zak'): Promise<KeyHandle | null> {
  const row = await db.selectFrom('gw_switch_keys').select('blob').where('name', '=', name).executeTakeFirst();
  return row ? keyHandleFromBlob(row.blob) : null;
}

/** Check values of the stored keys (null where none). */
export async function keyCheckValues(db: SwitchDb): Promise<{ zmk: string | null; zpk: string | null; zak: string | null }> {
  const rows = await db.selectFrom('gw_switch_keys').select(['name', 'kcv']).execute();
  const kcv = (name: string): string | null => rows.find((r) => r.name === name)?.kcv ?? null;
  return { zmk: kcv('zmk'), zpk: kcv('zpk'), zak: kcv('zak') };
}
