/**
 * bench:payments load generator — a separate process from the servers (started by payments.ts).
 * It brings its terminals up over the real protocol (activation with a fresh Ed25519 device key,
 * sign-on with session-key unwrapping, cashier sign-on), then, on command, runs closed-loop card
 * sales: every terminal sends one MAC-signed `POST /terminal/pay/sale` at a time (fresh sequence
 * number, fresh clientId, ISO 9564 format 4 PIN block under its session PIN key) and the next as
 * soon as the answer is in. Each request's latency is kept with its completion time so the parent
 * can cut the run into windows.
 *
 * PIN blocks are computed once per (terminal session, card) and reused for every sale of that
 * terminal: format 4 blocks carry 8 random bytes but the host does not refuse a repeated block, so
 * that is fine for a bench (a real terminal makes a fresh one per PIN entry).
 *
 * Protocol: argv[2] = JSON file with a LoaderConfig. stdout: JSON lines (`ready`, `result`,
 * `log`). stdin: JSON lines (`{"cmd":"run",...}`, `{"cmd":"exit"}`).
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { panField4, pinField4 } from '../../server/src/crypto/pin-block.js';
import { TerminalApiError, TerminalClient, generateDeviceKey, type Key } from '../../server/src/terminals/client.js';

export interface LoaderTerminal {
  serial: string;
  code: string;
  /** Which run uses it: 'uniform' (spread over merchants) or 'hot' (all of one merchant). */
  set: string;
  merchantId: string;
  /** The server this terminal talks to. */
  baseUrl: string;
}

export interface LoaderCard {
  pan: string;
  expiry: string;
  pin: string;
}

export interface LoaderConfig {
  terminals: LoaderTerminal[];
  cards: LoaderCard[];
  /** Cards each terminal takes turns with (its own slice of the card list). */
  cardsPerTerminal: number;
  operator: { no: string; password: string };
  /** Sale amounts are uniform in [min, max] fen. */
  amount: { min: number; max: number };
  /** Activations/sign-ons at once. */
  bringUpConcurrency: number;
}

export interface RunCommand {
  cmd: 'run';
  set: string;
  tag: string;
  /** Total seconds of load (warm-up included). */
  seconds: number;
  /** Use at most this many terminals of the set (0 = all). */
  concurrency: number;
  /** 'echo': signed `GET /terminal/echo` instead of sales — the protocol layer alone, for comparison. */
  op?: 'sale' | 'echo';
}

/** Per merchant: what the terminals saw approved. */
export interface MerchantTally {
  count: number;
  amount: number;
  fee: number;
}

export interface RunResult {
  type: 'result';
  tag: string;
  startedAt: number;
  terminals: number;
  /** Completion time (ms since startedAt, 0.1 ms) and latency (ms, 0.01 ms) per answered request. */
  doneAt: number[];
  latency: number[];
  approved: number;
  declined: Record<string, number>;
  errors: Record<string, number>;
  merchants: Record<string, MerchantTally>;
}

interface SaleReply {
  id: string;
  approved: boolean;
  responseCode: string;
  amount: number;
  fee: number;
  status: string;
}

const emit = (line: object): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

/** One AES block under the session PIN key: AES-CBC with a zero IV, first block (= AES-ECB). */
async function aesBlock(key: Key, block: Uint8Array): Promise<Uint8Array> {
  const out = await globalThis.crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, new Uint8Array(block));
  return new Uint8Array(out).subarray(0, 16);
}

/** ISO 9564-1 format 4: E(K, E(K, PIN field) ⊕ PAN field), as hex. */
export async function pinBlockHex(key: Key, pin: string, pan: string): Promise<string> {
  const field = pinField4(pin);
  const intermediate = await aesBlock(key, field);
  field.fill(0);
  const pf = panField4(pan);
  for (let i = 0; i < 16; i++) intermediate[i]! ^= pf[i]!;
  return Buffer.from(await aesBlock(key, intermediate)).toString('hex').toUpperCase();
}

interface Live {
  t: LoaderTerminal;
  index: number;
  client: TerminalClient;
  cards: { pan: string; expiry: string; pinBlock: string }[];
}

