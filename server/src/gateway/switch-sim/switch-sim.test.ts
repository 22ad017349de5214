/**
 * The simulator over real TCP, driven the way the platform's link drives it: a ClientChannel, a
 * Mux with switchCodec, keys generated and exported by the platform's CryptoService, MACs made
 * by it and PIN blocks translated by it into the ZPK.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCryptoService, type CryptoService, type KeyHandle } from '../../crypto/index.js';
import { encipherFormat0 } from '../../crypto/pin-block.js';
import { Secrets } from '../../platform/secrets.js';
import { ChannelError, ClientChannel, Mux, type Unhandled } from '../channel/index.js';
import type { Message } from '../iso8583/index.js';
import * as P from '../switch/protocol.js';
import { luhnDigit, luhnValid, seededCards } from './seeded.js';
import { simulatorOptions } from '../../cli/switch-sim.js';
import { nextCutoverAt, SIM_TEST_ZMK, SIM_TEST_ZMK_COMPONENTS, SwitchSimulator, type SwitchSimulatorOptions } from './simulator.js';

const ACQ = '04581000';
const TPK_CLEAR = '1C1C1C1C1C1C1C1C2A2A2A2A2A2A2A2A';
const crypto: CryptoService = createCryptoService(Secrets.ephemeral());
const outRoot = mkdtempSync(join(tmpdir(), 'xiaowei-switch-sim-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let dirs = 0;
async function startSim(options: SwitchSimulatorOptions = {}): Promise<SwitchSimulator> {
  const sim = new SwitchSimulator({ cards: 20, accounts: 10, seed: 'test', outDir: join(outRoot, `run-${++dirs}`), ...options });
  await sim.listen(0);
  cleanups.push(() => sim.close());
  return sim;
}

/** A minimal acquirer: what the switch link does, without a database. */
class Acquirer {
  readonly stan = new P.StanCounter();
  readonly requests: Message[] = [];
  readonly late: Unhandled<Message>[] = [];
  zpk!: KeyHandle;
  zak!: KeyHandle;
  private rrnSeq = 0;

  private constructor(
    readonly channel: ClientChannel,
    readonly mux: Mux<Message>,
    readonly zmk: KeyHandle,
    readonly tpk: KeyHandle,
    readonly acquirerId: string,
  ) {
    mux.on('unhandled', (u) => {
      if (u.reason === 'late') this.late.push(u);
      if (u.reason !== 'request') return;
      // The switch's own requests (cut-over): answer them, as the link does.
      this.requests.push(u.message);
      void channel.send(P.switchCodec.encode(P.answer(u.message, { 39: '00' }))).catch(() => undefined);
    });
  }

  static async connect(sim: SwitchSimulator, acquirerId = ACQ, zmkHex = SIM_TEST_ZMK): Promise<Acquirer> {
    const channel = new ClientChannel({ host: '127.0.0.1', port: sim.port, reconnect: false });
    const mux = new Mux(channel, { codec: P.createSwitchCodec() });
    cleanups.push(() => channel.close());
    cleanups.push(() => mux.close());
    channel.start();
    await mux.whenReady(5000);
    const zmk = await crypto.importComponents('ZMK', 'TDES2', [zmkHex]);
    const tpk = await crypto.importComponents('TPK', 'TDES2', [TPK_CLEAR]);
    return new Acquirer(channel, mux, zmk, tpk, acquirerId);
  }

  send(m: Message, timeoutMs = 3000): Promise<Message> {
    return this.mux.request(m, timeoutMs);
  }

  stamp(): P.Stamp {
    return { stan: this.stan.next(), at: Date.now() };
  }

  rrn(): string {
    return `R${String(++this.rrnSeq).padStart(11, '0')}`;
  }

  async signOn(): Promise<Message> {
    return this.send(P.signOn({ ...this.stamp(), acquirerId: this.acquirerId }));
  }

  /** Fresh ZPK and ZAK under the ZMK; `spoilKcv` sends a wrong check value for the ZAK. */
  async keyChange(spoilKcv = false): Promise<Message> {
    this.zpk = await crypto.generateKey('ZPK', 'TDES2');
    this.zak = await crypto.generateKey('ZAK', 'TDES2');
    const zpk = await crypto.exportUnder(this.zpk, this.zmk);
    const zak = await crypto.exportUnder(this.zak, this.zmk);
    if (spoilKcv) zak.kcv = zak.kcv === '000000' ? '111111' : '000000';
    return this.send(P.keyChange({ ...this.stamp(), acquirerId: this.acquirerId, zpk, zak }));
  }

