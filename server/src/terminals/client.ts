/**
 * The terminal protocol client, isomorphic: it uses only `globalThis.crypto.subtle`, `fetch`,
 * `TextEncoder`/`TextDecoder`, `AbortController` and timers — no `node:` import — plus
 * `@noble/hashes` (audited, plain JavaScript) for SHA-256 and HMAC of public data, and
 * canonical.ts beside it (plain TypeScript) — so the browser terminal app,
 * the simulator and the tests share this one file.
 * docs/terminal-protocol.md is the specification it follows.
 *
 * Keys are non-extractable CryptoKeys wherever WebCrypto allows: the device private key from the
 * start; the session keys from the moment they are unwrapped (their clear bytes exist only as long
 * as it takes to import them). A CryptoKey survives structured cloning, so an app may keep the
 * device key pair and the session in IndexedDB.
 */
import {
  EMPTY_BODY_SHA256,
  TERMINAL_HEADERS,
  canonicalRequest,
  fromBase64Url,
  fromHex,
  sessionKeysContext,
  signOnString,
  toBase64Url,
  toHex,
  utf8,
} from './canonical.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

type Subtle = typeof globalThis.crypto.subtle;
/** A WebCrypto key (typed from `crypto.subtle`, so this file type-checks with DOM and Node types alike). */
export type Key = Awaited<ReturnType<Subtle['importKey']>>;
export interface KeyPair {
  publicKey: Key;
  privateKey: Key;
}

const subtle = (): Subtle => globalThis.crypto.subtle;
/** A view WebCrypto accepts as BufferSource under every lib's typing. */
const bytes = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

/** The error every failed call throws: the server's registry code and message when it sent one. */
export class TerminalApiError extends Error {
  override name = 'TerminalApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly data?: Record<string, unknown>,
    /** The server's clock from the `Date` header (ms, whole seconds), when it sent one. */
    readonly serverDate?: number,
  ) {
    super(message);
  }
}

/** The key pair an asymmetric generateKey answers (typed loosely by some libs). */
function asPair(generated: unknown): KeyPair {
  if (generated === null || typeof generated !== 'object' || !('privateKey' in generated) || !('publicKey' in generated)) throw new Error('generateKey returned no key pair');
  return generated as KeyPair;
}

/** A device identity: the key pair (private half non-extractable) and the raw public key, base64url. */
export interface DeviceKey {
  keyPair: KeyPair;
  publicKey: string;
}

export async function generateDeviceKey(): Promise<DeviceKey> {
  return deviceKeyFrom(asPair(await subtle().generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])));
}

/** A device key from a stored key pair (e.g. read back from IndexedDB). */
export async function deviceKeyFrom(keyPair: KeyPair): Promise<DeviceKey> {
  const raw = new Uint8Array(await subtle().exportKey('raw', keyPair.publicKey));
  return { keyPair, publicKey: toBase64Url(raw) };
}

export interface ActivationReply {
  terminalId: string;
  serial: string;
  merchant: { id: string; name: string };
  org: { id: string; name: string; nameEn: string | null };
  platformSigningKey: string;
  serverTime: number;
}

export interface SessionKeys {
  /** HMAC-SHA256, sign only: request MACs. */
  mac: Key;
  /** AES-128 for AES-CBC encrypt (one zero-IV block = one AES block, as ISO 9564 format 4 needs). */
  pin: Key;
  /** AES-256-GCM, encrypt and decrypt: sensitive fields. */
  data: Key;
}

/** A signed-on session. `seq` is the last sequence number used; keep it with the session. */
export interface Session {
  terminalId: string;
  sessionId: string;
  batchNo: string;
  /** ms since the epoch. */
  expiresAt: number;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  params: Record<string, unknown>;
  keys: SessionKeys;
  kcv: { pin: string; mac: string; data: string };
  seq: number;
}

