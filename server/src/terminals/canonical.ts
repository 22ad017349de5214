/**
 * The terminal protocol's canonical strings, shared word for word by the server and the terminal
 * client (client.ts). Isomorphic on purpose: no `node:` import, only `TextEncoder`, so the browser
 * terminal app imports this same file. docs/terminal-protocol.md describes every string here.
 */

/** Version tag of the request MAC canonical form. */
export const MAC_SCHEME = 'XW1-HMAC-SHA256';
/** Version tag of the sign-on string the device key signs. */
export const SIGN_ON_SCHEME = 'XW1-SIGNON';
/** Version tag of the HKDF `info` that binds wrapped session keys to a terminal and a session. */
export const SESSION_KEYS_SCHEME = 'XW1-SESSION-KEYS';

/** Request headers of a MAC-verified terminal request (lower case, as Node reports them). */
export const TERMINAL_HEADERS = {
  terminalId: 'x-terminal-id',
  session: 'x-terminal-session',
  timestamp: 'x-terminal-timestamp',
  seq: 'x-terminal-seq',
  mac: 'x-terminal-mac',
  operator: 'x-terminal-operator',
} as const;

/** How far a terminal's clock (timestamps in ms) may be from the server's, either way. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** SHA-256 of zero bytes: the body digest of a request without a body (GET). */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface CanonicalRequest {
  /** Upper case, e.g. `POST`. */
  method: string;
  /** Path and query exactly as sent on the request line, e.g. `/api/v1/terminal/commands?limit=5`. */
  pathAndQuery: string;
  /** Milliseconds since the epoch, the `X-Terminal-Timestamp` value. */
  timestamp: number;
  /** The `X-Terminal-Seq` value. */
  seq: number;
  sessionId: string;
  /** The `X-Terminal-Operator` value, or '' when the request carries none. */
  operatorToken: string;
  /** Lower-case hex SHA-256 of the raw body bytes (EMPTY_BODY_SHA256 without a body). */
  bodySha256Hex: string;
}

/**
 * The string a request MAC covers: eight lines joined by LF, no trailing newline. Every value is
 * ASCII by construction (the server refuses headers that are not), so its UTF-8 bytes are the MAC
 * input.
 */
export function canonicalRequest(r: CanonicalRequest): string {
  return [MAC_SCHEME, r.method.toUpperCase(), r.pathAndQuery, String(r.timestamp), String(r.seq), r.sessionId, r.operatorToken, r.bodySha256Hex].join('\n');
}

/** What the device key signs at sign-on. */
export function signOnString(terminalId: string, timestamp: number, ephemeralPublicKey: string): string {
  return [SIGN_ON_SCHEME, terminalId, String(timestamp), ephemeralPublicKey].join('\n');
}

/** HKDF `info` for the session keys of one sign-on. */
export function sessionKeysContext(terminalId: string, sessionId: string): string {
  return [SESSION_KEYS_SCHEME, terminalId, sessionId].join('\n');
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Base64url without padding (RFC 4648 §5), as every binary value in the protocol is written. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes base64url without padding; null for anything else (padding, '+', '/', stray bits). */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // Refuse non-canonical encodings (stray low bits in the last character), so one value has one spelling.
  return toBase64Url(out) === text ? out : null;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Decodes hex (either case); null for odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
