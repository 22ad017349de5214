import { Worker } from 'node:worker_threads';

/**
 * Durable SQLite writes off the event loop. With `synchronous=FULL` every commit waits for the
 * disk (measured 2–4 ms here); on the main thread that wait stops every other request. The writer
 * runs a worker thread with its own connection: domains register operations (modules exporting
 * `sqliteOperations(db)`), callers `run(op, payload)`, and all calls that arrive while the previous
 * commit is on its way are executed together in ONE transaction — one disk flush for the lot. Each
 * call runs in its own savepoint, so one failing call never undoes the others.
 */
export class SqliteWriter {
  private worker: Worker | undefined;
  private queue: { op: string; payload: unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private inFlight: typeof this.queue | undefined;
  private scheduled = false;
  private closed = false;
  private ready: Promise<void> | undefined;

  /** The worker starts on first use, after the caller has migrated the schema it prepares against. */
  constructor(
    private readonly file: string,
    private readonly operationModules: readonly string[],
  ) {}

  private start(): Promise<void> {
    const { file, operationModules } = this;
    const here = new URL(import.meta.url);
    const fromSource = here.pathname.endsWith('.ts');
    const entry = new URL(`./sqlite-writer-worker.${fromSource ? 'ts' : 'js'}`, here);
    this.worker = new Worker(entry, {
      workerData: { file, modules: operationModules },
      // Running from TypeScript sources (tests, tsx): the worker needs the same loader.
      execArgv: fromSource ? [...process.execArgv.filter((a) => !a.startsWith('--cpu-prof')), '--import', 'tsx'] : [],
    });
    const worker = this.worker;
    worker.unref();
    worker.on('message', (m: { results?: { ok?: unknown; error?: { message: string; code?: string } }[] }) => {
      if (m.results) this.settle(m.results);
    });
    worker.on('error', (error) => this.failAll(error));
    return new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean; error?: string }): void => {
        if (m.ready) resolve();
        else if (m.error) reject(new Error(`sqlite writer: ${m.error}`));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** Runs a registered operation inside the next group transaction; resolves once durable. */
  run<T>(op: string, payload: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new Error('sqlite writer closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, payload, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  private async send(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.ready ??= this.start();
    try {
      await this.ready;
    } catch (error) {
      this.failAll(error);
      return;
    }
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = this.queue;
    this.queue = [];
    this.worker!.postMessage({ calls: this.inFlight.map(({ op, payload }) => ({ op, payload })) });
  }

  private settle(results: { ok?: unknown; error?: { message: string; code?: string } }[]): void {
    const calls = this.inFlight ?? [];
    this.inFlight = undefined;
    calls.forEach((call, i) => {
      const r = results[i];
      if (r?.error) call.reject(Object.assign(new Error(r.error.message), { code: r.error.code }));
      else call.resolve(r?.ok);
    });
    if (this.queue.length > 0) this.schedule();
  }

  private failAll(error: unknown): void {
    for (const call of [...(this.inFlight ?? []), ...this.queue]) call.reject(error);
    this.inFlight = undefined;
    this.queue = [];
  }

  /** Waits for queued work, then stops the worker (its connection closes cleanly). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.queue.length > 0) await new Promise((r) => setTimeout(r, 1));
    await this.worker?.terminate();
  }
}