interface SignOnReply {
  sessionId: string;
  batchNo: string;
  expiresAt: number;
  serverTime: number;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  params: Record<string, unknown>;
  keys: WrappedSessionKeys;
}

/** The `keys` of a sign-on reply: the wrapped session keys and their check values. */
export interface WrappedSessionKeys {
  serverPublicKey: string;
  salt: string;
  iv: string;
  ciphertext: string;
  kcv: { pin: string; mac: string; data: string };
}

export interface HeartbeatInput {
  appVersions: Record<string, string>;
  network: 'wifi' | '4g' | '5g' | 'ethernet' | 'other';
  signal?: number;
  battery?: number;
  charging?: boolean;
  lat?: number;
  lng?: number;
}

export interface HeartbeatReply {
  serverTime: number;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  pendingCommands: number;
}

export interface TerminalCommand {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: number;
  notBefore: number | null;
  expiresAt: number;
}

export interface PushHandlers {
  /** New commands wait: fetch them. */
  onWake(): void;
  /** The stream is (re)connected: fetch commands now, wakes sent while disconnected are gone. */
  onOpen?(): void;
  onError?(error: unknown): void;
}

export interface PushHandle {
  close(): void;
  /** Settles when the stream has stopped for good (closed, or replaced by a newer connection). */
  done: Promise<void>;
}

export interface ClientOptions {
  /** Server origin, e.g. `https://bank.example` (no trailing slash). */
  baseUrl: string;
  fetch?: typeof fetch;
  /** ms since the epoch; the client corrects it by the offset learnt from the server. */
  now?: () => number;
}

/** For tests and tools: sign with chosen values instead of the next ones. */
export interface SignOverrides {
  seq?: number;
  timestamp?: number;
}

const JSON_TYPE = 'application/json';
/** The server writes at least every 25 s; this long without a byte means the connection is dead. */
const PUSH_SILENCE_MS = 60_000;
const SESSION_LOST = new Set(['terminal_session_expired', 'terminal_session_unknown', 'terminal_session_closed']);

/**
 * A request body's digest, synchronous: each WebCrypto call is an asynchronous job on another
 * thread (in Node, the thread pool), which for a few hundred bytes costs several times the hashing
 * (in bench:fleet a simulator spent ~7 % of its CPU on body digests). Only public data and, at
 * sign-on, the transient clear MAC key (its check value) go through @noble/hashes; the request MAC
 * stays a WebCrypto HMAC under the non-extractable session key.
 */
function sha256Hex(data: Uint8Array): string {
  return toHex(sha256(data));
}

/** First 3 bytes of HMAC-SHA256(K, 16 zero bytes), upper-case hex: the server's KCV for HMAC keys. */
function hmacKcv(raw: Uint8Array): string {
  return toHex(hmac(sha256, raw, new Uint8Array(16)).subarray(0, 3)).toUpperCase();
}

/**
 * AES-CMAC (RFC 4493) of exactly one 16-byte block, from WebCrypto's AES-CBC (which has no CMAC):
 * L = AES(K, 0), K1 = L << 1 (xor 0x87 when L's top bit was set), T = AES(K, M xor K1).
 */
export async function aesCmacBlock(raw: Uint8Array, block: Uint8Array): Promise<Uint8Array> {
  if (block.length !== 16) throw new Error('aesCmacBlock: one 16-byte block');
  const key = await subtle().importKey('raw', bytes(raw), { name: 'AES-CBC' }, false, ['encrypt']);
  // One block under AES-CBC with a zero IV is AES of that block (the padding block that follows is dropped).
  const aes = async (b: Uint8Array): Promise<Uint8Array> => new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, bytes(b))).subarray(0, 16);
  const l = await aes(new Uint8Array(16));
  const last = new Uint8Array(16);
  for (let i = 0; i < 16; i++) last[i] = (((l[i]! << 1) | (i < 15 ? l[i + 1]! >> 7 : 0)) & 0xff) ^ block[i]!;
  if (l[0]! & 0x80) last[15]! ^= 0x87;
  return aes(last);
}

