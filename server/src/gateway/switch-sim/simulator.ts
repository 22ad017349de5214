/**
 * SwitchSimulator: a card issuer + card switch + core-banking host in one process, speaking the
 * switch protocol (../switch/protocol.ts) over real TCP. For tests, the e2e benchmark and demos;
 * nothing in the platform special-cases it.
 *
 * State is in memory only (cards, accounts, purchases, the open settlement day); settlement files
 * go to disk at cut-over. It is a test peer: it keeps its keys in clear in memory and uses the
 * crypto primitives directly.
 *
 * Hot path: every frame is handled synchronously (decode, MAC check over the received bytes
 * without re-packing, decide, pack-and-MAC in one pass), so one connection needs no queue and no
 * promise per message; only latency and late answers use timers.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyCheckValue } from '../../crypto/kcv.js';
import { retailMac } from '../../crypto/mac.js';
import { decipherFormat0 } from '../../crypto/pin-block.js';
import { fixParity, fromHex, tdesDecryptEcb } from '../../crypto/primitives.js';
import { listen, type ChannelServer, type FrameConnection } from '../channel/index.js';
import { pack, unpack, type FieldValue, type Message } from '../iso8583/index.js';
import {
  answer,
  balanceField,
  beijingDate,
  cutover as cutoverMessage,
  createSwitchCodec,
  kindOf,
  macField,
  macInputOfFrame,
  maskPan,
  mmddOf,
  needsMac,
  packWithMac,
  padAcquirer,
  parseKeyChange,
  parseOriginalData,
  RC,
  StanCounter,
  str,
  SWITCH_SPEC,
  type CoreAccountStatus,
  type CoreRequestStatus,
  type MessageKind,
} from '../switch/protocol.js';
import { seededAccounts, seededCards, seededRandom, type SimCard } from './seeded.js';
import { formatSettlementFile, settlementFileName, type SettlementLine } from './settlement-file.js';

/**
 * The simulator's default zone master key — a well-known TEST key (0123…CDEF FEDC…3210), never
 * for production. A platform configured with it is talking to a test switch.
 */
export const SIM_TEST_ZMK = '0123456789ABCDEFFEDCBA9876543210';

/** Two clear TEST components whose XOR is `SIM_TEST_ZMK`, for a key ceremony in tests and demos. */
export const SIM_TEST_ZMK_COMPONENTS = ['A1B2C3D4E5F60718293A4B5C6D7E8F90', 'A09186B36C5DCAF7D7E6F1C41B2ABD80'] as const;

export interface SwitchSimulatorOptions {
  /** Zone master key shared with the acquirer, 32 or 48 hex; default `SIM_TEST_ZMK`. */
  zmk?: string;
  /** Cards issued (default 1000). */
  cards?: number;
  /** Core-banking accounts (default 1000). */
  accounts?: number;
  /** Seed of cards, PINs, account numbers and fault draws (default 'xiaowei'). */
  seed?: string;
  /** Opening balance of every card and account, fen (default 100,000,000). */
  balance?: number;
  /** Every answer waits this long (default 0: at once)… */
  latencyMs?: number;
  /** …plus up to this much more, drawn at random (default 0). */
  jitterMs?: number;
  /** Share of eligible requests processed but answered only after `lateMs` (the acquirer has given up). */
  timeoutRate?: number;
  lateMs?: number;
  /** Share of eligible requests processed and never answered. */
  dropRate?: number;
  /** Share of card purchases declined '05'. */
  declineRate?: number;
  /**
   * Which requests faults (drop, late) may hit: 'financial' (default) = 0200, 0400 and 0220,
   * card and core alike; 'purchases' = 0200 only. Never network management, never 0600.
   */
  faults?: 'financial' | 'purchases';
  /** Folder for settlement files (created when needed; default './data/switch-sim'). */
  outDir?: string;
  /** Clock, ms since the epoch (default Date.now). */
  now?: () => number;
  /** The opening settlement date 'YYYY-MM-DD' (default: today in Beijing, tomorrow from 23:00). */
  settlementDate?: string;
}

