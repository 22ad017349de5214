/**
 * Simulated terminals that speak the real protocol through the same client the terminal app uses
 * (`client.ts`): activation with a fresh Ed25519 device key, sign-on with session-key unwrapping,
 * MAC-signed heartbeats, the SSE push stream and command loop, and update reports (downloading →
 * bundle fetched and its digest checked → installed). Used by `xiaowei simulate terminals` and by
 * `npm run bench:fleet`; nothing in the server knows it is talking to a simulator.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { TerminalClient, generateDeviceKey, type TerminalCommand } from './client.js';

export interface SimulatedTerminal {
  serial: string;
  /** One-time activation code issued for this terminal. */
  code: string;
}

export type SimulatorEvent =
  | { type: 'activated'; serial: string; ms: number }
  | { type: 'activation_failed'; serial: string; error: string }
  | { type: 'push_open'; serial: string }
  | { type: 'command'; serial: string; kind: string; at: number; payload: Record<string, unknown> }
  | {
      type: 'update';
      serial: string;
      app: string;
      version: string;
      status: 'installed' | 'failed';
      at: number;
      detail?: string;
      /** ms each step took: the 'downloading' report, the download with its digest check, the 'installed' report. */
      steps?: number[];
    };

export interface SimulatorOptions {
  baseUrl: string;
  terminals: readonly SimulatedTerminal[];
  /** Activations and sign-ons running at once (a fleet powering on is not instantaneous). */
  concurrency?: number;
  /** Stop bringing terminals up after this time (ms since the epoch); the rest stay unactivated. */
  bringUpUntil?: number;
  /** Versions the simulated terminals report as installed at start. */
  appVersions?: Record<string, string>;
  onEvent?: (event: SimulatorEvent) => void;
  fetch?: typeof fetch;
}

interface Running {
  serial: string;
  client: TerminalClient;
  versions: Record<string, string>;
  /** Stops the terminal; resolves once its push stream and any heartbeat in flight have ended. */
  stop: () => Promise<void>;
  /** Waits `ms`; rejects at once when the terminal stops meanwhile. */
  wait: (ms: number) => Promise<void>;
}

/** Heartbeat round-trip times in ms, kept as a compact growable array. */
class Samples {
  private data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  /** Takes the samples and starts afresh. */
  drain(): Float64Array {
    const out = this.data.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

/** Statuses whose response has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for many simulated terminals in one process: plain HTTP/1.1 over one keep-alive agent
 * shared by all of them, answering standard `Response`s (an event stream's body streams). The
 * terminal client runs unchanged on top — same requests, same bytes on the wire; this only
 * replaces Node's built-in fetch, whose per-request cost (~1 ms of CPU here) would make the
 * simulator, not the server, the bottleneck of `bench:fleet`. A push stream holds its socket, so
 * the agent has no socket limit; idle sockets are kept for the next request of any terminal.
 */
export function keepAliveFetch(agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1024 })): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.protocol !== 'http:') throw new Error('keepAliveFetch speaks plain HTTP only');
      const headers: Record<string, string> = { ...((init?.headers as Record<string, string> | undefined) ?? {}) };
      const body = init?.body as Uint8Array | string | null | undefined;
      if (body) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
      const signal = init?.signal ?? null;
      if (signal?.aborted) return reject(signal.reason as Error);
      const req = http.request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: init?.method ?? 'GET', headers }, (res) => {
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === 'string') responseHeaders.set(k, v);
          else if (Array.isArray(v)) for (const x of v) responseHeaders.append(k, x);
        }
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: responseHeaders }));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, headers: responseHeaders })));
      });
      req.on('error', reject);
      signal?.addEventListener('abort', () => req.destroy(signal.reason as Error), { once: true });
      req.end(body ?? undefined);
    });
}

export class FleetSimulator {
  private readonly running: Running[] = [];
  private stopped = false;
  readonly heartbeatMs = new Samples();
  heartbeatErrors = 0;
  /** Failed heartbeats by error code (the server's, or the network error's). */
  readonly heartbeatErrorCodes = new Map<string, number>();

  private readonly fetch: typeof fetch;
  /** The agent behind the default fetch: its idle connections are closed on stop. */
  private readonly agent: http.Agent | null = null;