function describe(error: unknown): string {
  if (error instanceof TerminalApiError) return error.code;
  if (error && typeof error === 'object' && 'cause' in error && error.cause && typeof error.cause === 'object' && 'code' in error.cause) return String(error.cause.code);
  return error instanceof Error ? error.message.slice(0, 80) : String(error);
}

async function bringUp(config: LoaderConfig): Promise<Live[]> {
  const live: Live[] = [];
  const failures = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < config.terminals.length; i = next++) {
      const t = config.terminals[i]!;
      try {
        const client = new TerminalClient({ baseUrl: t.baseUrl });
        await client.activate(t.code, t.serial, await generateDeviceKey());
        const session = await client.signOn();
        await client.operatorSignOn(config.operator.no, config.operator.password);
        const cards: Live['cards'] = [];
        for (let j = 0; j < config.cardsPerTerminal && config.cards.length > 0; j++) {
          const card = config.cards[(i * config.cardsPerTerminal + j) % config.cards.length]!;
          cards.push({ pan: card.pan, expiry: card.expiry, pinBlock: await pinBlockHex(session.keys.pin, card.pin, card.pan) });
        }
        live.push({ t, index: i, client, cards });
      } catch (error) {
        const why = describe(error);
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: config.bringUpConcurrency }, worker));
  if (failures.size > 0) emit({ type: 'log', line: `bring-up failures: ${JSON.stringify(Object.fromEntries(failures))}` });
  return live.sort((a, b) => a.index - b.index);
}

async function run(live: Live[], config: LoaderConfig, command: RunCommand): Promise<RunResult> {
  const chosen = live.filter((l) => l.t.set === command.set);
  const terminals = command.concurrency > 0 ? chosen.slice(0, command.concurrency) : chosen;
  const startedAt = Date.now();
  const t0 = performance.now();
  const end = t0 + command.seconds * 1000;
  const result: RunResult = { type: 'result', tag: command.tag, startedAt, terminals: terminals.length, doneAt: [], latency: [], approved: 0, declined: {}, errors: {}, merchants: {} };
  const span = config.amount.max - config.amount.min + 1;
  const loop = async (l: Live): Promise<void> => {
    let n = 0;
    while (performance.now() < end) {
      n++;
      const card = l.cards.length > 0 ? l.cards[n % l.cards.length]! : { pan: '', expiry: '', pinBlock: '' };
      const amount = config.amount.min + Math.floor(Math.random() * span);
      const body = { clientId: `${command.tag}.${l.index}.${n}`, amount, card: { pan: card.pan, expiry: card.expiry }, pinBlock: card.pinBlock };
      const started = performance.now();
      try {
        const reply =
          command.op === 'echo'
            ? (await l.client.request('GET', '/api/v1/terminal/echo'), { id: '', approved: false, responseCode: 'echo', amount: 0, fee: 0, status: '' })
            : await l.client.request<SaleReply>('POST', '/api/v1/terminal/pay/sale', body);
        const finished = performance.now();
        result.doneAt.push(Math.round((finished - t0) * 10) / 10);
        result.latency.push(Math.round((finished - started) * 100) / 100);
        if (reply.approved) {
          result.approved++;
          const tally = (result.merchants[l.t.merchantId] ??= { count: 0, amount: 0, fee: 0 });
          tally.count++;
          tally.amount += reply.amount;
          tally.fee += reply.fee;
        } else {
          result.declined[reply.responseCode] = (result.declined[reply.responseCode] ?? 0) + 1;
        }
      } catch (error) {
        const why = describe(error);
        result.errors[why] = (result.errors[why] ?? 0) + 1;
        // Do not spin on a dead server.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(terminals.map(loop));
  return result;
}

async function main(): Promise<void> {
  const config = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as LoaderConfig;
  const live = await bringUp(config);
  const bySet: Record<string, number> = {};
  for (const l of live) bySet[l.t.set] = (bySet[l.t.set] ?? 0) + 1;
  emit({ type: 'ready', terminals: live.length, bySet });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const command = JSON.parse(line) as RunCommand | { cmd: 'exit' };
    if (command.cmd === 'exit') break;
    emit(await run(live, config, command));
  }
  process.exit(0);
}

await main();