export interface SimAccount {
  number: string;
  balance: number;
  status: CoreAccountStatus;
}

type Fault = 'drop' | 'late';

export interface SwitchSimulatorStats {
  /** Requests received by MTI. */
  received: Record<string, number>;
  /** Answers by message kind and response code, e.g. `{ purchase: { '00': 10, '51': 1 } }`. */
  answers: Partial<Record<MessageKind, Record<string, number>>>;
  /** Faults injected. */
  faults: { drop: number; late: number; decline: number };
  /** Frames that did not decode. */
  undecodable: number;
}

interface Purchase {
  acquirerId: string;
  rrn: string;
  pan: string;
  amount: number;
  stan: string;
  transmittedAt: string;
  terminalId: string;
  merchantId: string;
  authCode: string;
  settlementDate: string;
  refunded: number;
  reversed: boolean;
}

/** What a switch remembers per RRN: an approved purchase, or the code it answered. */
type RrnRecord = Purchase | { code: string };

interface CoreRecord {
  /** kind|account|amount; null for an id first seen in a reversal (reversed before it existed). */
  fingerprint: string | null;
  kind: 'debit' | 'credit';
  account: string;
  amount: number;
  code: string;
  status: CoreRequestStatus;
}

interface Peer {
  channel: FrameConnection;
  acquirerId: string | null;
  signedOn: boolean;
  zpk: Buffer | null;
  zak: Buffer | null;
  /** Our own requests (cut-over) awaiting the peer's answer, by mux key. */
  waiting: Map<string, (answered: boolean) => void>;
}

interface DayBook {
  /** Lines by acquirer id; SALE lines are the purchases themselves (skipped if reversed the same day). */
  lines: Map<string, (SettlementLine | Purchase)[]>;
}

const SALE_FIELDS = (p: Purchase): SettlementLine => ({
  type: 'SALE',
  rrn: p.rrn,
  amount: p.amount,
  stan: p.stan,
  transmittedAt: p.transmittedAt,
  terminalId: p.terminalId,
  merchantId: p.merchantId,
  panMasked: maskPan(p.pan),
  authCode: p.authCode,
  originalRrn: null,
});

const isPurchase = (v: SettlementLine | Purchase | RrnRecord): v is Purchase => 'refunded' in v;

/** Only its key functions are used: requests of ours are matched by hand. */
const KEYS = createSwitchCodec();

const nextDay = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** The switch's daily cut-over is at 23:00 Beijing time (15:00 UTC): the next one after `nowMs`. */
export function nextCutoverAt(nowMs: number): number {
  const day = 86_400_000;
  const at = Math.floor(nowMs / day) * day + 15 * 3_600_000;
  return at > nowMs ? at : at + day;
}

export class SwitchSimulator {
  private readonly zmk: Buffer;
  private readonly zmkAlgorithm: 'TDES2' | 'TDES3';
  private readonly cardList: SimCard[];
  private readonly cardMap = new Map<string, { card: SimCard; balance: number }>();
  private readonly accountMap = new Map<string, SimAccount>();
  private readonly rrns = new Map<string, RrnRecord>();
  /** Purchases by acquirer (11 digits) | STAN | field 7: how a refund's field 90 finds its original. */
  private readonly byOriginal = new Map<string, Purchase>();
  /** Reversals done, by acquirer | RRN (idempotency on 37). */
  private readonly reversals = new Set<string>();
  /** Refund advices done, by acquirer | RRN: the code answered. */
  private readonly refunds = new Map<string, string>();
  private readonly coreRequests = new Map<string, CoreRecord>();
  private readonly peers = new Set<Peer>();
  private readonly acquirers = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faultRandom: () => number;
  private readonly declineRandom: () => number;
  private readonly jitterRandom: () => number;
  private readonly stan = new StanCounter();
  private readonly now: () => number;
  private server: ChannelServer | null = null;
  private date: string;
  private book: DayBook = { lines: new Map() };
  private authCounter = 0;
  private forced: { n: number; fault: Fault } | null = null;
  private forcedAnswer: { n: number; code: string; kind: 'reversal' | 'refund' | undefined } | null = null;
  private readonly counters: SwitchSimulatorStats = { received: {}, answers: {}, faults: { drop: 0, late: 0, decline: 0 }, undecodable: 0 };

