import type { ChannelServer } from './channel.js';
import type { FrameChannel } from './connection.js';
import type { MuxCodec } from './mux.js';

export type ResponderCodec<M> = Pick<MuxCodec<M>, 'encode' | 'decode'> & Partial<Pick<MuxCodec<M>, 'isRequest'>>;

/** Where a responder failure happened; the error never carries frame bytes. */
export type ResponderStage = 'decode' | 'handle' | 'send';

export interface ResponderOptions<M> {
  /** With `isRequest`, frames that are not requests (answers to our own mux) are left alone. */
  codec: ResponderCodec<M>;
  /** Returns the response, or null/undefined to send nothing. */
  handle(request: M, channel: FrameChannel): M | null | undefined | Promise<M | null | undefined>;
  onError?(error: unknown, stage: ResponderStage): void;
  /**
   * Requests being handled or written at once on one connection; at the limit the responder
   * stops reading, so TCP flow control slows the peer instead of our memory growing.
   */
  maxInFlight?: number;
}

export const RESPONDER_DEFAULTS = { maxInFlight: 64 } as const;

/**
 * Answers requests arriving on one channel: each decoded request goes to `handle`, and its
 * response is written back on the same channel as soon as it is ready (in any order; the peer's
 * mux matches by key). Returns a function that detaches the responder.
 */
export function attachResponder<M>(channel: FrameChannel, options: ResponderOptions<M>): () => void {
  const maxInFlight = options.maxInFlight ?? RESPONDER_DEFAULTS.maxInFlight;
  const report = (error: unknown, stage: ResponderStage): void => {
    try {
      options.onError?.(error, stage);
    } catch {
      // A failing error reporter has nowhere left to report to; it must not take the link down.
    }
  };
  let inFlight = 0;
  let paused = false;
  let attached = true;
  /** Requests read before the pause took effect (at most one socket read's worth). */
  const backlog: M[] = [];

  const answer = async (request: M): Promise<void> => {
    let response: M | null | undefined;
    try {
      response = await options.handle(request, channel);
    } catch (error) {
      // The peer gets no answer and times out; a handler should answer refusals itself.
      report(error, 'handle');
      return;
    }
    if (response == null || !attached) return;
    try {
      await channel.send(options.codec.encode(response));
    } catch (error) {
      report(error, 'send');
    }
  };

  const start = (request: M): void => {
    inFlight++;
    void answer(request).finally(() => {
      inFlight--;
      if (attached && backlog.length > 0) start(backlog.shift()!);
      else if (paused && attached) {
        paused = false;
        channel.resume();
      }
    });
  };

  const onFrame = (frame: Buffer): void => {
    // Zero-length frames are keep-alives.
    if (frame.length === 0) return;
    let request: M;
    try {
      request = options.codec.decode(frame);
      if (options.codec.isRequest && !options.codec.isRequest(request)) return;
    } catch (error) {
      report(error, 'decode');
      return;
    }
    if (inFlight < maxInFlight) {
      start(request);
      return;
    }
    backlog.push(request);
    if (!paused) {
      paused = true;
      channel.pause();
    }
  };

  channel.on('frame', onFrame);
  return () => {
    attached = false;
    backlog.length = 0;
    channel.off('frame', onFrame);
    if (paused) {
      paused = false;
      channel.resume();
    }
  };
}

/** Attaches a responder to every connection the server accepts from now on. */
export function serveResponder<M>(server: ChannelServer, options: ResponderOptions<M>): () => void {
  const detachers = new Set<() => void>();
  const onConnection = (channel: FrameChannel): void => {
    const detach = attachResponder(channel, options);
    detachers.add(detach);
    channel.once('down', () => detachers.delete(detach));
  };
  for (const channel of server.connections) onConnection(channel);
  server.on('connection', onConnection);
  return () => {
    server.off('connection', onConnection);
    for (const detach of detachers) detach();
    detachers.clear();
  };
}
