/**
 * The app side of the shell bridge: promise-returning calls and event subscriptions over
 * postMessage to the parent (the shell). An app never sees a key or a session: it asks.
 */
import {
  BRIDGE,
  isBridgeMessage,
  type BridgeError,
  type BridgeEventName,
  type BridgeEvents,
  type BridgeMethod,
  type BridgeMethods,
  type BridgeResponse,
} from '../../src/core/bridge-protocol';

export class ShellError extends Error {
  constructor(readonly error: BridgeError) {
    super(error.en);
    this.name = 'ShellError';
  }
}

let nextId = 1;
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
const listeners = new Map<BridgeEventName, Set<(data: never) => void>>();

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  // Only the shell that framed us speaks this protocol.
  if (event.source !== window.parent || !isBridgeMessage(event.data)) return;
  const message = event.data;
  if ('event' in message) {
    for (const listener of listeners.get(message.event) ?? []) (listener as (data: unknown) => void)(message.data);
    return;
  }
  const response: BridgeResponse = message;
  const pending = waiting.get(response.id);
  if (!pending) return;
  waiting.delete(response.id);
  if (response.ok) pending.resolve(response.result);
  else pending.reject(new ShellError(response.error));
});

export function call<M extends BridgeMethod>(method: M, ...params: BridgeMethods[M]['params'] extends undefined ? [] : [BridgeMethods[M]['params']]): Promise<BridgeMethods[M]['result']> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    // The shell's origin is the same as the terminal page; our own origin is opaque ('null').
    window.parent.postMessage({ bridge: BRIDGE, id, method, params: params[0] }, '*');
  });
}

export function on<E extends BridgeEventName>(event: E, listener: (data: BridgeEvents[E]) => void): () => void {
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}
