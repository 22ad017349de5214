/**
 * For the acquirer's tests (not a test itself): a platform terminal of kind 'pos' for a payments
 * world's merchant, registered with the host; the clear TMK the key-loading device would hold.
 */
import type { FastifyInstance } from 'fastify';
import { xor } from '../../crypto/primitives.js';

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

/** Registers a new 'pos' terminal of the owner with a generated TMK; the clear TMK is the XOR of the issued components. */
export async function registerPos(app: FastifyInstance, token: string, ownerPartyId: string): Promise<RegisteredPos> {
  const terminalId = await createPosPlatformTerminal(app, token, ownerPartyId);
  const tid = newTid();
  const res = await call(app, token, 'POST', '/gateway/pos-terminals', { terminal_id: terminalId, tid });
  if (res.status !== 201) throw new Error(`pos terminal: ${res.status} ${JSON.stringify(res.body)}`);
  const issued = res.body.issued_components as { component: string }[];
  const tmk = xor(Buffer.from(issued[0]!.component, 'hex'), Buffer.from(issued[1]!.component, 'hex'));
  return { terminalId, tid, mid: res.body.mid as string, tmkHex: tmk.toString('hex'), tmkKcv: res.body.tmk_kcv as string };
}
