/**
 * The shell's side of the app bridge: answers one framed app's requests and forwards the events
 * it may show. Trust rules: a message counts only if it comes from that frame's window; the frame
 * may load exactly once (an app that navigates itself is cut off, so no other page inherits the
 * bridge); API calls are limited to the terminal API minus what only the shell may do.
 */
import {
  BRIDGE,
  isBridgeRequest,
  type ApiAnswer,
  type ApiCall,
  type AppContext,
  type BridgeError,
  type BridgeEvent,
  type BridgeEventName,
  type BridgeEvents,
  type BridgeMethods,
  type BridgeRequest,
  type MessageView,
  type TerminalStatusView,
} from '../core/bridge-protocol';

/** What the shell offers apps; implemented by the runtime. */
export interface BridgeServices {
  context(app: { code: string; version: string }): AppContext;
  status(): TerminalStatusView;
  messages(): MessageView[];
  markRead(id: string): Promise<{ queued: boolean }>;
  api(call: ApiCall): Promise<ApiAnswer>;
  pinBlock(pin: string, pan: string): Promise<string>;
  operatorSignOn(operatorNo: string, password: string): Promise<NonNullable<AppContext['operator']>>;
  storageGet(app: string, key: string): Promise<unknown>;
  storageSet(app: string, key: string, value: unknown): Promise<void>;
  print(lines: string[]): void;
  /** Calls `listener` whenever context, status or messages may have changed. */
  subscribe(listener: () => void): () => void;
}

export interface BridgeHandlers {
  onClose: () => void;
  onNavigatedAway: () => void;
}

export class BridgeRefusal extends Error {
  constructor(readonly error: BridgeError) {
    super(error.en);
    this.name = 'BridgeRefusal';
  }
}

const TERMINAL_API = '/api/v1/terminal/';
// Keys, sessions, operators, the command queue, updates and push belong to the shell alone.
const SHELL_ONLY = /^\/api\/v1\/terminal\/(activate|sign-on|sign-off|operator|push|commands|updates|apps)(\/|\?|$)/;

