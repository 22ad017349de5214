/**
 * A bounded least-recently-used map. The crypto service keeps unwrapped keys in one, keyed by the
 * sealed blob, because MAC verification runs on every terminal request and unsealing (AES-GCM plus
 * key derivation checks) costs more than the MAC itself. A Map iterates in insertion order, so
 * re-inserting on a hit keeps the oldest entry first, where eviction finds it.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    readonly capacity: number,
    /** Called for an evicted value (the service zeroes key bytes there). */
    private readonly onEvict?: (value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('cache capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      const evicted = this.entries.get(oldest);
      this.entries.delete(oldest);
      if (evicted !== undefined) this.onEvict?.(evicted);
    }
  }

  clear(): void {
    for (const value of this.entries.values()) this.onEvict?.(value);
    this.entries.clear();
  }
}