  readonly mac = (data: Buffer): Promise<Buffer> => crypto.generateMac(this.zak, 'ISO9797-1-ALG3', data);

  async signed(m: Message, timeoutMs?: number): Promise<Message> {
    const answer = await this.send(await P.signMessage(this.mac, m), timeoutMs);
    if (answer.fields.has(64) || answer.fields.has(128)) expect(await P.verifyMessage(this.mac, answer)).toBe(true);
    return answer;
  }

  /** A PIN block as a terminal makes it (under its TPK), translated into the ZPK as the link does. */
  async pinBlock(pin: string, pan: string): Promise<Buffer> {
    const underTpk = encipherFormat0(Buffer.from(TPK_CLEAR, 'hex'), pin, pan);
    return crypto.translatePin({ pinBlock: underTpk, from: this.tpk, fromFormat: 0, to: this.zpk, toFormat: 0, pan });
  }

  purchaseMessage(o: { pan: string; amount: number; pin?: string; expiry?: string; rrn?: string }, pinBlock?: Buffer): Message {
    return P.purchase({
      ...this.stamp(),
      acquirerId: this.acquirerId,
      rrn: o.rrn ?? this.rrn(),
      pan: o.pan,
      expiry: o.expiry ?? '3012',
      mcc: '5411',
      terminalId: 'T0000001',
      merchantId: '104581000000001',
      amount: o.amount,
      pinBlock,
    });
  }

  async buy(o: { pan: string; amount: number; pin?: string; expiry?: string; rrn?: string }, timeoutMs?: number): Promise<Message> {
    const block = o.pin === undefined ? undefined : await this.pinBlock(o.pin, o.pan);
    return this.signed(this.purchaseMessage(o, block), timeoutMs);
  }

  async reverse(sale: Message, reason: P.ReversalReason = '17'): Promise<Message> {
    return this.signed(
      P.reversal({
        ...this.stamp(),
        acquirerId: this.acquirerId,
        rrn: P.str(sale, 37)!,
        pan: P.str(sale, 2)!,
        amount: P.parseAmount(P.str(sale, 4)!),
        terminalId: P.str(sale, 41)!,
        merchantId: P.str(sale, 42)!,
        reason,
        original: { stan: P.str(sale, 11)!, transmittedAt: P.str(sale, 7)! },
      }),
    );
  }

  refundMessage(sale: Message, amount: number, rrn = this.rrn()): Message {
    return P.refundAdvice({
      ...this.stamp(),
      acquirerId: this.acquirerId,
      rrn,
      pan: P.str(sale, 2)!,
      amount,
      terminalId: P.str(sale, 41)!,
      merchantId: P.str(sale, 42)!,
      original: { stan: P.str(sale, 11)!, transmittedAt: P.str(sale, 7)! },
    });
  }
}

async function ready(sim: SwitchSimulator, acquirerId = ACQ): Promise<Acquirer> {
  const acq = await Acquirer.connect(sim, acquirerId);
  expect(P.str(await acq.signOn(), 39)).toBe('00');
  expect(P.str(await acq.keyChange(), 39)).toBe('00');
  return acq;
}

const code = (m: Message): string | undefined => P.str(m, 39);

interface ParsedFile {
  header: string[];
  lines: string[][];
  trailer: string[];
}
function parseFile(path: string): ParsedFile {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text).not.toContain('\r');
  const rows = text
    .trimEnd()
    .split('\n')
    .map((l) => l.split(','));
  const header = rows[0]!;
  const trailer = rows.at(-1)!;
  const lines = rows.slice(1, -1);
  expect(header[0]).toBe('H');
  expect(trailer[0]).toBe('T');
  for (const l of lines) expect(l).toHaveLength(12);
  // The trailer's totals are the lines' totals.
  const sum = (sign: string): number => lines.filter((l) => l[4] === sign).reduce((s, l) => s + Number(l[3]), 0);
  expect(trailer.slice(1).map(Number)).toEqual([lines.length, sum('D'), sum('C'), sum('D') - sum('C')]);
  return { header, lines, trailer };
}