/** Whether an app may make this API call through the shell. */
export function allowedApiCall(call: unknown): call is ApiCall {
  if (typeof call !== 'object' || call === null) return false;
  const { method, path } = call as Partial<ApiCall>;
  if (method !== 'GET' && method !== 'POST') return false;
  if (typeof path !== 'string' || path.length > 512 || !path.startsWith(TERMINAL_API)) return false;
  if (/(^|\/)\.\.?(\/|$)|[\\#\s]|%2e|%2f/i.test(path)) return false;
  return !SHELL_ONLY.test(path);
}

/**
 * Apps that may have PINs enciphered and operators signed on through the bridge: the bank's
 * payments apps only (a signed bundle of that code). Any other app asking is refused, so a
 * scenario app cannot guess operator passwords or use the PIN key.
 */
export const PAYMENT_APPS: ReadonlySet<string> = new Set(['cashier']);

/** An app's stored value may be at most this long as JSON (a day's transactions fit easily). */
const MAX_STORED = 1_000_000;

function storageKey(key: unknown): key is string {
  return typeof key === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(key);
}

function refusal(code: string, zh: string, en: string): BridgeRefusal {
  return new BridgeRefusal({ code, zh, en });
}

export function attachBridge(frame: HTMLIFrameElement, app: { code: string; version: string }, services: BridgeServices, handlers: BridgeHandlers): () => void {
  let loads = 0;
  let alive = true;
  const target = (): Window | null => (alive ? frame.contentWindow : null);

  const post = (message: unknown): void => {
    // The app's origin is opaque, so '*' is the only target that reaches it; the frame can hold
    // no other page (see onLoad), and nothing secret is ever sent.
    target()?.postMessage(message, '*');
  };
  const emit = <E extends BridgeEventName>(event: E, data: BridgeEvents[E]): void => {
    const message: BridgeEvent<E> = { bridge: BRIDGE, event, data };
    post(message);
  };

  async function answer(request: BridgeRequest): Promise<unknown> {
    switch (request.method) {
      case 'context':
        return services.context(app);
      case 'status':
        return services.status();
      case 'messages.list':
        return services.messages();
      case 'messages.read': {
        const params = request.params as BridgeMethods['messages.read']['params'] | undefined;
        if (typeof params?.id !== 'string') throw refusal('bad_request', '参数无效', 'Invalid parameters');
        return services.markRead(params.id);
      }
      case 'api':
        if (!allowedApiCall(request.params)) throw refusal('api_not_allowed', '应用无权调用此接口', 'Apps may not call this endpoint');
        return services.api(request.params);
      case 'close':
        handlers.onClose();
        return null;
      case 'pin.block': {
        if (!PAYMENT_APPS.has(app.code)) throw refusal('api_not_allowed', '应用无权使用密码键盘', 'This app may not use the PIN pad');
        const params = request.params as Partial<BridgeMethods['pin.block']['params']> | undefined;
        if (typeof params?.pin !== 'string' || !/^\d{4,12}$/.test(params.pin) || typeof params.pan !== 'string' || !/^\d{12,19}$/.test(params.pan)) {
          throw refusal('bad_request', '密码或卡号格式无效', 'Invalid PIN or card number');
        }
        return { pinBlock: await services.pinBlock(params.pin, params.pan) };
      }
      case 'operator.signOn': {
        if (!PAYMENT_APPS.has(app.code)) throw refusal('api_not_allowed', '应用无权登录操作员', 'This app may not sign operators on');
        const params = request.params as Partial<BridgeMethods['operator.signOn']['params']> | undefined;
        if (typeof params?.operatorNo !== 'string' || typeof params.password !== 'string' || params.password.length > 64) throw refusal('bad_request', '参数无效', 'Invalid parameters');
        return services.operatorSignOn(params.operatorNo, params.password);
      }
      case 'print': {
        const params = request.params as Partial<BridgeMethods['print']['params']> | undefined;
        const lines = params?.lines;
        if (!Array.isArray(lines) || lines.length > 200 || !lines.every((l) => typeof l === 'string' && l.length <= 200)) throw refusal('bad_request', '参数无效', 'Invalid parameters');
        services.print(lines);
        return null;
      }
      case 'storage.get': {
        const params = request.params as Partial<BridgeMethods['storage.get']['params']> | undefined;
        if (!storageKey(params?.key)) throw refusal('bad_request', '参数无效', 'Invalid parameters');
        return (await services.storageGet(app.code, params.key)) ?? null;
      }
      case 'storage.set': {
        const params = request.params as Partial<BridgeMethods['storage.set']['params']> | undefined;
        if (!storageKey(params?.key)) throw refusal('bad_request', '参数无效', 'Invalid parameters');
        let size: number;
        try {
          size = JSON.stringify(params.value ?? null).length;
        } catch {
          throw refusal('bad_request', '参数无效', 'Invalid parameters');
        }
        if (size > MAX_STORED) throw refusal('too_large', '数据过大', 'Value too large');
        await services.storageSet(app.code, params.key, params.value ?? null);
        return null;
      }
      default:
        throw refusal('unknown_method', '未知的调用', 'Unknown bridge method');
    }
  }

  const onMessage = (event: MessageEvent<unknown>): void => {
    if (!alive || event.source !== frame.contentWindow || !isBridgeRequest(event.data)) return;
    const request = event.data;
    answer(request).then(
      (result) => post({ bridge: BRIDGE, id: request.id, ok: true, result }),
      (error: unknown) => {
        const e: BridgeError =
          error instanceof BridgeRefusal ? error.error : { code: 'shell_error', zh: '终端处理失败', en: error instanceof Error ? error.message : 'The shell failed' };
        post({ bridge: BRIDGE, id: request.id, ok: false, error: e });
      },
    );
  };

  const onLoad = (): void => {
    loads += 1;
    if (loads > 1) {
      // The app navigated its frame: whatever loaded now is not the app we built. Cut it off.
      alive = false;
      handlers.onNavigatedAway();
    }
  };

  const unsubscribe = services.subscribe(() => {
    emit('context', services.context(app));
    emit('status', services.status());
    emit('messages', services.messages());
  });

  window.addEventListener('message', onMessage);
  frame.addEventListener('load', onLoad);
  return () => {
    alive = false;
    unsubscribe();
    window.removeEventListener('message', onMessage);
    frame.removeEventListener('load', onLoad);
  };
}