/** The AES key check value: AES-CMAC(K, one zero block), first 3 bytes, upper-case hex. */
async function aesKcv(raw: Uint8Array): Promise<string> {
  return toHex((await aesCmacBlock(raw, new Uint8Array(16))).subarray(0, 3)).toUpperCase();
}

/**
 * Unwraps a sign-on reply's session keys with the ephemeral X25519 private key: shared secret =
 * X25519(ephemeral private, server public); wrapping key = HKDF-SHA256(secret, salt,
 * info = sessionKeysContext(terminalId, sessionId), 32 bytes); plaintext = AES-256-GCM decrypt
 * (iv, ciphertext ‖ tag) = JSON {"pin","mac","data"} in hex. Every key must match its check value.
 */
export async function unwrapSessionKeys(ephemeralPrivateKey: Key, terminalId: string, sessionId: string, wrapped: WrappedSessionKeys): Promise<SessionKeys> {
  const s = subtle();
  const decode = (text: string, what: string): Uint8Array => {
    const out = fromBase64Url(text);
    if (!out) throw new Error(`sign-on reply: ${what} is not base64url`);
    return out;
  };
  const serverKey = await s.importKey('raw', bytes(decode(wrapped.serverPublicKey, 'serverPublicKey')), { name: 'X25519' }, false, []);
  const shared = await s.deriveBits({ name: 'X25519', public: serverKey }, ephemeralPrivateKey, 256);
  const hkdf = await s.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const wrapKey = await s.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: bytes(decode(wrapped.salt, 'salt')), info: bytes(utf8(sessionKeysContext(terminalId, sessionId))) },
    hkdf,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  );
  const plain = new Uint8Array(await s.decrypt({ name: 'AES-GCM', iv: bytes(decode(wrapped.iv, 'iv')) }, wrapKey, bytes(decode(wrapped.ciphertext, 'ciphertext'))));
  const clear = JSON.parse(new TextDecoder().decode(plain)) as { pin: string; mac: string; data: string };
  plain.fill(0);
  const raw = { pin: fromHex(clear.pin), mac: fromHex(clear.mac), data: fromHex(clear.data) };
  if (!raw.pin || raw.pin.length !== 16 || !raw.mac || raw.mac.length !== 32 || !raw.data || raw.data.length !== 32) throw new Error('sign-on reply: session keys have the wrong shape');
  try {
    const keys: SessionKeys = {
      mac: await s.importKey('raw', bytes(raw.mac), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
      pin: await s.importKey('raw', bytes(raw.pin), { name: 'AES-CBC' }, false, ['encrypt']),
      data: await s.importKey('raw', bytes(raw.data), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
    };
    const kcv = { mac: hmacKcv(raw.mac), pin: await aesKcv(raw.pin), data: await aesKcv(raw.data) };
    for (const name of ['pin', 'mac', 'data'] as const) {
      if (kcv[name] !== wrapped.kcv[name]) throw new Error(`sign-on reply: the ${name} key does not match its check value`);
    }
    return keys;
  } finally {
    // The clear bytes go as soon as the non-extractable keys exist (the JSON's hex strings cannot be wiped).
    raw.pin.fill(0);
    raw.mac.fill(0);
    raw.data.fill(0);
  }
}

async function errorOf(res: Response): Promise<TerminalApiError> {
  let body: { error?: { code?: string; message?: string; data?: Record<string, unknown> } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON
  }
  const code = body.error?.code ?? `http_${res.status}`;
  const date = Date.parse(res.headers.get('date') ?? '');
  return new TerminalApiError(res.status, code, body.error?.message ?? `HTTP ${res.status}`, body.error?.data, Number.isNaN(date) ? undefined : date);
}

/**
 * Reads Server-Sent Events from a response body, calling `onEvent(type)` per event (and `onBytes`
 * whenever anything arrives, comments included); resolves when the stream ends. Only the event
 * type matters to this protocol.
 */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (type: string) => void, onBytes?: () => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let type = '';
  let hasData = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onBytes?.();
    buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (hasData || type) onEvent(type || 'message');
        type = '';
        hasData = false;
      } else if (line.startsWith('event:')) {
        type = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        hasData = true;
      }
    }
  }
}

