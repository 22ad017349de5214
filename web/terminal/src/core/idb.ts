/**
 * The terminal's IndexedDB: one database for the shell page and the service worker (which reads
 * the installed shell from it). Promise helpers small enough to read; no library.
 *
 * This file type-checks against both the DOM and the WebWorker libraries: it uses only what both
 * have.
 */

export const DB_NAME = 'xiaowei-terminal';
const DB_VERSION = 1;

export type StoreName = 'kv' | 'bundles' | 'installed' | 'messages' | 'outbox' | 'handled';

/** Object stores and how their records are keyed. */
const STORES: Record<StoreName, IDBObjectStoreParameters> = {
  // Small records by name: the device identity, the shell's boot state, parameters, settings.
  kv: {},
  // Verified bundles, files decoded: key `<app>@<version>`.
  bundles: { keyPath: 'key' },
  // The version each app runs: key = app code.
  installed: { keyPath: 'app' },
  // `message` commands: key = command id.
  messages: { keyPath: 'id' },
  // Outbox entries in creation order: the store numbers them.
  outbox: { keyPath: 'seq', autoIncrement: true },
  // Commands already acted on (a re-delivered command is acknowledged, not acted on twice).
  handled: { keyPath: 'id' },
};

let opening: Promise<IDBDatabase> | null = null;

export function openDb(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const [name, options] of Object.entries(STORES)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, options);
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another context (a newer shell) wants to upgrade the schema: let it, open again later.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = () => {
      opening = null;
      reject(request.error ?? new Error('IndexedDB open failed'));
    };
    request.onblocked = () => undefined;
  });
  return opening;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/**
 * Runs `body` in one transaction over `stores` and resolves with its result once the transaction
 * has committed (so a caller never acts on a write that could still be rolled back). `body` must
 * only queue requests on the given transaction: awaiting anything else would let it auto-commit.
 */
export async function transact<T>(stores: StoreName[], mode: IDBTransactionMode, body: (tx: IDBTransaction) => Promise<T> | T): Promise<T> {
  const db = await openDb();
  const tx = db.transaction(stores, mode);
  const committed = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
  let result: T;
  try {
    result = await body(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished
    }
    await committed.catch(() => undefined);
    throw error;
  }
  await committed;
  return result;
}

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return done(req);
}

export async function getValue<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
  return transact([store], 'readonly', (tx) => done(tx.objectStore(store).get(key) as IDBRequest<T | undefined>));
}

export async function getAll<T>(store: StoreName): Promise<T[]> {
  return transact([store], 'readonly', (tx) => done(tx.objectStore(store).getAll() as IDBRequest<T[]>));
}

/** Writes `value` (under `key` for the kv store, by the store's key path otherwise). */
export async function putValue(store: StoreName, value: unknown, key?: IDBValidKey): Promise<void> {
  await transact([store], 'readwrite', (tx) => done(tx.objectStore(store).put(value, key)));
}

export async function deleteValue(store: StoreName, key: IDBValidKey): Promise<void> {
  await transact([store], 'readwrite', (tx) => done(tx.objectStore(store).delete(key)));
}

/** Empties every store (a retired terminal forgets its identity, sessions, apps and queue). */
export async function wipeAll(): Promise<void> {
  const names = Object.keys(STORES) as StoreName[];
  await transact(names, 'readwrite', async (tx) => {
    await Promise.all(names.map((name) => done(tx.objectStore(name).clear())));
  });
}