  constructor(private readonly options: SimulatorOptions) {
    if (options.fetch) {
      this.fetch = options.fetch;
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1024 });
      this.fetch = keepAliveFetch(this.agent);
    }
  }

  /** Activates, signs on and starts every terminal; resolves when all have tried. */
  async start(): Promise<{ activated: number; failed: number; skipped: number }> {
    const queue = [...this.options.terminals];
    let failed = 0;
    const until = this.options.bringUpUntil ?? Infinity;
    const worker = async (): Promise<void> => {
      for (let t = queue.shift(); t && !this.stopped && Date.now() < until; t = queue.shift()) {
        try {
          this.running.push(await this.bringUp(t));
        } catch (error) {
          failed++;
          this.emit({ type: 'activation_failed', serial: t.serial, error: describe(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency ?? 50) }, worker));
    return { activated: this.running.length, failed, skipped: queue.length };
  }

  /** Stops every terminal; resolves once none has a request or stream open (a server can then close at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running.map((r) => r.stop()));
    // Idle keep-alive connections would hold the server's close until its keep-alive timeout.
    this.agent?.destroy();
  }

  private emit(event: SimulatorEvent): void {
    this.options.onEvent?.(event);
  }

  private async bringUp(t: SimulatedTerminal): Promise<Running> {
    const started = performance.now();
    const client = new TerminalClient({ baseUrl: this.options.baseUrl, fetch: this.fetch });
    const device = await generateDeviceKey();
    await client.activate(t.code, t.serial, device);
    const session = await client.signOn();
    this.emit({ type: 'activated', serial: t.serial, ms: performance.now() - started });
    const versions = { ...(this.options.appVersions ?? {}) };
    const waits = new Set<() => void>();
    let halted = false;
    const wait = (ms: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (halted) return reject(new Error('terminal stopped'));
        const stopWaiting = (): void => {
          clearTimeout(timer);
          reject(new Error('terminal stopped'));
        };
        const timer = setTimeout(() => {
          waits.delete(stopWaiting);
          resolve();
        }, ms);
        waits.add(stopWaiting);
      });
    const running: Running = { serial: t.serial, client, versions, stop: () => Promise.resolve(), wait };

    const follow = client.followCommands(
      (command) => this.onCommand(running, command),
      () => undefined,
    );
    // Spread heartbeats over the interval, as a fleet powered on over time would.
    const intervalMs = session.heartbeatIntervalS * 1000;
    let timer: NodeJS.Timeout | null = null;
    let inFlight: Promise<void> = Promise.resolve();
    const beat = async (): Promise<void> => {
      const t0 = performance.now();
      try {
        await client.heartbeat({ appVersions: running.versions, network: '4g', battery: 80, lat: 36.07, lng: 120.38 });
        this.heartbeatMs.push(performance.now() - t0);
      } catch (error) {
        this.heartbeatErrors++;
        const code = describe(error);
        this.heartbeatErrorCodes.set(code, (this.heartbeatErrorCodes.get(code) ?? 0) + 1);
      }
      if (!this.stopped) timer = setTimeout(start, intervalMs);
    };
    const start = (): void => {
      inFlight = beat();
    };
    timer = setTimeout(start, Math.random() * intervalMs);
    running.stop = async () => {
      halted = true;
      for (const stopWaiting of waits) stopWaiting();
      waits.clear();
      if (timer) clearTimeout(timer);
      follow.close();
      await Promise.all([follow.done, inFlight]);
    };
    return running;
  }

  private async onCommand(running: Running, command: TerminalCommand): Promise<Record<string, unknown>> {
    this.emit({ type: 'command', serial: running.serial, kind: command.kind, at: Date.now(), payload: command.payload });
    if (command.kind !== 'update_available') return { ok: true };
    const app = String(command.payload.app);
    const version = String(command.payload.version);
    const rolloutId = typeof command.payload.rolloutId === 'string' ? command.payload.rolloutId : undefined;
    // As a terminal should (docs/terminal-protocol.md): start the download at a random moment
    // within the spread the notice gives, so a large stage does not download all at once. A
    // terminal stopped meanwhile leaves the notice unacknowledged, to be fetched again.
    const spreadS = typeof command.payload.downloadSpreadS === 'number' && command.payload.downloadSpreadS > 0 ? command.payload.downloadSpreadS : 0;
    if (spreadS > 0) await running.wait(Math.random() * spreadS * 1000);
    const report = (status: string, detail?: string): Promise<unknown> =>
      running.client.request('POST', '/api/v1/terminal/updates', { app, version, status, ...(rolloutId ? { rolloutId } : {}), ...(detail ? { detail } : {}) });
    const steps: number[] = [];
    let mark = performance.now();
    const step = (): void => {
      const t = performance.now();
      steps.push(Math.round(t - mark));
      mark = t;
    };
    try {
      // A report that fails (the server overloaded, the connection dropped) fails the update
      // visibly: left to escape, it would end the command loop's round unacknowledged, and the
      // update would be retried only at the next poll, minutes later, with no trace of why.
      await report('downloading');
      step();
      // fetchSigned keeps this request in the terminal's sequence with the others.
      const res = await running.client.fetchSigned('GET', `/api/v1/terminal/apps/${encodeURIComponent(app)}/versions/${encodeURIComponent(version)}/bundle`);
      if (!res.ok) throw new Error(`bundle download answered ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const digest = Buffer.from(await globalThis.crypto.subtle.digest('SHA-256', bytes)).toString('hex');
      if (typeof command.payload.digest === 'string' && digest !== command.payload.digest) throw new Error('bundle digest mismatch');
      running.versions[app] = version;
      step();
      await report('installed');
      step();
      this.emit({ type: 'update', serial: running.serial, app, version, status: 'installed', at: Date.now(), steps });
      return { installed: version };
    } catch (error) {
      await report('failed', describe(error).slice(0, 200)).catch(() => undefined);
      this.emit({ type: 'update', serial: running.serial, app, version, status: 'failed', at: Date.now(), detail: describe(error) });
      return { failed: describe(error).slice(0, 200) };
    }
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

/** Percentile of samples (nearest rank), e.g. 0.99; 0 for no samples. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return 0;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}