describe('SwitchSimulator', () => {
  describe('cards and accounts', () => {
    it('issues 19-digit Luhn-valid cards on BIN 621999, the same for the same seed', () => {
      const a = seededCards('s1', 50);
      expect(seededCards('s1', 50)).toEqual(a);
      expect(seededCards('s2', 50)).not.toEqual(a);
      expect(new Set(a.map((c) => c.pan)).size).toBe(50);
      for (const c of a) {
        expect(c.pan).toMatch(/^621999[0-9]{13}$/);
        expect(luhnValid(c.pan)).toBe(true);
        expect(c.pin).toMatch(/^[0-9]{6}$/);
        expect(c.expiry).toBe('3012');
      }
      expect(luhnDigit('7992739871')).toBe('3');
      const sim = new SwitchSimulator({ accounts: 5, seed: 's1' });
      for (const acc of sim.accounts()) {
        expect(acc.number).toMatch(/^6000[0-9]{12}$/);
        expect(luhnValid(acc.number)).toBe(true);
        expect(acc).toMatchObject({ balance: 100_000_000, status: 'A' });
      }
    });

    it('refuses a malformed ZMK and rates outside 0–1', () => {
      expect(() => new SwitchSimulator({ zmk: 'ABCD' })).toThrow();
      expect(() => new SwitchSimulator({ dropRate: 1.5 })).toThrow(RangeError);
      expect(() => new SwitchSimulator({ dropRate: 0.6, timeoutRate: 0.6 })).toThrow(RangeError);
    });
  });

  describe('setup', () => {
    it('the test ZMK components form the test ZMK, whose check value the simulator reports', async () => {
      const zmk = await crypto.importComponents('ZMK', 'TDES2', [...SIM_TEST_ZMK_COMPONENTS]);
      expect(zmk.kcv).toBe(new SwitchSimulator({ cards: 1, accounts: 1 }).zmkKcv);
      expect(new SwitchSimulator({ cards: 1, accounts: 1, zmk: '11111111111111112222222222222222' }).zmkKcv).not.toBe(zmk.kcv);
    });

    it('cuts over daily at 23:00 Beijing (15:00 UTC) and opens the next day from then on', () => {
      expect(new Date(nextCutoverAt(Date.UTC(2025, 0, 1, 14, 59, 59))).toISOString()).toBe('2025-01-01T15:00:00.000Z');
      expect(new Date(nextCutoverAt(Date.UTC(2025, 0, 1, 15, 0, 0))).toISOString()).toBe('2025-01-02T15:00:00.000Z');
      expect(new SwitchSimulator({ cards: 1, accounts: 1, now: () => Date.UTC(2025, 0, 1, 14, 59) }).settlementDate).toBe('2025-01-01');
      expect(new SwitchSimulator({ cards: 1, accounts: 1, now: () => Date.UTC(2025, 0, 1, 15, 0) }).settlementDate).toBe('2025-01-02');
    });

    it('reads the CLI options and refuses bad values', () => {
      const parsed = simulatorOptions({
        port: '5800',
        host: '0.0.0.0',
        cards: '10',
        dropRate: '0.5',
        lateMs: '100',
        seed: 'x',
        out: '/tmp/x',
        faults: 'purchases',
      });
      expect(parsed).toEqual({
        port: 5800,
        host: '0.0.0.0',
        options: { cards: 10, dropRate: 0.5, lateMs: 100, seed: 'x', outDir: '/tmp/x', faults: 'purchases' },
      });
      expect(() => simulatorOptions({ dropRate: '2' })).toThrow(/drop-rate/);
      expect(() => simulatorOptions({ cards: 'many' })).toThrow(/cards/);
      expect(() => simulatorOptions({ faults: 'all' })).toThrow(/faults/);
      expect(simulatorOptions({}).port).toBe(5800);
    });
  });

  describe('network management', () => {
    it('signs on with the settlement date, answers echo, and refuses card messages before a key change', async () => {
      const sim = await startSim({ settlementDate: '2025-03-04' });
      const acq = await Acquirer.connect(sim);
      const on = await acq.signOn();
      expect(on.mti).toBe('0810');
      expect(code(on)).toBe('00');
      expect(P.str(on, 15)).toBe('0304');
      expect(P.str(on, 70)).toBe('001');
      expect(code(await acq.send(P.echoRequest(acq.stamp())))).toBe('00');
      const card = sim.cards()[0]!;
      const early = await acq.send(acq.purchaseMessage({ pan: card.pan, amount: 100 }));
      expect(code(early)).toBe('96');
      expect(early.fields.has(64)).toBe(false);
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
    });

    it('imports the key change under the ZMK and refuses a wrong check value or another ZMK', async () => {
      const sim = await startSim();
      const acq = await Acquirer.connect(sim);
      await acq.signOn();
      expect(code(await acq.keyChange(true))).toBe('96');
      const card = sim.cards()[0]!;
      // Still no keys: the MAC cannot be checked.
      expect(code(await acq.send(await P.signMessage(acq.mac, acq.purchaseMessage({ pan: card.pan, amount: 100 }))))).toBe('96');
      expect(code(await acq.keyChange())).toBe('00');
      expect(code(await acq.buy({ pan: card.pan, amount: 100 }))).toBe('00');

      const stranger = await Acquirer.connect(sim, ACQ, '11111111111111112222222222222222');
      await stranger.signOn();
      expect(code(await stranger.keyChange())).toBe('96');
    });
  });

  describe('purchases', () => {
    it('approves a purchase with a PIN: debits the card, answers with auth code, settlement date and a MAC', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[1]!;
      const sale = await acq.buy({ pan: card.pan, amount: 12_345, pin: card.pin });
      expect(sale.mti).toBe('0210');
      expect(code(sale)).toBe('00');
      expect(P.str(sale, 38)).toMatch(/^[0-9A-Z]{6}$/);
      expect(P.str(sale, 15)).toBe(P.mmddOf(sim.settlementDate));
      expect(P.str(sale, 4)).toBe('000000012345');
      expect(P.str(sale, 32)).toBe(ACQ);
      expect(sale.fields.has(64)).toBe(true);
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 12_345);
      // Without a PIN (entry mode 022) too.
      expect(code(await acq.buy({ pan: card.pan, amount: 5 }))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 12_350);
    });

    it('declines each reason and leaves the balance alone', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[2]!;
      const notIssued = `621998000000000000`;
      const cases: [Parameters<Acquirer['buy']>[0], string][] = [
        [{ pan: notIssued + luhnDigit(notIssued), amount: 100 }, '14'],
        [{ pan: card.pan, amount: 100, expiry: '2912' }, '54'],
        [{ pan: card.pan, amount: 100, pin: card.pin === '000000' ? '111111' : '000000' }, '55'],
        [{ pan: card.pan, amount: 100_000_001, pin: card.pin }, '51'],
      ];
      for (const [input, expected] of cases) {
        const answer = await acq.buy(input);
        expect(code(answer)).toBe(expected);
        expect(answer.fields.has(38)).toBe(false);
      }
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
      expect(sim.stats().answers.purchase).toEqual({ '14': 1, '54': 1, '55': 1, '51': 1 });
    });

    it('answers 63 to a bad or missing MAC and does nothing else', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[3]!;
      const signed = await P.signMessage(acq.mac, acq.purchaseMessage({ pan: card.pan, amount: 100 }));
      const forged = P.withMac(signed, Buffer.from(signed.fields.get(64) as Buffer).fill(0x55, 0, 1));
      expect(code(await acq.send(forged))).toBe('63');
      // The amount changed after signing.
      signed.fields.set(4, P.amountField(1));
      expect(code(await acq.send(signed))).toBe('63');
      expect(code(await acq.send(acq.purchaseMessage({ pan: card.pan, amount: 100 })))).toBe('63');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
    });

    it('answers a balance inquiry in field 54', async () => {
      const sim = await startSim({ balance: 777 });
      const acq = await ready(sim);
      const card = sim.cards()[4]!;
      await acq.buy({ pan: card.pan, amount: 77 });
      const answer = await acq.signed(
        P.balanceInquiry({
          ...acq.stamp(),
          acquirerId: ACQ,
          rrn: acq.rrn(),
          pan: card.pan,
          expiry: '3012',
          mcc: '5411',
          terminalId: 'T0000001',
          merchantId: '104581000000001',
          pinBlock: await acq.pinBlock(card.pin, card.pan),
        }),
      );
      expect(code(answer)).toBe('00');
      expect(P.parseBalanceField(P.str(answer, 54)!)).toBe(700);
    });

    it('answers 94 to a second purchase under the same RRN', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[5]!;
      expect(code(await acq.buy({ pan: card.pan, amount: 10, rrn: 'SAMERRN00001' }))).toBe('00');
      expect(code(await acq.buy({ pan: card.pan, amount: 10, rrn: 'SAMERRN00001' }))).toBe('94');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 10);
    });
  });

  describe('reversals and refunds', () => {
    it('reverses once: the balance comes back once, a repeat and an unknown RRN answer 00', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[6]!;
      const request = acq.purchaseMessage({ pan: card.pan, amount: 5_000 });
      expect(code(await acq.signed(request))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 5_000);
      const first = await acq.reverse(request, '98');
      expect(first.mti).toBe('0410');
      expect(code(first)).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
      expect(code(await acq.reverse(request, '98'))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);

      // Never seen: nothing to undo; a purchase under that RRN arriving after it is refused.
      const ghost = acq.purchaseMessage({ pan: card.pan, amount: 1 });
      expect(code(await acq.reverse(ghost))).toBe('00');
      expect(code(await acq.signed(ghost))).toBe('12');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
    });

    it('limits refunds to the unrefunded amount, idempotent on the refund RRN', async () => {
      const sim = await startSim();
      const acq = await ready(sim);
      const card = sim.cards()[7]!;
      const sale = acq.purchaseMessage({ pan: card.pan, amount: 1_000 });
      expect(code(await acq.signed(sale))).toBe('00');
      const first = acq.refundMessage(sale, 600, 'REFUND000001');
      const ack = await acq.signed(first);
      expect(ack.mti).toBe('0230');
      expect(code(ack)).toBe('00');
      expect(code(await acq.signed(acq.refundMessage(sale, 500)))).toBe('13');
      expect(code(await acq.signed(acq.refundMessage(sale, 400)))).toBe('00');
      expect(code(await acq.signed(acq.refundMessage(sale, 1)))).toBe('13');
      // A retry of the first advice (new STAN and field 7, same 37 and 90) changes nothing.
      expect(code(await acq.signed(acq.refundMessage(sale, 600, 'REFUND000001')))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
      // An original the switch never saw.
      const unknown = acq.purchaseMessage({ pan: card.pan, amount: 1_000 });
      expect(code(await acq.signed(acq.refundMessage(unknown, 10)))).toBe('25');
    });
  });

  describe('cut-over and settlement files', () => {
    it('writes the day per acquirer, announces the new date, and settles a late reversal as REVERSAL', async () => {
      const sim = await startSim({ settlementDate: '2024-12-31' });
      const acq = await ready(sim);
      const other = await ready(sim, '04589999');
      const card = sim.cards()[8]!;
      const a = acq.purchaseMessage({ pan: card.pan, amount: 1_000 });
      const b = acq.purchaseMessage({ pan: card.pan, amount: 2_500 });
      const c = acq.purchaseMessage({ pan: card.pan, amount: 300 });
      for (const m of [a, b, c]) expect(code(await acq.signed(m))).toBe('00');
      expect(code(await acq.reverse(a))).toBe('00'); // same day: vanishes
      expect(code(await acq.signed(acq.refundMessage(c, 100, 'REFUNDC00001')))).toBe('00');
      expect(code(await acq.signed(acq.refundMessage(c, 1_000)))).toBe('13'); // rejected: not in the file

      const day1 = await sim.cutover();
      expect(day1).toMatchObject({ date: '2024-12-31', next: '2025-01-01', acknowledged: 2 });
      expect(sim.settlementDate).toBe('2025-01-01');
      expect(day1.files.map((f) => f.split('/').at(-1))).toEqual(['04581000-20241231.csv', '04589999-20241231.csv']);
      // Both signed-on peers were told the new date.
      for (const peer of [acq, other]) {
        const announced = peer.requests.find((m) => P.kindOf(m) === 'cutover');
        expect(announced && P.str(announced, 15)).toBe('0101');
      }

      const f1 = parseFile(day1.files[0]!);
      expect(f1.header.slice(0, 3)).toEqual(['H', ACQ, '2024-12-31']);
      expect(Number.isNaN(Date.parse(f1.header[3]!))).toBe(false);
      const mask = P.maskPan(card.pan);
      expect(f1.lines).toEqual([
        [
          'D',
          P.str(b, 37),
          'SALE',
          '2500',
          'D',
          P.str(b, 11),
          P.str(b, 7),
          'T0000001',
          '104581000000001',
          mask,
          expect.stringMatching(/^[0-9]{6}$/),
          '',
        ],
        [
          'D',
          P.str(c, 37),
          'SALE',
          '300',
          'D',
          P.str(c, 11),
          P.str(c, 7),
          'T0000001',
          '104581000000001',
          mask,
          expect.stringMatching(/^[0-9]{6}$/),
          '',
        ],
        [
          'D',
          'REFUNDC00001',
          'REFUND',
          '100',
          'C',
          expect.stringMatching(/^[0-9]{6}$/),
          expect.stringMatching(/^[0-9]{10}$/),
          'T0000001',
          '104581000000001',
          mask,
          '',
          P.str(c, 37),
        ],
      ]);
      expect(f1.trailer).toEqual(['T', '3', '2800', '100', '2700']);
      const empty = parseFile(day1.files[1]!);
      expect(empty.lines).toEqual([]);
      expect(empty.trailer).toEqual(['T', '0', '0', '0', '0']);

      // b's day is closed: its reversal settles on the next day, and the card gets its money back.
      const before = sim.cardBalance(card.pan)!;
      const reversal = await acq.reverse(b, '98');
      expect(code(reversal)).toBe('00');
      expect(P.str(reversal, 15)).toBe('0101');
      expect(sim.cardBalance(card.pan)).toBe(before + 2_500);
      const day2 = await sim.cutover();
      const f2 = parseFile(day2.files[0]!);
      expect(f2.header[2]).toBe('2025-01-01');
      expect(f2.lines).toHaveLength(1);
      expect(f2.lines[0]!.slice(0, 5)).toEqual(['D', P.str(b, 37), 'REVERSAL', '2500', 'C']);
      expect(f2.lines[0]![11]).toBe(P.str(b, 37));
      expect(f2.trailer).toEqual(['T', '1', '0', '2500', '-2500']);
    });
  });

  describe('faults', () => {
    it('drops and delays at the configured rates, reproducibly for a seed, never on network management', async () => {
      const run = async (): Promise<{ pattern: string; drops: number; late: number }> => {
        const sim = await startSim({ seed: 'faults', dropRate: 0.2, timeoutRate: 0.1, lateMs: 400 });
        const acq = await ready(sim);
        const card = sim.cards()[0]!;
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, async () => {
            try {
              await acq.buy({ pan: card.pan, amount: 1 }, 200);
              return 'a';
            } catch (error) {
              expect(error).toBeInstanceOf(ChannelError);
              expect((error as ChannelError).code).toBe('channel_timeout');
              return 'x';
            }
          }),
        );
        const stats = sim.stats();
        // Network management is never hit, whatever the rates.
        for (let i = 0; i < 10; i++) expect(code(await acq.send(P.echoRequest(acq.stamp())))).toBe('00');
        // Every purchase was processed, answered or not.
        expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 100);
        expect(outcomes.filter((o) => o === 'x')).toHaveLength(stats.faults.drop + stats.faults.late);
        return { pattern: outcomes.join(''), drops: stats.faults.drop, late: stats.faults.late };
      };
      const first = await run();
      expect(first.drops).toBeGreaterThan(8);
      expect(first.drops).toBeLessThan(35);
      expect(first.late).toBeGreaterThan(2);
      expect(first.late).toBeLessThan(20);
      const second = await run();
      expect(second).toEqual(first);
    });

    it('declines at the decline rate with 05', async () => {
      const sim = await startSim({ seed: 'declines', declineRate: 0.5 });
      const acq = await ready(sim);
      const card = sim.cards()[0]!;
      const codes: string[] = [];
      for (let i = 0; i < 40; i++) codes.push(code(await acq.buy({ pan: card.pan, amount: 1 }))!);
      const declined = codes.filter((c) => c === '05').length;
      expect(declined).toBe(sim.stats().faults.decline);
      expect(declined).toBeGreaterThan(8);
      expect(declined).toBeLessThan(32);
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - (40 - declined));
    });

    it('failNext drops or delays exactly the next n eligible requests', async () => {
      const sim = await startSim({ lateMs: 300 });
      const acq = await ready(sim);
      const card = sim.cards()[0]!;
      sim.failNext(2, 'drop');
      // Network management does not consume it.
      expect(code(await acq.send(P.echoRequest(acq.stamp())))).toBe('00');
      await expect(acq.buy({ pan: card.pan, amount: 1 }, 150)).rejects.toMatchObject({ code: 'channel_timeout' });
      await expect(acq.buy({ pan: card.pan, amount: 1 }, 150)).rejects.toMatchObject({ code: 'channel_timeout' });
      expect(code(await acq.buy({ pan: card.pan, amount: 1 }))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 3);

      sim.failNext(1, 'late');
      const late = acq.purchaseMessage({ pan: card.pan, amount: 1 });
      await expect(acq.signed(late, 100)).rejects.toMatchObject({ code: 'channel_timeout' });
      // The answer comes after all (the acquirer has given up on it: the mux reports it as late).
      await expect.poll(() => acq.late.length, { timeout: 3000 }).toBe(1);
      expect(code(acq.late[0]!.message)).toBe('00');
      expect(P.str(acq.late[0]!.message, 37)).toBe(P.str(late, 37));
      // The reversal the acquirer then sends restores the card.
      expect(code(await acq.reverse(late, '98'))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 3);
      expect(sim.stats().faults).toMatchObject({ drop: 2, late: 1 });
    });

    it("with faults 'purchases', reversals and refunds always get through", async () => {
      const sim = await startSim({ faults: 'purchases', dropRate: 1 });
      const acq = await ready(sim);
      const card = sim.cards()[0]!;
      const sale = acq.purchaseMessage({ pan: card.pan, amount: 50 });
      await expect(acq.signed(sale, 150)).rejects.toMatchObject({ code: 'channel_timeout' });
      expect(sim.cardBalance(card.pan)).toBe(100_000_000 - 50);
      expect(code(await acq.reverse(sale, '98'))).toBe('00');
      expect(sim.cardBalance(card.pan)).toBe(100_000_000);
    });
  });

  describe('core-banking host', () => {
    const core = async (sim: SwitchSimulator): Promise<{ acq: Acquirer; call: (m: Message) => Promise<Message> }> => {
      const acq = await Acquirer.connect(sim);
      return { acq, call: (m) => acq.send(m, 3000) };
    };
    let n = 0;
    const rrn = (): string => `C${String(++n).padStart(11, '0')}`;

    it('inquires, debits, credits, reverses and reports status, idempotent on field 48', async () => {
      const sim = await startSim({ balance: 10_000 });
      const { acq, call } = await core(sim);
      const [x, y] = sim.accounts().map((a) => a.number);
      const s = (): P.Stamp => acq.stamp();

      const inquiry = await call(P.coreInquiry({ ...s(), rrn: rrn(), requestId: 'inq-1', account: x! }));
      expect(inquiry.mti).toBe('0210');
      expect(code(inquiry)).toBe('00');
      expect(P.str(inquiry, 44)).toBe('A');
      expect(P.parseBalanceField(P.str(inquiry, 54)!)).toBe(10_000);
      expect(inquiry.fields.has(64)).toBe(false);
      expect(code(await call(P.coreInquiry({ ...s(), rrn: rrn(), requestId: 'inq-2', account: '6000000000000000' })))).toBe('14');

      const debit = { rrn: 'DEBIT0000001', requestId: 'payout:01J-debit_1', account: x!, amount: 2_500 };
      expect(code(await call(P.coreDebit({ ...s(), ...debit })))).toBe('00');
      expect(sim.account(x!)!.balance).toBe(7_500);
      // A retry (new STAN, same 48 and fields) answers the same and posts nothing.
      expect(code(await call(P.coreDebit({ ...s(), ...debit })))).toBe('00');
      expect(sim.account(x!)!.balance).toBe(7_500);
      // Same 48, another amount or account.
      expect(code(await call(P.coreDebit({ ...s(), ...debit, amount: 2_501 })))).toBe('94');
      expect(code(await call(P.coreCredit({ ...s(), ...debit })))).toBe('94');
      expect(code(await call(P.coreStatus({ ...s(), requestId: debit.requestId })))).toBe('00');
      expect(P.str(await call(P.coreStatus({ ...s(), requestId: debit.requestId })), 44)).toBe('P');

      expect(code(await call(P.coreCredit({ ...s(), rrn: rrn(), requestId: 'credit-1', account: y!, amount: 1_000 })))).toBe('00');
      expect(sim.account(y!)!.balance).toBe(11_000);

      expect(code(await call(P.coreDebit({ ...s(), rrn: rrn(), requestId: 'too-much', account: x!, amount: 7_501 })))).toBe('51');
      expect(P.str(await call(P.coreStatus({ ...s(), requestId: 'too-much' })), 44)).toBe('J');
      expect(code(await call(P.coreDebit({ ...s(), rrn: rrn(), requestId: 'nobody', account: '6000000000000000', amount: 1 })))).toBe('14');
      sim.setAccount(y!, { status: 'F' });
      expect(code(await call(P.coreDebit({ ...s(), rrn: rrn(), requestId: 'frozen', account: y!, amount: 1 })))).toBe('62');
      expect(code(await call(P.coreCredit({ ...s(), rrn: rrn(), requestId: 'frozen-c', account: y!, amount: 1 })))).toBe('62');
      expect(P.str(await call(P.coreInquiry({ ...s(), rrn: rrn(), requestId: 'inq-3', account: y! })), 44)).toBe('F');
      sim.setAccount(y!, { status: 'A' });

      // Reverse once.
      const reverse = (): Promise<Message> => call(P.coreReversal({ ...s(), rrn: rrn(), originalRequestId: debit.requestId }));
      const reversed = await reverse();
      expect(reversed.mti).toBe('0410');
      expect(code(reversed)).toBe('00');
      expect(sim.account(x!)!.balance).toBe(10_000);
      expect(code(await reverse())).toBe('00');
      expect(sim.account(x!)!.balance).toBe(10_000);
      expect(P.str(await call(P.coreStatus({ ...s(), requestId: debit.requestId })), 44)).toBe('R');
      // A reversed credit takes the money back.
      expect(code(await call(P.coreReversal({ ...s(), rrn: rrn(), originalRequestId: 'credit-1' })))).toBe('00');
      expect(sim.account(y!)!.balance).toBe(10_000);

      // Nothing to reverse: 00, and the id can no longer post.
      expect(code(await call(P.coreReversal({ ...s(), rrn: rrn(), originalRequestId: 'never' })))).toBe('00');
      expect(code(await call(P.coreDebit({ ...s(), rrn: rrn(), requestId: 'never', account: x!, amount: 1 })))).toBe('94');
      expect(sim.account(x!)!.balance).toBe(10_000);
      const unknown = await call(P.coreStatus({ ...s(), requestId: 'no-such-request' }));
      expect(unknown.mti).toBe('0610');
      expect(P.str(unknown, 44)).toBe('N');
    });

    it('a dropped debit answer: the debit posted, status says so', async () => {
      const sim = await startSim({ balance: 10_000 });
      const { acq, call } = await core(sim);
      const x = sim.accounts()[0]!.number;
      sim.failNext(1, 'drop');
      await expect(
        acq.send(P.coreDebit({ ...acq.stamp(), rrn: rrn(), requestId: 'lost-1', account: x, amount: 10 }), 150),
      ).rejects.toMatchObject({
        code: 'channel_timeout',
      });
      expect(P.str(await call(P.coreStatus({ ...acq.stamp(), requestId: 'lost-1' })), 44)).toBe('P');
      expect(sim.account(x)!.balance).toBe(9_990);
    });
  });

  // Measured, never asserted: SIM_BENCH=1 npx vitest run src/gateway/switch-sim
  it.skipIf(!process.env.SIM_BENCH)('micro-measure: purchases per second on one connection', async () => {
    const sim = await startSim({ cards: 1000 });
    const acq = await ready(sim);
    const cards = sim.cards();
    const total = 20_000;
    const window = 200;
    const messages = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        P.signMessage(acq.mac, acq.purchaseMessage({ pan: cards[i % cards.length]!.pan, amount: 1 })),
      ),
    );
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < total) await acq.send(messages[next++]!, 30_000);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ sim_purchases_per_s: Math.round(total / seconds), total, window }));
  });
});