/**
 * One terminal's connection to the server. Signed requests go one at a time: each waits until the
 * previous one's response headers arrived, so sequence numbers reach the server in order (the
 * server refuses a seq not above the last one it accepted).
 */
export class TerminalClient {
  terminalId: string | null = null;
  session: Session | null = null;
  operatorToken: string | null = null;
  private device: DeviceKey | null = null;
  /** Server clock minus ours (ms), learnt at activation and sign-on. */
  private offsetMs = 0;
  /**
   * The timestamp of the last sign-on the server accepted (or may have: no answer came). It refuses
   * a sign-on not later than the terminal's previous one (a replay), and a re-learnt offset — a
   * slow answer, a clock stepped back — can move `now()` backwards, so sign-ons only go forward.
   */
  private lastSignOnAt = 0;
  private turn: Promise<void> = Promise.resolve();
  private readonly fetchFn: typeof fetch;
  private readonly clock: () => number;

  constructor(private readonly options: ClientOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.clock = options.now ?? (() => Date.now());
  }

  /** The corrected time (ms) used for timestamps. */
  now(): number {
    return Math.round(this.clock() + this.offsetMs);
  }

  private learnTime(serverTime: number, sentAt: number): void {
    // The server read its clock somewhere between sending and receiving: assume halfway.
    this.offsetMs = serverTime - (sentAt + this.clock()) / 2;
  }

  /** After `terminal_request_stale`: adopt the server's clock from its Date header; false if it sent none. */
  private learnFromStale(error: unknown): boolean {
    if (!(error instanceof TerminalApiError) || error.code !== 'terminal_request_stale' || error.serverDate === undefined) return false;
    // The Date header has whole seconds: aim at the middle of its second.
    this.offsetMs = error.serverDate + 500 - this.clock();
    return true;
  }