  /** The options in effect (the ZMK left out: see `zmkKcv`). */
  readonly options: Required<Omit<SwitchSimulatorOptions, 'now' | 'settlementDate' | 'zmk'>>;

  constructor(options: SwitchSimulatorOptions = {}) {
    const zmkHex = options.zmk ?? SIM_TEST_ZMK;
    const zmk = fromHex(zmkHex, 'the ZMK', [16, 24]);
    this.zmk = fixParity(zmk);
    this.zmkAlgorithm = zmk.length === 16 ? 'TDES2' : 'TDES3';
    const rate = (v: number | undefined, name: string): number => {
      const r = v ?? 0;
      if (!(r >= 0 && r <= 1)) throw new RangeError(`${name} is a share between 0 and 1`);
      return r;
    };
    this.options = {
      cards: options.cards ?? 1000,
      accounts: options.accounts ?? 1000,
      seed: options.seed ?? 'xiaowei',
      balance: options.balance ?? 100_000_000,
      latencyMs: options.latencyMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      timeoutRate: rate(options.timeoutRate, 'timeoutRate'),
      lateMs: options.lateMs ?? 30_000,
      dropRate: rate(options.dropRate, 'dropRate'),
      declineRate: rate(options.declineRate, 'declineRate'),
      faults: options.faults ?? 'financial',
      outDir: options.outDir ?? './data/switch-sim',
    };
    if (this.options.dropRate + this.options.timeoutRate > 1) throw new RangeError('dropRate + timeoutRate exceeds 1');
    if (!Number.isSafeInteger(this.options.balance) || this.options.balance < 0) throw new RangeError('balance is whole fen ≥ 0');
    this.now = options.now ?? Date.now;
    const seed = this.options.seed;
    this.cardList = seededCards(seed, this.options.cards);
    for (const card of this.cardList) this.cardMap.set(card.pan, { card, balance: this.options.balance });
    for (const number of seededAccounts(seed, this.options.accounts)) {
      this.accountMap.set(number, { number, balance: this.options.balance, status: 'A' });
    }
    this.faultRandom = seededRandom(seed, 'faults');
    this.declineRandom = seededRandom(seed, 'declines');
    this.jitterRandom = seededRandom(seed, 'jitter');
    // The switch cuts over at 23:00 Beijing time: from then on it is already the next day's business.
    this.date = options.settlementDate ?? beijingDate(this.now() + 3_600_000);
    mmddOf(this.date);
  }

  // ----------------------------------------------------------------------------------------------
  // lifecycle
  // ----------------------------------------------------------------------------------------------

