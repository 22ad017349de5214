/**
 * The messages between the shell and an app running in its sandboxed frame (window.postMessage).
 * The app has an opaque origin and no network (its page forbids connections): everything it
 * needs — who is signed on, the terminal's status, messages, signed API calls — it asks the
 * shell, which holds the keys and decides what an app may do.
 */

export const BRIDGE = 'xiaowei-bridge/1';

export type Language = 'zh-CN' | 'en-US';

export interface AppContext {
  language: Language;
  app: { code: string; version: string };
  terminal: { id: string; serial: string; merchantName: string | null; orgName: string | null };
  operator: { no: string; name: string | null; role: 'cashier' | 'supervisor' } | null;
}

export interface TerminalStatusView {
  online: boolean;
  pushConnected: boolean;
  lastHeartbeatAt: number | null;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  session: { id: string; batchNo: string | null; openedAt: number; expiresAt: number | null } | null;
  params: Record<string, unknown>;
  /** Running versions, `shell` included. */
  versions: Record<string, string>;
  outboxPending: number;
}

export interface MessageView {
  id: string;
  zh: string;
  en: string;
  receivedAt: number;
  readAt: number | null;
  /** The read receipt is waiting in the outbox. */
  receiptQueued: boolean;
}

/** A signed API call made for an app; only `/api/v1/terminal/` paths the shell allows. */
export interface ApiCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Queue in the outbox (sent exactly once, later if offline) instead of answering now. */
  durable?: boolean;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  /** Set for a durable call: its client id (Idempotency-Key); the answer comes later. */
  queuedId?: string;
}

export interface BridgeMethods {
  context: { params: undefined; result: AppContext };
  status: { params: undefined; result: TerminalStatusView };
  'messages.list': { params: undefined; result: MessageView[] };
  'messages.read': { params: { id: string }; result: { queued: boolean } };
  api: { params: ApiCall; result: ApiAnswer };
  close: { params: undefined; result: null };
  /**
   * The PIN typed on the app's PIN pad → an ISO 9564 format 4 block under the session PIN key
   * (the key stays in the shell). The PIN crosses the bridge in memory only and is not kept.
   */
  'pin.block': { params: { pin: string; pan: string }; result: { pinBlock: string } };
  /** Signs an operator on (e.g. a supervisor for a void); replaces the one signed on before. */
  'operator.signOn': { params: { operatorNo: string; password: string }; result: NonNullable<AppContext['operator']> };
  /** The app's own small key-value store in the shell's IndexedDB (sandboxed frames have none). */
  'storage.get': { params: { key: string }; result: unknown };
  'storage.set': { params: { key: string; value: unknown }; result: null };
  /** Prints plain text lines on the receipt printer (the browser's print, 58 mm layout); no HTML. */
  print: { params: { lines: string[] }; result: null };
}
export type BridgeMethod = keyof BridgeMethods;

export interface BridgeRequest<M extends BridgeMethod = BridgeMethod> {
  bridge: typeof BRIDGE;
  id: number;
  method: M;
  params: BridgeMethods[M]['params'];
}

export interface BridgeError {
  code: string;
  zh: string;
  en: string;
}

export type BridgeResponse = { bridge: typeof BRIDGE; id: number; ok: true; result: unknown } | { bridge: typeof BRIDGE; id: number; ok: false; error: BridgeError };

/** Pushed by the shell when something an app shows changes. */
export interface BridgeEvents {
  context: AppContext;
  status: TerminalStatusView;
  messages: MessageView[];
}
export type BridgeEventName = keyof BridgeEvents;
export interface BridgeEvent<E extends BridgeEventName = BridgeEventName> {
  bridge: typeof BRIDGE;
  event: E;
  data: BridgeEvents[E];
}

export function isBridgeRequest(value: unknown): value is BridgeRequest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.bridge === BRIDGE && typeof v.id === 'number' && Number.isSafeInteger(v.id) && typeof v.method === 'string';
}

export function isBridgeMessage(value: unknown): value is BridgeResponse | BridgeEvent {
  return typeof value === 'object' && value !== null && (value as { bridge?: unknown }).bridge === BRIDGE;
}
