/**
 * The runtime's protocol port over the server's isomorphic client (server/src/terminals/client.ts,
 * imported as `@xiaowei/terminal-client`): activation, sign-on and operator sign-on are the
 * client's; every other signed request is built by the client's `prepare` (canonical string, MAC,
 * seq) and sent here, because the shell needs what `TerminalClient.request` does not give — the
 * exact response bytes (a bundle's digest is over them), an `Idempotency-Key` header (outbox), and
 * both languages of an error. All signed requests, the push stream's included, go through one
 * queue here, so sequence numbers reach the server in the order they were signed.
 */
import { TerminalApiError, TerminalClient, generateDeviceKey, readEvents } from '@xiaowei/terminal-client';
import { encipherFormat4 } from '../core/pin-block';
import { currentLanguage } from '../locales';
import { ProtocolError, type DeviceIdentity, type ProtocolAnswer, type PushHandlers, type SignedOn, type TerminalProtocol } from './protocol-types';
import type { OperatorView } from './types';

interface ErrorBody {
  error?: { code?: string; message?: string; messages?: { 'zh-CN'?: string; en?: string }; data?: Record<string, unknown> };
}

const NETWORK = (detail: string): ProtocolError => new ProtocolError(0, 'network', `网络不可用（${detail}）`, `No network (${detail})`);

function fromBody(status: number, body: ErrorBody | null): ProtocolError {
  const e = body?.error;
  const code = e?.code ?? `http_${status}`;
  return new ProtocolError(status, code, e?.messages?.['zh-CN'] ?? e?.message ?? code, e?.messages?.en ?? e?.message ?? code);
}