  /** Listens; resolves with the port (0 picks a free one). */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    if (this.server) throw new Error('already listening');
    // No idle timeout: a test peer should not drop a quiet link under a paused debugger.
    this.server = await listen({ port, host, idleTimeoutMs: 0, onConnection: (c) => this.accept(c) });
    return this.server.port;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Stops listening, drops pending late answers, closes every connection. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = null;
    await server?.close();
    this.peers.clear();
  }

  /** The zone master key's check value (6 hex). */
  get zmkKcv(): string {
    return keyCheckValue(this.zmkAlgorithm, this.zmk);
  }

  /** The open settlement date, 'YYYY-MM-DD'. */
  get settlementDate(): string {
    return this.date;
  }

  // ----------------------------------------------------------------------------------------------
  // test and demo accessors
  // ----------------------------------------------------------------------------------------------

  /** Every card (test cards, PINs included). */
  cards(): SimCard[] {
    return this.cardList.map((c) => ({ ...c }));
  }

  cardBalance(pan: string): number | undefined {
    return this.cardMap.get(pan)?.balance;
  }

  setCardBalance(pan: string, fen: number): void {
    const entry = this.cardMap.get(pan);
    if (!entry) throw new RangeError('no such card');
    entry.balance = fen;
  }

  account(number: string): SimAccount | undefined {
    const a = this.accountMap.get(number);
    return a && { ...a };
  }

  accounts(): SimAccount[] {
    return [...this.accountMap.values()].map((a) => ({ ...a }));
  }

  /** Changes an account's balance or status (freeze 'F', close 'C'), e.g. for conformance tests. */
  setAccount(number: string, patch: Partial<Omit<SimAccount, 'number'>>): void {
    const a = this.accountMap.get(number);
    if (!a) throw new RangeError('no such account');
    if (patch.balance !== undefined) a.balance = patch.balance;
    if (patch.status !== undefined) a.status = patch.status;
  }

  /** Counts so far (a copy). */
  stats(): SwitchSimulatorStats {
    return structuredClone(this.counters);
  }

  /**
   * The next `n` reversals / refund advices (of `kind`, or either) with a good MAC are answered
   * `code` (MAC-signed) and NOT processed — a switch refusing advices ('12', '30', '91', '25'…),
   * for testing the acquirer's store and forward. n = 0 clears it.
   */
  answerNext(n: number, code: string, kind?: 'reversal' | 'refund'): void {
    if (!/^[0-9A-Z]{2}$/.test(code)) throw new RangeError('a response code is two characters');
    this.forcedAnswer = n > 0 ? { n, code, kind } : null;
  }

  /** The next `n` requests faults may hit are dropped / answered late, whatever the rates. */
  failNext(n: number, fault: Fault): void {
    this.forced = n > 0 ? { n, fault } : null;
  }

  // ----------------------------------------------------------------------------------------------
  // cut-over
  // ----------------------------------------------------------------------------------------------

  /**
   * Closes the open settlement date: writes one file per acquirer id seen so far (an empty day
   * still gets its header and trailer), opens the next date, and sends 0800/201 with the new date
   * to every signed-on peer (waiting up to 5 s for each answer; a silent peer is not an error).
   * Returns the closed date, the new one, the files written and how many peers answered 0810.
   */
  async cutover(): Promise<{ date: string; next: string; files: string[]; acknowledged: number }> {
    const closed = this.date;
    const book = this.book;
    // Switch days synchronously: everything processed from here on belongs to the new date.
    this.date = nextDay(closed);
    this.book = { lines: new Map() };
    const createdAt = new Date(this.now());
    await mkdir(this.options.outDir, { recursive: true });
    const files: string[] = [];
    for (const acquirerId of [...this.acquirers].sort()) {
      const lines: SettlementLine[] = [];
      for (const l of book.lines.get(acquirerId) ?? []) {
        if (!isPurchase(l)) lines.push(l);
        else if (!l.reversed) lines.push(SALE_FIELDS(l));
      }
      const file = join(this.options.outDir, settlementFileName(acquirerId, closed));
      await writeFile(file, formatSettlementFile({ acquirerId, date: closed, createdAt, lines }), 'utf8');
      files.push(file);
    }
    const answered = await Promise.all([...this.peers].filter((p) => p.signedOn).map((p) => this.announce(p)));
    return { date: closed, next: this.date, files, acknowledged: answered.filter(Boolean).length };
  }

  /** Sends the cut-over to one peer; true when it answered. */
  private announce(peer: Peer): Promise<boolean> {
    const m = cutoverMessage({ stan: this.stan.next(), at: this.now(), settlementDate: this.date });
    const key = KEYS.requestKey(m);
    return new Promise<boolean>((resolve) => {
      const finish = (answered: boolean): void => {
        clearTimeout(timer);
        peer.waiting.delete(key);
        resolve(answered);
      };
      const timer = setTimeout(() => finish(false), 5000);
      peer.waiting.set(key, finish);
      peer.channel.send(pack(SWITCH_SPEC, m)).catch(() => finish(false));
    });
  }

  // ----------------------------------------------------------------------------------------------
  // the wire
  // ----------------------------------------------------------------------------------------------

  private accept(channel: FrameConnection): void {
    const peer: Peer = { channel, acquirerId: null, signedOn: false, zpk: null, zak: null, waiting: new Map() };
    this.peers.add(peer);
    channel.on('frame', (frame) => this.onFrame(peer, frame));
    channel.once('down', () => {
      this.peers.delete(peer);
      for (const finish of [...peer.waiting.values()]) finish(false);
    });
  }

  private onFrame(peer: Peer, frame: Buffer): void {
    if (frame.length === 0) return;
    let m: Message;
    try {
      m = unpack(SWITCH_SPEC, frame);
    } catch {
      // Unreadable: a real switch would log and drop it; the peer times out.
      this.counters.undecodable++;
      return;
    }
    if (Number(m.mti[2]) % 2 === 1) {
      // An answer to our own request (cut-over).
      const key = KEYS.responseKey(m);
      if (key !== null) peer.waiting.get(key)?.(true);
      return;
    }
    const received = this.counters.received;
    received[m.mti] = (received[m.mti] ?? 0) + 1;
    const kind = kindOf(m);
    const fault = this.drawFault(m, kind);
    const response = this.handle(peer, m, kind, frame);
    if (response === null) return;
    const code = str(response, 39) ?? '';
    const byKind = (this.counters.answers[kind] ??= {});
    byKind[code] = (byKind[code] ?? 0) + 1;
    if (fault === 'drop') {
      this.counters.faults.drop++;
      return;
    }
    // A card answer carries a MAC whenever there is a ZAK to make one with.
    const bytes = needsMac(response) && peer.zak ? packWithMac(response, this.macWith(peer.zak)) : pack(SWITCH_SPEC, response);
    let delay = this.options.latencyMs + (this.options.jitterMs > 0 ? Math.floor(this.jitterRandom() * this.options.jitterMs) : 0);
    if (fault === 'late') {
      this.counters.faults.late++;
      delay = this.options.lateMs;
    }
    if (delay <= 0) {
      peer.channel.send(bytes).catch(() => undefined);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      peer.channel.send(bytes).catch(() => undefined);
    }, delay);
    this.timers.add(timer);
  }

  private macWith(zak: Buffer): (data: Buffer) => Buffer {
    return (data) => retailMac(zak, data, 1);
  }

  private drawFault(m: Message, kind: MessageKind): Fault | null {
    const eligible = this.options.faults === 'purchases' ? m.mti === '0200' : m.mti === '0200' || m.mti === '0400' || m.mti === '0220';
    if (!eligible || kind === 'unknown') return null;
    if (this.forced) {
      const fault = this.forced.fault;
      if (--this.forced.n <= 0) this.forced = null;
      return fault;
    }
    const { dropRate, timeoutRate } = this.options;
    if (dropRate === 0 && timeoutRate === 0) return null;
    const r = this.faultRandom();
    if (r < dropRate) return 'drop';
    if (r < dropRate + timeoutRate) return 'late';
    return null;
  }

  /** Processes one request and returns its answer (null: none). */
  private handle(peer: Peer, m: Message, kind: MessageKind, frame: Buffer): Message | null {
    switch (kind) {
      case 'signOn':
      case 'signOff':
      case 'echo':
      case 'keyChange':
      case 'cutover':
        return this.network(peer, m, kind);
      case 'purchase':
      case 'balance':
      case 'reversal':
      case 'refund':
        return this.card(peer, m, kind, frame);
      case 'coreInquiry':
        return this.coreInquiry(m);
      case 'coreDebit':
      case 'coreCredit':
        return this.corePost(m, kind === 'coreDebit' ? 'debit' : 'credit');
      case 'coreReversal':
        return this.coreReverse(m);
      case 'coreStatus':
        return this.coreStatusOf(m);
      case 'unknown':
        return answer(m, { 39: RC.invalidTransaction });
    }
  }

  // ----------------------------------------------------------------------------------------------
  // network management
  // ----------------------------------------------------------------------------------------------

  private network(peer: Peer, m: Message, kind: MessageKind): Message {
    const reply = (code: string, extra: Record<number, FieldValue | undefined> = {}): Message => answer(m, { 39: code, ...extra });
    switch (kind) {
      case 'signOn': {
        const acquirerId = str(m, 32);
        if (!acquirerId) return reply(RC.formatError);
        peer.acquirerId = acquirerId;
        peer.signedOn = true;
        this.acquirers.add(acquirerId);
        return reply(RC.approved, { 15: mmddOf(this.date) });
      }
      case 'signOff':
        peer.signedOn = false;
        peer.zpk = null;
        peer.zak = null;
        return reply(RC.approved);
      case 'echo':
        return reply(RC.approved);
      case 'keyChange': {
        const keys = parseKeyChange(str(m, 48) ?? '');
        const zpk = keys && this.unwrap(keys.zpk);
        const zak = keys && this.unwrap(keys.zak);
        if (!zpk || !zak) return reply(RC.systemError);
        peer.zpk = zpk;
        peer.zak = zak;
        const acquirerId = str(m, 32);
        if (acquirerId) {
          peer.acquirerId ??= acquirerId;
          this.acquirers.add(acquirerId);
        }
        return reply(RC.approved);
      }
      default:
        // Cut-over comes from the switch, never to it.
        return reply(RC.invalidTransaction);
    }
  }

  /** A TDES2 working key from its cryptogram under the ZMK, or null if its KCV does not match. */
  private unwrap(block: { cryptogram: string; kcv: string }): Buffer | null {
    if (block.cryptogram.length !== 32) return null;
    const key = tdesDecryptEcb(this.zmk, Buffer.from(block.cryptogram, 'hex'));
    const fixed = fixParity(key);
    return keyCheckValue('TDES2', fixed) === block.kcv.toUpperCase() ? fixed : null;
  }

  // ----------------------------------------------------------------------------------------------
  // card messages
  // ----------------------------------------------------------------------------------------------

  private card(peer: Peer, m: Message, kind: 'purchase' | 'balance' | 'reversal' | 'refund', frame: Buffer): Message {
    const extra: Record<number, FieldValue | undefined> = { 4: m.fields.get(4), 15: mmddOf(this.date) };
    // Before a key change there is no key to check (or make) a MAC with.
    if (!peer.zak || !peer.zpk) return answer(m, { ...extra, 39: RC.systemError });
    const given = m.fields.get(macField(m));
    if (!Buffer.isBuffer(given) || !retailMac(peer.zak, macInputOfFrame(frame), 1).equals(given)) {
      return answer(m, { ...extra, 39: RC.securityViolation });
    }
    const acquirerId = str(m, 32);
    if (!acquirerId) return answer(m, { ...extra, 39: RC.formatError });
    this.acquirers.add(acquirerId);
    const forced = this.forcedAnswer;
    if (forced && (kind === 'reversal' || kind === 'refund') && (forced.kind === undefined || forced.kind === kind)) {
      if (--forced.n <= 0) this.forcedAnswer = null;
      return answer(m, { ...extra, 39: forced.code });
    }
    switch (kind) {
      case 'purchase':
      case 'balance':
        return this.purchase(peer, m, kind, acquirerId, extra);
      case 'reversal':
        return this.reverse(m, acquirerId, extra);
      case 'refund':
        return this.refund(m, acquirerId, extra);
    }
  }

  private purchase(
    peer: Peer,
    m: Message,
    kind: 'purchase' | 'balance',
    acquirerId: string,
    extra: Record<number, FieldValue | undefined>,
  ): Message {
    const decline = (code: string): Message => answer(m, { ...extra, 39: code });
    const pan = str(m, 2) ?? '';
    const rrn = str(m, 37);
    const amountText = str(m, 4);
    if (!rrn || !amountText) return decline(RC.formatError);
    const rrnKey = `${acquirerId}|${rrn}`;
    if (kind === 'purchase' && this.rrns.has(rrnKey)) return decline(RC.duplicateMismatch);
    // A purchase whose RRN was already reversed (the reversal overtook it): the acquirer gave up on it.
    if (kind === 'purchase' && this.reversals.has(rrnKey)) return decline(RC.invalidTransaction);
    const entry = this.cardMap.get(pan);
    const refuse = (code: string): Message => {
      if (kind === 'purchase') this.rrns.set(rrnKey, { code });
      return decline(code);
    };
    if (!entry) return refuse(RC.noSuchCard);
    if (str(m, 14) !== entry.card.expiry) return refuse(RC.expiredOrWrongExpiry);
    const pinBlock = m.fields.get(52);
    if (Buffer.isBuffer(pinBlock)) {
      let pin: string | null;
      try {
        pin = decipherFormat0(peer.zpk!, pinBlock, pan);
      } catch {
        pin = null;
      }
      if (pin !== entry.card.pin) return refuse(RC.wrongPin);
    }
    if (kind === 'balance') return answer(m, { ...extra, 39: RC.approved, 54: balanceField(entry.balance) });
    if (this.options.declineRate > 0 && this.declineRandom() < this.options.declineRate) {
      this.counters.faults.decline++;
      return refuse(RC.doNotHonour);
    }
    const amount = Number(amountText);
    if (amount > entry.balance) return refuse(RC.insufficientFunds);
    entry.balance -= amount;
    this.authCounter = (this.authCounter % 999_999) + 1;
    const authCode = String(this.authCounter).padStart(6, '0');
    const purchase: Purchase = {
      acquirerId,
      rrn,
      pan,
      amount,
      stan: str(m, 11) ?? '',
      transmittedAt: str(m, 7) ?? '',
      terminalId: str(m, 41) ?? '',
      merchantId: str(m, 42) ?? '',
      authCode,
      settlementDate: this.date,
      refunded: 0,
      reversed: false,
    };
    this.rrns.set(rrnKey, purchase);
    this.byOriginal.set(`${padAcquirer(acquirerId)}|${purchase.stan}|${purchase.transmittedAt}`, purchase);
    this.line(acquirerId, purchase);
    return answer(m, { ...extra, 38: authCode, 39: RC.approved });
  }

  /** 0400: idempotent on 37; '00' whether reversed now, before, or never seen. */
  private reverse(m: Message, acquirerId: string, extra: Record<number, FieldValue | undefined>): Message {
    const rrn = str(m, 37);
    if (!rrn) return answer(m, { ...extra, 39: RC.formatError });
    const key = `${acquirerId}|${rrn}`;
    if (this.reversals.has(key)) return answer(m, { ...extra, 39: RC.approved });
    this.reversals.add(key);
    const original = this.rrns.get(key);
    if (original && isPurchase(original) && !original.reversed) {
      original.reversed = true;
      const entry = this.cardMap.get(original.pan);
      // What was refunded already went back to the card.
      if (entry) entry.balance += original.amount - original.refunded;
      if (original.settlementDate !== this.date) {
        // Its day is closed (the SALE is in a file): the reversal settles on the open day.
        this.line(acquirerId, {
          type: 'REVERSAL',
          rrn,
          amount: original.amount,
          stan: str(m, 11) ?? '',
          transmittedAt: str(m, 7) ?? '',
          terminalId: str(m, 41) ?? '',
          merchantId: str(m, 42) ?? '',
          panMasked: maskPan(original.pan),
          authCode: null,
          originalRrn: original.rrn,
        });
      }
    }
    return answer(m, { ...extra, 39: RC.approved });
  }

  /** 0220: idempotent on 37 (the refund's own RRN); the original is found by field 90. */
  private refund(m: Message, acquirerId: string, extra: Record<number, FieldValue | undefined>): Message {
    const rrn = str(m, 37);
    const original = parseOriginalData(str(m, 90) ?? '');
    const amountText = str(m, 4);
    if (!rrn || !original || !amountText) return answer(m, { ...extra, 39: RC.formatError });
    const key = `${acquirerId}|${rrn}`;
    const done = this.refunds.get(key);
    if (done !== undefined) return answer(m, { ...extra, 39: done });
    const purchase = this.byOriginal.get(`${original.acquirerId}|${original.stan}|${original.transmittedAt}`);
    const amount = Number(amountText);
    let code: string;
    if (!purchase) code = RC.notFound;
    else if (purchase.reversed || amount <= 0 || amount > purchase.amount - purchase.refunded) code = RC.invalidAmount;
    else {
      code = RC.approved;
      purchase.refunded += amount;
      const entry = this.cardMap.get(purchase.pan);
      if (entry) entry.balance += amount;
      this.line(acquirerId, {
        type: 'REFUND',
        rrn,
        amount,
        stan: str(m, 11) ?? '',
        transmittedAt: str(m, 7) ?? '',
        terminalId: str(m, 41) ?? '',
        merchantId: str(m, 42) ?? '',
        panMasked: maskPan(purchase.pan),
        authCode: null,
        originalRrn: purchase.rrn,
      });
    }
    this.refunds.set(key, code);
    return answer(m, { ...extra, 39: code });
  }

  private line(acquirerId: string, line: SettlementLine | Purchase): void {
    let lines = this.book.lines.get(acquirerId);
    if (!lines) this.book.lines.set(acquirerId, (lines = []));
    lines.push(line);
  }

  // ----------------------------------------------------------------------------------------------
  // core-banking host (no MAC, idempotent on field 48)
  // ----------------------------------------------------------------------------------------------

  private coreInquiry(m: Message): Message {
    const account = this.accountMap.get(str(m, 102) ?? '');
    if (!account) return answer(m, { 39: RC.noSuchCard });
    return answer(m, { 39: RC.approved, 44: account.status, 54: balanceField(account.balance) });
  }

  private corePost(m: Message, kind: 'debit' | 'credit'): Message {
    const requestId = str(m, 48);
    const number = (kind === 'credit' ? (str(m, 103) ?? str(m, 102)) : str(m, 102)) ?? '';
    const amountText = str(m, 4);
    const reply = (code: string): Message => answer(m, { 4: amountText, 39: code });
    if (!requestId || !amountText || !number) return reply(RC.formatError);
    const amount = Number(amountText);
    const fingerprint = `${kind}|${number}|${amount}`;
    const seen = this.coreRequests.get(requestId);
    if (seen) return reply(seen.fingerprint === fingerprint ? seen.code : RC.duplicateMismatch);
    const account = this.accountMap.get(number);
    let code: string;
    if (!account) code = RC.noSuchCard;
    else if (account.status !== 'A') code = RC.restricted;
    else if (kind === 'debit' && amount > account.balance) code = RC.insufficientFunds;
    else {
      code = RC.approved;
      account.balance += kind === 'debit' ? -amount : amount;
    }
    this.coreRequests.set(requestId, { fingerprint, kind, account: number, amount, code, status: code === RC.approved ? 'P' : 'J' });
    const answered = reply(code);
    if (code === RC.approved && account) answered.fields.set(54, balanceField(account.balance));
    return answered;
  }

  /** 0400 with the original request id in 48: undoes a posted debit/credit once; '00' in every case. */
  private coreReverse(m: Message): Message {
    const requestId = str(m, 48);
    if (!requestId) return answer(m, { 39: RC.formatError });
    const seen = this.coreRequests.get(requestId);
    if (!seen) {
      // Never seen: nothing to undo, and the id is spent, so a debit that arrives after its own
      // reversal (on another connection) cannot post.
      this.coreRequests.set(requestId, { fingerprint: null, kind: 'debit', account: '', amount: 0, code: RC.approved, status: 'R' });
    } else if (seen.status === 'P') {
      const account = this.accountMap.get(seen.account);
      if (account) account.balance += seen.kind === 'debit' ? seen.amount : -seen.amount;
      seen.status = 'R';
    }
    return answer(m, { 39: RC.approved });
  }

  private coreStatusOf(m: Message): Message {
    const requestId = str(m, 48);
    if (!requestId) return answer(m, { 39: RC.formatError });
    return answer(m, { 39: RC.approved, 44: this.coreRequests.get(requestId)?.status ?? 'N' });
  }
}
