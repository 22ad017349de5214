import type { Kysely } from 'kysely';
import { keyHandleFromBlob, type CryptoService, type KeyAlgorithm, type KeyHandle, type KeyType } from '../crypto/index.js';
import type { PaymentsDb, PaymentsSharedTables } from './contracts.js';

/**
 * Long-lived keys of the payments domain, kept in `pay_keys` as crypto-service handles (sealed
 * under the LMK; the clear key never reaches the database). A key is created the first time it
 * is asked for; two processes asking at once both end with the one that was stored first.
 */

/** The bank's PIN verification key for its own cards (IBM 3624 offsets). */
export const CARD_PVK = { name: 'card-pvk-1', type: 'PVK', algorithm: 'TDES2' } as const satisfies {
  name: string;
  type: KeyType;
  algorithm: KeyAlgorithm;
};

const mismatch = (name: string, found: { type: string; algorithm: string }, spec: { type: string; algorithm: string }): Error =>
  new Error(`pay_keys ${name} is a ${found.type}/${found.algorithm}, expected ${spec.type}/${spec.algorithm}`);

// Per database handle: a key once read never changes (a new key gets a new name).
const cache = new WeakMap<object, Map<string, KeyHandle>>();

/** The named key, created now if it does not exist yet (race-safe: the stored row wins). */
export async function payKey(
  deps: { db: Kysely<unknown> | PaymentsDb; crypto: CryptoService; now: () => number },
  spec: { name: string; type: KeyType; algorithm: KeyAlgorithm },
): Promise<KeyHandle> {
  const db = deps.db as PaymentsDb;
  let known = cache.get(db);
  if (!known) cache.set(db, (known = new Map<string, KeyHandle>()));
  const hit = known.get(spec.name);
  if (hit && (hit.type !== spec.type || hit.algorithm !== spec.algorithm)) throw mismatch(spec.name, hit, spec);
  if (hit) return hit;

  const read = async (): Promise<KeyHandle | undefined> => {
    const row = await db.selectFrom('pay_keys').select(['blob', 'type', 'algorithm']).where('name', '=', spec.name).executeTakeFirst();
    if (!row) return undefined;
    if (row.type !== spec.type || row.algorithm !== spec.algorithm) throw mismatch(spec.name, row, spec);
    return keyHandleFromBlob(row.blob);
  };

  let handle = await read();
  if (!handle) {
    const fresh = await deps.crypto.generateKey(spec.type, spec.algorithm);
    const row: PaymentsSharedTables['pay_keys'] = {
      name: spec.name,
      blob: fresh.blob,
      type: fresh.type,
      algorithm: fresh.algorithm,
      kcv: fresh.kcv,
      lmk_version: fresh.lmkVersion,
      created_at: deps.now(),
    };
    // Another process may have stored its key in the meantime: then that one is the key.
    await db
      .insertInto('pay_keys')
      .values(row)
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    handle = await read();
    if (!handle) throw new Error(`pay_keys ${spec.name} vanished after insert`);
  }
  known.set(spec.name, handle);
  return handle;
}

/** The handle of a stored key by name (e.g. a card's `pvk_name`), or undefined. */
export async function payKeyByName(db: PaymentsDb, name: string): Promise<KeyHandle | undefined> {
  let known = cache.get(db);
  if (!known) cache.set(db, (known = new Map<string, KeyHandle>()));
  const hit = known.get(name);
  if (hit) return hit;
  const row = await db.selectFrom('pay_keys').select('blob').where('name', '=', name).executeTakeFirst();
  if (!row) return undefined;
  const handle = keyHandleFromBlob(row.blob);
  known.set(name, handle);
  return handle;
}