/** A server that sends no response headers within this is treated as unreachable. */
const HEADERS_TIMEOUT_MS = 30_000;
/** The longest a body may take (a 20 MiB bundle over a slow 4G link). */
const BODY_TIMEOUT_MS = 300_000;
/** Push keep-alives come every 25 s (server/src/terminals/push.ts); this much silence is a dead stream. */
const PUSH_SILENCE_MS = 70_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ClientProtocol implements TerminalProtocol {
  private readonly client: TerminalClient;
  private turn: Promise<void> = Promise.resolve();
  /** The error body of the last failed request the client made itself (for both languages). */
  private lastErrorBody: ErrorBody | null = null;

  constructor(baseUrl: string) {
    this.client = new TerminalClient({
      baseUrl,
      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('accept-language', currentLanguage());
        const res = await fetch(input, { ...init, headers });
        this.lastErrorBody = res.ok ? null : ((await res.clone().json().catch(() => null)) as ErrorBody | null);
        return res;
      },
    });
  }

  /** Runs `task` alone: one signed request in flight between signing and its response headers. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const previous = this.turn;
    let release: () => void = () => undefined;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    return previous.then(task).finally(release);
  }

  /** The client's own calls, with its errors mapped to ProtocolError. */
  private async viaClient<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.exclusive(task);
    } catch (error) {
      if (error instanceof TerminalApiError) {
        const body = this.lastErrorBody?.error?.code === error.code ? this.lastErrorBody : { error: { code: error.code, message: error.message } };
        throw fromBody(error.status, body);
      }
      if (error instanceof TypeError) throw NETWORK(error.message);
      throw error;
    }
  }

  async activate(serial: string, code: string): Promise<DeviceIdentity> {
    const device = await generateDeviceKey();
    const reply = await this.viaClient(() => this.client.activate(code, serial, device));
    return {
      terminalId: reply.terminalId,
      serial: reply.serial,
      keyPair: device.keyPair,
      publicKey: device.publicKey,
      platformSigningKey: reply.platformSigningKey,
      merchantName: reply.merchant.name,
      orgName: reply.org.name,
      orgNameEn: reply.org.nameEn,
      activatedAt: this.client.now(),
    };
  }

  async signOn(device: DeviceIdentity): Promise<SignedOn> {
    const once = () => this.viaClient(() => this.client.signOn({ keyPair: device.keyPair, publicKey: device.publicKey }, device.terminalId));
    // A device clock far off is corrected by the client from the server's Date header (whole
    // seconds), so a sign-on right after another one can carry a timestamp not above the last:
    // the server refuses that as a replay. A second later it is above.
    const session = await once().catch(async (error: unknown) => {
      if (!(error instanceof ProtocolError && error.code === 'terminal_request_replayed')) throw error;
      await sleep(1100);
      return once();
    });
    return {
      sessionId: session.sessionId,
      batchNo: session.batchNo,
      openedAt: this.client.now(),
      expiresAt: session.expiresAt,
      heartbeatIntervalS: session.heartbeatIntervalS,
      pollIntervalS: session.pollIntervalS,
      params: session.params,
    };
  }

  async signOff(): Promise<void> {
    await this.viaClient(() => this.client.signOff());
  }

  async operatorSignOn(operatorNo: string, password: string): Promise<OperatorView> {
    const operator = await this.viaClient(() => this.client.operatorSignOn(operatorNo, password));
    return { no: operator.operatorNo, name: operator.name, role: operator.role };
  }

  async operatorSignOff(): Promise<void> {
    await this.viaClient(() => this.client.operatorSignOff());
  }

  now(): number {
    return this.client.now();
  }

  async pinBlock(pin: string, pan: string): Promise<string> {
    const session = this.client.session;
    if (!session) throw new ProtocolError(401, 'terminal_session_unknown', '尚未签到', 'Not signed on');
    return encipherFormat4(session.keys.pin, pin, pan);
  }

  dropSession(): void {
    this.client.session = null;
    this.client.operatorToken = null;
  }

  /**
   * Signs and sends; resolves once the response headers are in (the queue moves on then). A
   * server that sends no headers within HEADERS_TIMEOUT_MS is given up on, so one stuck request
   * cannot hold up the queue; `stop` ends the body wait (or aborts the request) later.
   */
  private send(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ res: Response; stop: (afterMs?: number) => void; abort: () => void }> {
    return this.exclusive(async () => {
      if (!this.client.session) throw new ProtocolError(401, 'terminal_session_unknown', '尚未签到', 'Not signed on');
      const { url, init } = await this.client.prepare(method, path, body);
      const merged = new Headers(init.headers);
      merged.set('accept-language', currentLanguage());
      for (const [name, value] of Object.entries(headers)) merged.set(name, value);
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      signal?.addEventListener('abort', abort);
      let timer = setTimeout(abort, HEADERS_TIMEOUT_MS);
      const stop = (afterMs?: number): void => {
        clearTimeout(timer);
        if (afterMs !== undefined) timer = setTimeout(abort, afterMs);
        else signal?.removeEventListener('abort', abort);
      };
      try {
        const res = await fetch(url, { ...init, headers: merged, signal: controller.signal });
        return { res, stop, abort };
      } catch (error) {
        stop();
        if (signal?.aborted) throw error;
        throw NETWORK(error instanceof Error ? error.message : String(error));
      }
    });
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown, options: { idempotencyKey?: string } = {}): Promise<ProtocolAnswer> {
    const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
    for (let attempt = 1; ; attempt++) {
      const { res, stop } = await this.send(method, path, method === 'GET' ? undefined : (body ?? {}), headers);
      let bytes: Uint8Array;
      try {
        stop(BODY_TIMEOUT_MS);
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (error) {
        // Headers came, the body did not: the outcome is unknown, like no answer at all.
        throw NETWORK(error instanceof Error ? error.message : String(error));
      } finally {
        stop();
      }
      const json = (res.headers.get('content-type') ?? '').includes('json') ? this.parse(bytes) : null;
      if (res.ok) return { status: res.status, body: json, bytes };
      const error = fromBody(res.status, json as ErrorBody | null);
      const lastSeq = (json as ErrorBody | null)?.error?.data?.last_seq;
      // Another request overtook this one's seq (the client signs in order; a retry fixes it).
      if (attempt === 1 && error.code === 'terminal_request_replayed' && this.client.session) {
        if (typeof lastSeq === 'number') this.client.session.seq = Math.max(this.client.session.seq, lastSeq);
        continue;
      }
      throw error;
    }
  }

  private parse(bytes: Uint8Array): unknown {
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  }

  openPush(handlers: PushHandlers): () => void {
    const controller = new AbortController();
    let closed = false;
    void (async () => {
      let backoff = 1000;
      while (!closed) {
        try {
          const { res, stop, abort } = await this.send('GET', '/api/v1/terminal/push', undefined, {}, controller.signal);
          stop();
          if (!res.ok || !res.body) throw fromBody(res.status, (await res.json().catch(() => null)) as ErrorBody | null);
          backoff = 1000;
          handlers.onState(true);
          let replaced = false;
          // The server writes a keep-alive every 25 s: silence for much longer means a dead
          // connection (common on mobile networks, where TCP can hang half-open), so drop it.
          let idle = setTimeout(abort, PUSH_SILENCE_MS);
          const watched = res.body.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, out) {
                clearTimeout(idle);
                idle = setTimeout(abort, PUSH_SILENCE_MS);
                out.enqueue(chunk);
              },
              flush() {
                clearTimeout(idle);
              },
            }),
          );
          await readEvents(watched, (type) => {
            if (type === 'wake') handlers.onWake();
            if (type === 'replaced') replaced = true;
          });
          clearTimeout(idle);
          handlers.onState(false);
          // Another connection of this terminal (another tab) took over: that one is in charge.
          if (replaced) return;
        } catch (error) {
          if (closed) return;
          handlers.onState(false);
          handlers.onError(error instanceof ProtocolError ? error : NETWORK(error instanceof Error ? error.message : String(error)));
        }
        if (closed) return;
        await sleep(backoff * (0.75 + Math.random() / 2));
        backoff = Math.min(backoff * 2, 30_000);
      }
    })();
    return () => {
      closed = true;
      controller.abort();
    };
  }
}

export function createProtocol(baseUrl: string): TerminalProtocol {
  return new ClientProtocol(baseUrl);
}
