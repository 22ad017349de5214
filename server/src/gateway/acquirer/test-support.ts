/**
 * For the acquirer's tests (not a test itself): a platform terminal of kind 'pos' for a payments
 * world's merchant, registered with the host; the clear TMK the key-loading device would hold.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { dukptAesInitialKey } from '../../crypto/dukpt-aes.js';
import { dukptTdesIpek } from '../../crypto/dukpt-tdes.js';
import { fixParity, xor } from '../../crypto/primitives.js';
import type { BdkAlgorithm, PinMode } from './dukpt.js';
import type { DukptScheme } from './dukpt-pad.js';

let counter = 0;

export interface RegisteredPos {
  terminalId: string;
  tid: string;
  mid: string;
  tmkHex: string;
  tmkKcv: string;
}

async function call(app: FastifyInstance, token: string, method: 'POST' | 'GET', url: string, payload?: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

/** A new platform terminal of kind 'pos' owned by `ownerPartyId`; its id. */
export async function createPosPlatformTerminal(app: FastifyInstance, token: string, ownerPartyId: string): Promise<string> {
  const serial = `CUP${String(process.pid % 100_000).padStart(5, '0')}${String(++counter).padStart(4, '0')}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  const res = await call(app, token, 'POST', '/terminals', { serial, model: 'LANDI E550', kind: 'pos', owner_party_id: ownerPartyId });
  if (res.status !== 201) throw new Error(`terminal: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** A unique 8-character field 41. */
export const newTid = (): string => `P${String(process.pid % 1000).padStart(3, '0')}${String(++counter).padStart(4, '0')}`;

/** Registers a new 'pos' terminal of the owner with a generated TMK (and the PIN mode given); the clear TMK is the XOR of the issued components. */
export async function registerPos(app: FastifyInstance, token: string, ownerPartyId: string, pin?: { pin_mode: PinMode; bdk?: string }): Promise<RegisteredPos> {
  const terminalId = await createPosPlatformTerminal(app, token, ownerPartyId);
  const tid = newTid();
  const res = await call(app, token, 'POST', '/gateway/pos-terminals', { terminal_id: terminalId, tid, ...(pin ?? {}) });
  if (res.status !== 201) throw new Error(`pos terminal: ${res.status} ${JSON.stringify(res.body)}`);
  const issued = res.body.issued_components as { component: string }[];
  const tmk = xor(Buffer.from(issued[0]!.component, 'hex'), Buffer.from(issued[1]!.component, 'hex'));
  return { terminalId, tid, mid: res.body.mid as string, tmkHex: tmk.toString('hex'), tmkKcv: res.body.tmk_kcv as string };
}

/** A BDK imported through the key ceremony route, with the clear key the key-injection facility holds. */
export interface TestBdk {
  name: string;
  algorithm: BdkAlgorithm;
  scheme: DukptScheme;
  /** The clear BDK (XOR of the components). */
  key: Buffer;
  components: string[];
  kcv: string;
  componentKcvs: string[];
}

/** Draws two components and runs the BDK ceremony with them. */
export async function importTestBdk(app: FastifyInstance, token: string, algorithm: BdkAlgorithm): Promise<TestBdk> {
  const bytes = algorithm === 'AES256' ? 32 : 16;
  const parts = [randomBytes(bytes), randomBytes(bytes)];
  const name = `bdk-${algorithm.toLowerCase()}-${String(++counter)}-${randomBytes(3).toString('hex')}`;
  const components = parts.map((p) => p.toString('hex').toUpperCase());
  const res = await call(app, token, 'POST', '/gateway/bdks', { name, algorithm, components });
  if (res.status !== 201) throw new Error(`bdk: ${res.status} ${JSON.stringify(res.body)}`);
  const clear = xor(parts[0]!, parts[1]!);
  return {
    name,
    algorithm,
    scheme: algorithm === 'TDES2' ? 'tdes' : 'aes',
    key: algorithm === 'TDES2' ? fixParity(clear) : clear,
    components,
    kcv: res.body.kcv as string,
    componentKcvs: res.body.component_kcvs as string[],
  };
}

/**
 * What a key-injection facility loads into a new PIN pad under the BDK: a fresh initial KSN
 * (counter 0) and the initial key derived for it — `PosClient`'s `dukpt` option.
 */
export function injectPad(bdk: TestBdk): { scheme: DukptScheme; initialKey: string; ksn: string } {
  if (bdk.scheme === 'tdes') {
    // 59-bit initial key serial number, 21-bit counter 0.
    const ksn = Buffer.concat([randomBytes(7), Buffer.alloc(3)]);
    ksn[7] = ksn[7]! & 0xe0;
    const hex = ksn.toString('hex').toUpperCase();
    return { scheme: 'tdes', initialKey: dukptTdesIpek(bdk.key, hex).toString('hex'), ksn: hex };
  }
  const hex = Buffer.concat([randomBytes(8), Buffer.alloc(4)]).toString('hex').toUpperCase();
  return { scheme: 'aes', initialKey: dukptAesInitialKey(bdk.key, hex).toString('hex'), ksn: hex };
}
