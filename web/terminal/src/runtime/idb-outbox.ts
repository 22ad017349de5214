import type { OutboxEntry, OutboxStore } from '../core/outbox';
import { request, transact } from '../core/idb';

/** The outbox in IndexedDB: the store numbers entries (autoIncrement), so creation order is kept across restarts. */
export class IdbOutboxStore implements OutboxStore {
  async add(entry: Omit<OutboxEntry, 'seq'>): Promise<OutboxEntry> {
    const seq = await transact(['outbox'], 'readwrite', (tx) => request(tx.objectStore('outbox').add(entry)));
    return { ...entry, seq: Number(seq) };
  }

  async list(): Promise<OutboxEntry[]> {
    // Keys ascend: getAll returns creation order.
    return transact(['outbox'], 'readonly', (tx) => request(tx.objectStore('outbox').getAll() as IDBRequest<OutboxEntry[]>));
  }

  async update(entry: OutboxEntry): Promise<void> {
    await transact(['outbox'], 'readwrite', (tx) => request(tx.objectStore('outbox').put(entry)));
  }

  async remove(seq: number): Promise<void> {
    await transact(['outbox'], 'readwrite', (tx) => request(tx.objectStore('outbox').delete(seq)));
  }
}

/** Web Locks when the browser has them: one tab at a time drains the shared outbox. */
export function webLock(name: string) {
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (typeof navigator !== 'undefined' && 'locks' in navigator && navigator.locks) {
      return navigator.locks.request(name, { mode: 'exclusive' }, task) as Promise<T>;
    }
    return task();
  };
}
