/**
 * The outbox: requests the terminal must not lose — update reports, command acknowledgements, an
 * app's durable calls (later: payments) — written to storage before the first attempt and sent in
 * the order they were made until the server gives a definitive answer.
 *
 * Exactly once is the pair of two halves: the terminal sends each entry until it has an answer
 * (at least once), always with the client id fixed when the entry was created (`Idempotency-Key`),
 * and the server answers a repeat with the first outcome (at most once). A request whose answer
 * was lost is therefore simply sent again. Entries are sent one at a time, oldest first; an entry
 * that cannot be sent now (no network, server busy) holds back the ones behind it, so the server
 * never sees them out of order.
 *
 * Storage, transport and cross-tab locking are injected: the browser gives IndexedDB, fetch and
 * the Web Locks API; the unit tests give memory.
 */

export interface OutboxRequest {
  method: 'POST' | 'PUT' | 'DELETE';
  /** Path and query under the API, e.g. `/api/v1/terminal/commands/<id>/ack`. */
  path: string;
  body: unknown;
  /** What the entry is, for the UI and for handlers of its outcome (`ack`, `update-report`, …). */
  kind: string;
}

export interface OutboxEntry extends OutboxRequest {
  /** The client id, fixed at creation: the Idempotency-Key of every attempt. */
  id: string;
  /** Creation order, assigned by the store; replay follows it. */
  seq: number;
  createdAt: number;
  attempts: number;
  lastError: string | null;
}

export interface OutboxStore {
  /** Persists a new entry, assigning `seq` greater than every earlier one; resolves once durable. */
  add(entry: Omit<OutboxEntry, 'seq'>): Promise<OutboxEntry>;
  /** Every entry, oldest (lowest seq) first. */
  list(): Promise<OutboxEntry[]>;
  update(entry: OutboxEntry): Promise<void>;
  remove(seq: number): Promise<void>;
}

/**
 * What one attempt came to. `done`: the server answered (2xx) — the entry is finished. `rejected`:
 * a definitive refusal that no repeat can change (a typed 4xx such as not-found) — finished too,
 * and handed to `onSettled`. `retry`: no answer or a passing condition (network, 5xx, 429,
 * session to renew) — the entry stays, and so do the ones after it.
 */
export type SendOutcome =
  | { kind: 'done'; status: number; body: unknown }
  | { kind: 'rejected'; status: number; code: string }
  | { kind: 'retry'; reason: string };

export type Sender = (entry: OutboxEntry) => Promise<SendOutcome>;
/** Runs `task` while holding an exclusive lock shared by every tab of the app. */
export type LockRunner = <T>(task: () => Promise<T>) => Promise<T>;

export interface OutboxOptions {
  /** A fresh client id (the browser passes a UUID v4). */
  newId: () => string;
  now?: () => number;
  lock?: LockRunner;
  /** Called when an entry leaves the outbox with its final outcome. */
  onSettled?: (entry: OutboxEntry, outcome: Exclude<SendOutcome, { kind: 'retry' }>) => void;
  /** Called whenever the number of waiting entries may have changed. */
  onChange?: (pending: number) => void;
}

const noLock: LockRunner = (task) => task();

export class Outbox {
  private flushing: Promise<boolean> | null = null;
  private again = false;
  private pending = 0;

  constructor(
    private readonly store: OutboxStore,
    private readonly send: Sender,
    private readonly options: OutboxOptions,
  ) {}

  /** Number of entries waiting, as of the last enqueue or flush. */
  get size(): number {
    return this.pending;
  }

  /** Loads the count from storage (at start: entries left by an earlier run wait there). */
  async refresh(): Promise<number> {
    this.setPending((await this.store.list()).length);
    return this.pending;
  }

  /**
   * Stores the request and returns its entry once it is durable; sending happens afterwards
   * (call `flush`, or let the caller's triggers do it). The client id is fixed here.
   */
  async enqueue(request: OutboxRequest): Promise<OutboxEntry> {
    const entry = await this.store.add({
      ...request,
      id: this.options.newId(),
      createdAt: (this.options.now ?? Date.now)(),
      attempts: 0,
      lastError: null,
    });
    this.setPending(this.pending + 1);
    return entry;
  }

  /**
   * Sends waiting entries oldest first until the outbox is empty or one must wait. One flush runs
   * at a time (in this tab by the promise, across tabs by the lock); a call during a flush makes
   * that flush look again once it is done. Resolves true when the outbox was emptied.
   */
  flush(): Promise<boolean> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    const run = async (): Promise<boolean> => {
      let emptied = false;
      do {
        this.again = false;
        emptied = await (this.options.lock ?? noLock)(() => this.drain());
      } while (this.again && emptied);
      return emptied;
    };
    this.flushing = run().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<boolean> {
    // Re-read under the lock: another tab may have sent some of these already.
    const entries = await this.store.list();
    this.setPending(entries.length);
    for (const entry of entries) {
      const attempt: OutboxEntry = { ...entry, attempts: entry.attempts + 1 };
      let outcome: SendOutcome;
      try {
        outcome = await this.send(attempt);
      } catch (error) {
        // A sender that throws did not get an answer: the request may or may not have arrived.
        outcome = { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
      }
      if (outcome.kind === 'retry') {
        await this.store.update({ ...attempt, lastError: outcome.reason });
        return false;
      }
      await this.store.remove(entry.seq);
      this.setPending(this.pending - 1);
      this.options.onSettled?.(attempt, outcome);
    }
    return true;
  }

  private setPending(count: number): void {
    const next = Math.max(0, count);
    if (next === this.pending) return;
    this.pending = next;
    this.options.onChange?.(next);
  }
}

/** An OutboxStore in memory: for tests, and where storage is unavailable (entries then die with the page). */
export class MemoryOutboxStore implements OutboxStore {
  private entries: OutboxEntry[] = [];
  private lastSeq = 0;

  async add(entry: Omit<OutboxEntry, 'seq'>): Promise<OutboxEntry> {
    const stored = { ...entry, seq: ++this.lastSeq };
    this.entries.push(stored);
    return { ...stored };
  }

  async list(): Promise<OutboxEntry[]> {
    return this.entries.map((entry) => ({ ...entry })).sort((a, b) => a.seq - b.seq);
  }

  async update(entry: OutboxEntry): Promise<void> {
    const index = this.entries.findIndex((e) => e.seq === entry.seq);
    if (index >= 0) this.entries[index] = { ...entry };
  }

  async remove(seq: number): Promise<void> {
    this.entries = this.entries.filter((e) => e.seq !== seq);
  }
}

/**
 * How the terminal classifies an HTTP answer to an outbox request. 2xx done; 408, 425, 429 and
 * 5xx (and no answer at all) retry; session and lock conditions retry (they pass: a new sign-on,
 * an unlock); any other typed 4xx is a definitive refusal.
 */
export function classifyAnswer(status: number, code: string | undefined, retryableCodes: ReadonlySet<string>): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'done', status, body: undefined };
  if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) {
    return { kind: 'retry', reason: code ?? `http_${status}` };
  }
  if (code !== undefined && retryableCodes.has(code)) return { kind: 'retry', reason: code };
  return { kind: 'rejected', status, code: code ?? `http_${status}` };
}
