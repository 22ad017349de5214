/** What the runtime needs from the terminal protocol; runtime/protocol.ts adapts the server's client.ts to it. */
import type { OperatorView } from './types';

export interface DeviceIdentity {
  terminalId: string;
  serial: string;
  /** The device's Ed25519 key pair (private half non-extractable), kept in IndexedDB as CryptoKeys. */
  keyPair: CryptoKeyPair;
  /** Raw public key, base64url. */
  publicKey: string;
  /** The platform's bundle-signing public key (raw Ed25519, base64url), learned at activation. */
  platformSigningKey: string;
  merchantName: string | null;
  orgName: string | null;
  orgNameEn: string | null;
  activatedAt: number;
}

export interface SignedOn {
  sessionId: string;
  batchNo: string | null;
  /** ms */
  openedAt: number;
  /** ms */
  expiresAt: number | null;
  heartbeatIntervalS: number;
  pollIntervalS: number;
  params: Record<string, unknown>;
}

export interface ProtocolAnswer {
  status: number;
  /** The parsed JSON body, when the answer was JSON. */
  body: unknown;
  /** The raw body. */
  bytes: Uint8Array;
}

/** A request without a 2xx answer: a typed server error, or `network` (status 0) when none came. */
export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly zh: string,
    readonly en: string,
  ) {
    super(`${code}: ${en}`);
    this.name = 'ProtocolError';
  }

  get network(): boolean {
    return this.status === 0;
  }
}

export interface PushHandlers {
  onWake(): void;
  onState(connected: boolean): void;
  /** Why the stream dropped (the runtime reacts as to any refused request). */
  onError(error: ProtocolError): void;
}

export interface TerminalProtocol {
  activate(serial: string, code: string): Promise<DeviceIdentity>;
  signOn(device: DeviceIdentity): Promise<SignedOn>;
  signOff(): Promise<void>;
  operatorSignOn(operatorNo: string, password: string): Promise<OperatorView>;
  operatorSignOff(): Promise<void>;
  /** A MAC-signed request under the current session; throws ProtocolError unless 2xx. */
  call(method: 'GET' | 'POST', path: string, body?: unknown, options?: { idempotencyKey?: string }): Promise<ProtocolAnswer>;
  /** Opens the push stream (reconnecting by itself); returns the function that closes it. */
  openPush(handlers: PushHandlers): () => void;
  /** Forgets the session (after a sign-on failure or retirement). */
  dropSession(): void;
  /** The time (ms) corrected by what the server said (a cheap tablet's clock is often wrong). */
  now(): number;
  /**
   * An ISO 9564 format 4 PIN block (32 hex) enciphered under the session PIN key, which never
   * leaves the protocol. Optional: protocols without a session PIN key (tests) leave it out.
   */
  pinBlock?(pin: string, pan: string): Promise<string>;
}
