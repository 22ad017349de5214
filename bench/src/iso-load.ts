/**
 * The load generator of the ISO 8583 end-to-end benchmark (bench/src/iso-e2e.ts), in its own
 * process: simulated conventional POS terminals (server/src/gateway/acquirer/pos-client.ts), each
 * its own TCP connection to the acquirer host, signed on with its TMK, selling with the switch
 * simulator's cards (format 0 PIN blocks under the TPK, field 64 MAC). Closed loop: each terminal
 * has one sale in flight at a time, as a real POS does.
 *
 *   node --import tsx bench/src/iso-load.ts <config.json>
 *
 * Prints JSON lines: {"type":"ready"} once every terminal signed on, then one {"type":"result"}.
 */
import fs from 'node:fs';
import { PosClient } from '../../server/src/gateway/acquirer/pos-client.js';

export interface IsoLoadConfig {
  host: string;
  port: number;
  terminals: { tid: string; mid: string; tmk: string }[];
  cards: { pan: string; expiry: string; pin: string }[];
  seconds: number;
  amount: { min: number; max: number };
}

export interface IsoLoadResult {
  type: 'result';
  startedAt: number;
  /** Per answered sale: ms after start when it was answered, and its latency in ms. */
  doneAt: number[];
  latency: number[];
  approved: number;
  approvedAmount: number;
  codes: Record<string, number>;
  errors: number;
  errorKinds: Record<string, number>;
}

const say = (event: object): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as IsoLoadConfig;
  const clients = await Promise.all(
    config.terminals.map(async (t) => {
      const c = await PosClient.connect(config.host, config.port, { tid: t.tid, mid: t.mid, timeoutMs: 30_000 });
      const signed = await c.signOn(t.tmk);
      if (signed.code !== '00' || !signed.keysValid) throw new Error(`sign-on of ${t.tid} answered ${signed.code}`);
      return c;
    }),
  );
  say({ type: 'ready', terminals: clients.length });

  const result: IsoLoadResult = { type: 'result', startedAt: Date.now(), doneAt: [], latency: [], approved: 0, approvedAmount: 0, codes: {}, errors: 0, errorKinds: {} };
  const t0 = performance.now();
  const end = t0 + config.seconds * 1000;
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4_294_967_296;
  };
  await Promise.all(
    clients.map(async (client, i) => {
      let k = i;
      while (performance.now() < end) {
        const card = config.cards[k++ % config.cards.length]!;
        const amount = config.amount.min + Math.floor(random() * (config.amount.max - config.amount.min + 1));
        const started = performance.now();
        try {
          const r = await client.sale({ pan: card.pan, expiry: card.expiry, pin: card.pin, amount });
          const now = performance.now();
          result.doneAt.push(now - t0);
          result.latency.push(now - started);
          result.codes[r.code] = (result.codes[r.code] ?? 0) + 1;
          if (r.approved) {
            result.approved++;
            result.approvedAmount += amount;
          }
        } catch (error) {
          result.errors++;
          const kind = (error as { code?: string }).code ?? (error as Error).name;
          result.errorKinds[kind] = (result.errorKinds[kind] ?? 0) + 1;
        }
      }
    }),
  );
  say(result);
  await Promise.all(clients.map((c) => c.close()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
