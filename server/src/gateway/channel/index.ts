/**
 * TCP channels for ISO 8583 (or any length-prefixed format): framing, reconnecting client
 * channels, a server, a request/response multiplexer and a responder. Frames are Buffers; a
 * message format plugs in through `MuxCodec`.
 */
export { ChannelError, CHANNEL_ERRORS, isChannelError, type ChannelErrorCode } from './errors.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameDecoder,
  resolveFraming,
  type Framing,
  type FramingOptions,
  type LengthPrefix,
} from './framing.js';
export { CONNECTION_DEFAULTS, FrameConnection, type ChannelEvents, type ConnectionOptions, type FrameChannel } from './connection.js';
export {
  backoffDelay,
  ChannelServer,
  ClientChannel,
  CLIENT_DEFAULTS,
  listen,
  SERVER_DEFAULTS,
  type ChannelServerEvents,
  type ChannelServerOptions,
  type ClientChannelOptions,
  type ClientTlsOptions,
  type ReconnectOptions,
  type ServerTlsOptions,
} from './channel.js';
export { Mux, MUX_DEFAULTS, type EchoOptions, type MuxCodec, type MuxEvents, type MuxOptions, type Unhandled } from './mux.js';
export {
  attachResponder,
  RESPONDER_DEFAULTS,
  serveResponder,
  type ResponderCodec,
  type ResponderOptions,
  type ResponderStage,
} from './responder.js';
export { isoMatchKey, isoRequestKey, isRequestMti, responseMti } from './iso-keys.js';