  private async postJson<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetchFn(`${this.options.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** Binds the device key with a one-time activation code. */
  async activate(code: string, serial: string, device: DeviceKey): Promise<ActivationReply> {
    const sentAt = this.clock();
    const reply = await this.postJson<ActivationReply>('/api/v1/terminal/activate', { code, serial, publicKey: device.publicKey });
    this.learnTime(reply.serverTime, sentAt);
    this.terminalId = reply.terminalId;
    this.device = device;
    return reply;
  }

  /**
   * Sign-on (签到): proves the device key, unwraps the session keys (X25519 → HKDF-SHA256 →
   * AES-256-GCM) and checks every key against its check value.
   */
  async signOn(device: DeviceKey | null = this.device, terminalId: string | null = this.terminalId): Promise<Session> {
    if (!device || !terminalId) throw new Error('signOn needs the device key and the terminal id');
    this.device = device;
    this.terminalId = terminalId;
    const s = subtle();
    const ephemeral = asPair(await s.generateKey({ name: 'X25519' }, false, ['deriveBits']));
    const ephemeralPublicKey = toBase64Url(new Uint8Array(await s.exportKey('raw', ephemeral.publicKey)));
    const attempt = async (): Promise<SignOnReply> => {
      const timestamp = Math.max(this.now(), this.lastSignOnAt + 1);
      const signature = new Uint8Array(await s.sign({ name: 'Ed25519' }, device.keyPair.privateKey, bytes(utf8(signOnString(terminalId, timestamp, ephemeralPublicKey)))));
      const sentAt = this.clock();
      let reply: SignOnReply;
      try {
        reply = await this.postJson<SignOnReply>('/api/v1/terminal/sign-on', { terminalId, timestamp, ephemeralPublicKey, signature: toBase64Url(signature) });
      } catch (error) {
        // Refused (stale, replayed…): the server kept nothing, so the timestamp may be used again
        // corrected. No answer at all: it may have been accepted, so the next one must be later.
        if (!(error instanceof TerminalApiError)) this.lastSignOnAt = timestamp;
        throw error;
      }
      this.lastSignOnAt = timestamp;
      this.learnTime(reply.serverTime, sentAt);
      return reply;
    };
    let reply: SignOnReply;
    try {
      reply = await attempt();
    } catch (error) {
      // A clock far off (a terminal restored from storage has learnt no offset yet): take the server's and retry once.
      if (!this.learnFromStale(error)) throw error;
      reply = await attempt();
    }

    const keys = await unwrapSessionKeys(ephemeral.privateKey, terminalId, reply.sessionId, reply.keys);
    this.operatorToken = null;
    this.session = {
      terminalId,
      sessionId: reply.sessionId,
      batchNo: reply.batchNo,
      expiresAt: reply.expiresAt,
      heartbeatIntervalS: reply.heartbeatIntervalS,
      pollIntervalS: reply.pollIntervalS,
      params: reply.params,
      keys,
      kcv: reply.keys.kcv,
      seq: 0,
    };
    return this.session;
  }

  /**
   * Builds a signed request without sending it (the next seq unless overridden). `path` is the
   * path and query as it will be sent, e.g. `/api/v1/terminal/commands?limit=10`. For tests and
   * tools; to send, use `fetchSigned` or `request`, which keep requests in sequence.
   */
  async prepare(method: string, path: string, body?: unknown, overrides: SignOverrides = {}): Promise<{ url: string; init: RequestInit }> {
    const session = this.session;
    if (!session) throw new Error('not signed on');
    const url = new URL(path, this.options.baseUrl);
    const pathAndQuery = `${url.pathname}${url.search}`;
    const payload = body === undefined ? undefined : utf8(JSON.stringify(body));
    const seq = overrides.seq ?? ++session.seq;
    const timestamp = overrides.timestamp ?? this.now();
    const operatorToken = this.operatorToken ?? '';
    const canonical = canonicalRequest({
      method,
      pathAndQuery,
      timestamp,
      seq,
      sessionId: session.sessionId,
      operatorToken,
      bodySha256Hex: payload ? sha256Hex(payload) : EMPTY_BODY_SHA256,
    });
    const mac = new Uint8Array(await subtle().sign('HMAC', session.keys.mac, bytes(utf8(canonical))));
    const headers: Record<string, string> = {
      [TERMINAL_HEADERS.terminalId]: session.terminalId,
      [TERMINAL_HEADERS.session]: session.sessionId,
      [TERMINAL_HEADERS.timestamp]: String(timestamp),
      [TERMINAL_HEADERS.seq]: String(seq),
      [TERMINAL_HEADERS.mac]: toBase64Url(mac),
    };
    if (operatorToken) headers[TERMINAL_HEADERS.operator] = operatorToken;
    if (payload) headers['content-type'] = JSON_TYPE;
    return { url: url.toString(), init: { method, headers, ...(payload ? { body: bytes(payload) } : {}) } };
  }

  /**
   * Sends one signed request in turn and resolves with the raw response once its headers are in
   * (e.g. to stream a bundle download). Prefer this to `prepare` + `fetch`: requests sent around
   * the turn can reach the server out of sequence and be refused.
   */
  fetchSigned(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return this.send(method, path, body, signal);
  }

  /** Sends one signed request in turn; resolves with the response once its headers are in. */
  private async send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const previous = this.turn;
    let release: () => void = () => undefined;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      const { url, init } = await this.prepare(method, path, body);
      return await this.fetchFn(url, { ...init, ...(signal ? { signal } : {}) });
    } finally {
      release();
    }
  }

  /**
   * A signed JSON request. Once, it recovers by itself: a lost session (expired, unknown) by
   * signing on again, a stale clock by adopting the server's, a sequence refusal by moving past
   * the server's last accepted seq.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.send(method, path, body);
      if (res.ok) return (await res.json()) as T;
      const error = await errorOf(res);
      if (attempt > 1) throw error;
      if ((error.code === 'terminal_session_expired' || error.code === 'terminal_session_unknown') && this.device) {
        await this.signOn();
      } else if (this.learnFromStale(error)) {
        // retry with the corrected clock
      } else if (error.code === 'terminal_request_replayed' && this.session && typeof error.data?.last_seq === 'number') {
        this.session.seq = Math.max(this.session.seq, error.data.last_seq);
      } else {
        throw error;
      }
    }
  }

  echo(): Promise<{ serverTime: number; terminalId: string; operatorNo: string | null }> {
    return this.request('GET', '/api/v1/terminal/echo');
  }

  heartbeat(input: HeartbeatInput): Promise<HeartbeatReply> {
    return this.request('POST', '/api/v1/terminal/heartbeat', input);
  }

  async commands(limit?: number): Promise<TerminalCommand[]> {
    const reply = await this.request<{ items: TerminalCommand[] }>('GET', `/api/v1/terminal/commands${limit ? `?limit=${limit}` : ''}`);
    return reply.items;
  }

  ack(id: string, result?: Record<string, unknown>): Promise<{ id: string; status: string; ackedAt: number | null }> {
    return this.request('POST', `/api/v1/terminal/commands/${encodeURIComponent(id)}/ack`, result === undefined ? {} : { result });
  }

  async operatorSignOn(operatorNo: string, password: string): Promise<{ operatorNo: string; name: string; role: 'cashier' | 'supervisor' }> {
    this.operatorToken = null;
    const reply = await this.request<{ operatorToken: string; operator: { operatorNo: string; name: string; role: 'cashier' | 'supervisor' } }>('POST', '/api/v1/terminal/operator/sign-on', { operatorNo, password });
    this.operatorToken = reply.operatorToken;
    return reply.operator;
  }

  async operatorSignOff(): Promise<void> {
    await this.request('POST', '/api/v1/terminal/operator/sign-off');
    this.operatorToken = null;
  }

  /** Sign-off (签退): the session is closed; sign on again to continue. */
  async signOff(): Promise<void> {
    await this.request('POST', '/api/v1/terminal/sign-off');
    this.session = null;
    this.operatorToken = null;
  }

  /**
   * Keeps the push stream open: reconnects with backoff (1 s doubling to 30 s) and signs on again
   * when the session is lost; stops when closed or when a newer connection of this terminal
   * replaced it.
   */
  openPush(handlers: PushHandlers): PushHandle {
    let closed = false;
    let connection: AbortController | null = null;
    let stopWaiting: () => void = () => undefined;
    const pause = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        stopWaiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const loop = async (): Promise<void> => {
      let backoff = 1000;
      while (!closed) {
        // One controller per connection: the silence watchdog aborts this one, close() the current one.
        const controller = new AbortController();
        connection = controller;
        let watchdog: ReturnType<typeof setTimeout> | undefined;
        const feed = (): void => {
          if (watchdog) clearTimeout(watchdog);
          watchdog = setTimeout(() => controller.abort(), PUSH_SILENCE_MS);
        };
        try {
          const res = await this.send('GET', '/api/v1/terminal/push', undefined, controller.signal);
          if (!res.ok || !res.body) throw await errorOf(res);
          backoff = 1000;
          feed();
          handlers.onOpen?.();
          let replaced = false;
          await readEvents(
            res.body,
            (type) => {
              if (type === 'wake') handlers.onWake();
              if (type === 'replaced') replaced = true;
            },
            feed,
          );
          if (replaced) closed = true;
        } catch (error) {
          if (closed) break;
          handlers.onError?.(error);
          if (error instanceof TerminalApiError && SESSION_LOST.has(error.code) && error.code !== 'terminal_session_closed' && this.device) {
            await this.signOn().catch((e: unknown) => handlers.onError?.(e));
          }
        } finally {
          if (watchdog) clearTimeout(watchdog);
        }
        if (closed) break;
        await pause(backoff * (0.75 + Math.random() / 2));
        backoff = Math.min(backoff * 2, 30_000);
      }
    };
    const done = loop();
    return {
      close() {
        closed = true;
        connection?.abort();
        stopWaiting();
      },
      done,
    };
  }

  /**
   * The whole command loop a terminal runs: push stream, fetch on connect and on every wake, a
   * fetch every poll interval besides, each command handed to `onCommand` once and then
   * acknowledged with its result. Fetches never overlap.
   */
  followCommands(onCommand: (command: TerminalCommand) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void, onError?: (error: unknown) => void): PushHandle {
    let running = false;
    let again = false;
    let stopped = false;
    /** The round in progress: `done` waits for it too, so nothing of this loop is in flight after it. */
    let round: Promise<void> = Promise.resolve();
    const drain = (): Promise<void> => {
      if (stopped) return round;
      if (running) {
        again = true;
        return round;
      }
      running = true;
      round = drainNow();
      return round;
    };
    const drainNow = async (): Promise<void> => {
      try {
        do {
          again = false;
          for (const command of await this.commands()) {
            const result = await onCommand(command);
            await this.ack(command.id, result ?? undefined);
          }
        } while (again && !stopped);
      } catch (error) {
        onError?.(error);
      } finally {
        running = false;
      }
    };
    const push = this.openPush({ onOpen: () => void drain(), onWake: () => void drain(), ...(onError ? { onError } : {}) });
    const poll = setInterval(() => void drain(), (this.session?.pollIntervalS ?? 300) * 1000);
    const done = push.done.finally(() => clearInterval(poll)).then(() => round);
    return {
      close() {
        stopped = true;
        clearInterval(poll);
        push.close();
      },
      done,
    };
  }

  // ─── Payments (server/src/payments/engine-routes.ts; appended by the payments engine part) ────

  /** A terminal payment request, `POST /api/v1/terminal/pay/<path>` (sale, balance, void, refund, …): a TxnReply or a batch answer. */
  pay<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', `/api/v1/terminal/pay/${path}`, body);
  }

  /** An ISO 9564 format 4 PIN block (32 hex digits) under this session's PIN key, as a PIN pad forms it. */
  async pinBlock(pin: string, pan: string): Promise<string> {
    if (!this.session) throw new Error('not signed on');
    return formatFourPinBlock(this.session.keys.pin, pin, pan);
  }
}

/**
 * ISO 9564 format 4: E(K, E(K, PIN field) xor PAN field), AES-128. PIN field: 4, length, PIN, fill
 * A to 8 bytes, 8 random bytes; PAN field: PAN length − 12, the PAN, zeros to 16 bytes. One AES
 * block is the first block of AES-CBC with a zero IV (WebCrypto has no ECB).
 */
export async function formatFourPinBlock(key: Key, pin: string, pan: string): Promise<string> {
  if (!/^\d{4,12}$/.test(pin)) throw new Error('a PIN is 4 to 12 digits');
  if (!/^\d{12,19}$/.test(pan)) throw new Error('a PAN is 12 to 19 digits');
  const field = new Uint8Array(16);
  field.set(fromHex(`4${pin.length.toString(16)}${pin}${'A'.repeat(14 - pin.length)}`)!, 0);
  field.set(globalThis.crypto.getRandomValues(new Uint8Array(8)), 8);
  const panField = fromHex(`${pan.length - 12}${pan}`.padEnd(32, '0'))!;
  const aes = async (b: Uint8Array): Promise<Uint8Array> => new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, bytes(b))).subarray(0, 16);
  const intermediate = await aes(field);
  field.fill(0);
  const block = await aes(intermediate.map((b, i) => b ^ panField[i]!));
  return toHex(block).toUpperCase();
}
