/**
 * Helpers for the channel tests only: a JSON message format (so the tests do not depend on the
 * ISO 8583 codec), throwaway certificates made with openssl, and event waits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MuxCodec } from '../mux.js';

export interface TestMessage {
  id: string;
  kind: 'req' | 'resp' | 'echo' | 'echo-resp';
  body?: string;
}

let echoes = 0;

export const jsonCodec: MuxCodec<TestMessage> = {
  encode: (m) => Buffer.from(JSON.stringify(m)),
  decode: (frame) => {
    const value: unknown = JSON.parse(frame.toString('utf8'));
    if (typeof value !== 'object' || value === null || !('id' in value) || !('kind' in value)) throw new TypeError('not a test message');
    return value as TestMessage;
  },
  requestKey: (m) => m.id,
  responseKey: (m) => (m.kind === 'resp' || m.kind === 'echo-resp' ? m.id : null),
  isRequest: (m) => m.kind === 'req' || m.kind === 'echo',
  echo: () => ({ id: `echo-${++echoes}`, kind: 'echo' }),
};

export const answer = (m: TestMessage): TestMessage => ({
  id: m.id,
  kind: m.kind === 'echo' ? 'echo-resp' : 'resp',
  ...(m.body === undefined ? {} : { body: m.body }),
});

export interface TestCerts {
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version']).status === 0;
}

/** Two self-signed P-256 certificates: the server's for 127.0.0.1, a terminal's for mutual TLS. */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'xiaowei-channel-tls-'));
  try {
    const make = (name: string, subject: string, san: string): { cert: string; key: string } => {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      const result = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '2',
          '-subj',
          subject,
          '-addext',
          `subjectAltName=${san}`,
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
      return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
    };
    const server = make('server', '/CN=127.0.0.1', 'IP:127.0.0.1');
    const client = make('client', '/CN=terminal-00000001', 'DNS:terminal-00000001');
    return { serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls a condition on the event loop (no duration is asserted; the test timeout bounds it). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
