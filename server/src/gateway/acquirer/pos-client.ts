/**
 * A simulated conventional POS terminal (no database): it speaks the acquirer host's CUP-style
 * ISO 8583 over one TCP connection, holds its keys in clear as a terminal does (the TMK loaded
 * from its components; TPK and TAK from the sign-on, decrypted and checked against their KCVs),
 * builds format 0 PIN blocks and field 64 MACs with the crypto primitives, and keeps a STAN
 * counter and the journal of its open batch (for settlement totals and batch upload).
 *
 * With `dukpt` it has a DUKPT PIN pad instead (dukpt-pad.ts: loaded with its initial key and KSN,
 * one KSN per PIN): TDES — 52 format 0 and the KSN in 62; AES — 62 = KSN ‖ format 4 block. Sign-on
 * and MACs stay the same (the TPK is then unused).
 *
 * Many requests may be in flight at once (a Mux matches answers by MTI, terminal id and STAN);
 * tests use it, and the benchmarks drive thousands of requests a second through it.
 */
import { tdesDecryptEcb } from '../../crypto/primitives.js';
import { keyCheckValue } from '../../crypto/kcv.js';
import { retailMac } from '../../crypto/mac.js';
import { encipherFormat0 } from '../../crypto/pin-block.js';
import { DukptPad, type DukptScheme } from './dukpt-pad.js';
import type { BatchTotals } from '../../payments/contracts.js';
import { ClientChannel, Mux, isoMatchKey, isoRequestKey, isRequestMti, type ClientTlsOptions, type MuxCodec } from '../channel/index.js';
import { CUP_POS, getBytes, getString, getSubfields, pack, unpack, type FieldValue, type Message, type Tpdu } from '../iso8583/index.js';
import {
  FINANCIAL,
  MAC_BYTES,
  MAX_UPLOAD_LINES,
  amountField,
  decodeKeyData,
  decodeTotals,
  encodeTotals,
  encodeUploadLines,
  macData,
  parseBalanceField,
  type UploadLine,
} from './messages.js';

export interface PosClientOptions {
  /** Field 41 (8 characters) and field 42 (15). */
  tid: string;
  mid: string;
  /** How long to wait for each answer (default 10 s). */
  timeoutMs?: number;
  /** TPDU (default destination 0006, source 0000) and application header (default 603100311003). */
  tpdu?: Tpdu;
  header?: string;
  /** The first STAN used is this + 1 (default 0). */
  stan?: number;
  /** Outstanding requests allowed at once (default 10,000). */
  maxPending?: number;
  /**
   * A DUKPT PIN pad, as the key-injection facility loaded it: the initial key (hex; TDES: the IPEK,
   * AES: the initial key) and the initial KSN (hex, 20 / 24 digits, counter usually 0).
   */
  dukpt?: { scheme: DukptScheme; initialKey: string; ksn: string };
  /** Connect over TLS (a host with XIAOWEI_ISO_TLS_CERT / _KEY): `ca` to trust its certificate. */
  tls?: ClientTlsOptions;
}

/** What came back for one request. */
export interface PosResult {
  /** Field 39. */
  code: string;
  approved: boolean;
  /** The request's STAN and batch (60.2), as sent. */
  stan: string;
  batch: string;
  rrn: string | undefined;
  authCode: string | undefined;
  balance: number | undefined;
  /** Whether the answer's MAC verified under the TAK; null when it carried none. */
  macValid: boolean | null;
  request: Message;
  answer: Message;
}

export interface CardData {
  pan: string;
  /** YYMM. */
  expiry: string;
  /** Clear PIN: the client makes the format 0 PIN block under its TPK. */
  pin?: string | undefined;
  /** Send the card as track 2 (35) instead of fields 2 and 14. */
  track2?: boolean | undefined;
}

/** The transaction an original-referencing request names (61): its batch and STAN. */
export interface OriginalRef {
  stan: string;
  batch: string;
}

interface JournalEntry {
  kind: keyof typeof FINANCIAL;
  stan: string;
  pan: string;
  amount: number;
}

/** How `send` treats field 64: sign it (default), leave it as given, or sign it wrongly. */
type MacMode = 'sign' | 'none' | 'corrupt';

export class PosClient {
  private readonly channel: ClientChannel;
  private readonly mux: Mux<Message>;
  private readonly timeoutMs: number;
  private readonly tpdu: Tpdu;
  private readonly header: string;
  private stanCounter: number;
  private tpk: Buffer | undefined;
  private tak: Buffer | undefined;
  /** Requests to send without a MAC or with a wrong one (tests of the host's refusals). */
  private readonly macModes = new WeakMap<Message, MacMode>();
  private readonly macResults = new WeakMap<Message, boolean>();
  /** Approved transactions of the open batch, by STAN. */
  private readonly journal = new Map<string, JournalEntry>();
  /** The terminal's batch number (60.2), as the last sign-on or settlement left it. */
  batchNo = 1;
  /** The DUKPT PIN pad, when the terminal has one. */
  readonly pad: DukptPad | undefined;

  private constructor(
    readonly options: PosClientOptions,
    host: string,
    port: number,
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.tpdu = options.tpdu ?? { destination: '0006', source: '0000' };
    this.header = options.header ?? '603100311003';
    this.stanCounter = options.stan ?? 0;
    this.pad = options.dukpt ? new DukptPad(options.dukpt.scheme, Buffer.from(options.dukpt.initialKey, 'hex'), options.dukpt.ksn) : undefined;
    this.channel = new ClientChannel({ host, port, reconnect: false, keepAliveMs: 0, ...(options.tls ? { tls: options.tls } : {}) });
    const codec: MuxCodec<Message> = {
      encode: (m) => this.encode(m),
      decode: (frame) => this.decode(frame),
      requestKey: (m) => isoRequestKey(m.mti, getString(m, 41) ?? '', getString(m, 11) ?? ''),
      responseKey: (m) => isoMatchKey(m.mti, getString(m, 41) ?? '', getString(m, 11) ?? ''),
      isRequest: (m) => isRequestMti(m.mti),
    };
    this.mux = new Mux(this.channel, { codec, ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }) });
  }

  /** Connects to the host; resolves once the connection is up. */
  static async connect(host: string, port: number, options: PosClientOptions): Promise<PosClient> {
    const client = new PosClient(options, host, port);
    client.channel.start();
    await client.channel.whenConnected(client.timeoutMs);
    await client.mux.whenReady(client.timeoutMs);
    return client;
  }

  async close(): Promise<void> {
    this.mux.close();
    await this.channel.close();
    this.tpk?.fill(0);
    this.tak?.fill(0);
    this.pad?.destroy();
  }

  /** Requests awaiting their answer. */
  get outstanding(): number {
    return this.mux.outstanding;
  }

  get batch(): string {
    return String(this.batchNo).padStart(6, '0');
  }

  /** The next STAN (000001…999999, then 000001 again). */
  nextStan(): string {
    this.stanCounter = (this.stanCounter % 999_999) + 1;
    return String(this.stanCounter).padStart(6, '0');
  }

  // ─── Wire ───────────────────────────────────────────────────────────────────────────────────

  private encode(m: Message): Buffer {
    const frame = pack(CUP_POS, m);
    const mode = this.macModes.get(m) ?? 'sign';
    if (m.fields.has(64) && mode !== 'none') {
      if (!this.tak) throw new Error('PosClient: sign on first (no TAK)');
      const mac = retailMac(this.tak, macData(frame));
      if (mode === 'corrupt') mac[0] = mac[0]! ^ 0xff;
      mac.copy(frame, frame.length - MAC_BYTES, 0, MAC_BYTES);
    }
    return frame;
  }

  private decode(frame: Buffer): Message {
    const m = unpack(CUP_POS, frame);
    const mac = getBytes(m, 64);
    if (mac && this.tak) this.macResults.set(m, retailMac(this.tak, macData(frame)).subarray(0, MAC_BYTES).equals(mac));
    return m;
  }

  /** Builds a request with the terminal's TPDU, header, 41 and 42. */
  message(mti: string, fields: [number, FieldValue][]): Message {
    return {
      mti,
      tpdu: this.tpdu,
      header: this.header,
      fields: new Map<number, FieldValue>([[41, this.options.tid], [42, this.options.mid], ...fields]),
    };
  }

  /**
   * Sends a request as is and waits for its answer. `mac`: 'sign' (default: field 64, if present,
   * gets the MAC under the TAK), 'none' (field 64 sent as given), 'corrupt' (a wrong MAC).
   */
  async send(request: Message, mac: MacMode = 'sign'): Promise<PosResult> {
    if (mac !== 'sign') this.macModes.set(request, mac);
    const answer = await this.mux.request(request, this.timeoutMs);
    const code = getString(answer, 39) ?? '';
    const f54 = getString(answer, 54);
    return {
      code,
      approved: code === '00',
      stan: getString(request, 11) ?? '',
      batch: (getSubfields(request, 60)?.get(2) as string | undefined) ?? '',
      rrn: getString(answer, 37),
      authCode: getString(answer, 38),
      balance: f54 === undefined ? undefined : parseBalanceField(f54),
      macValid: this.macResults.get(answer) ?? null,
      request,
      answer,
    };
  }

  // ─── Network management ─────────────────────────────────────────────────────────────────────

  /**
   * Sign-on with the clear TMK (32 hex): installs the TPK and TAK of field 62 when their check
   * values match, and takes the batch number the host answers in 60.2.
   */
  async signOn(tmkHex: string): Promise<PosResult & { keysValid: boolean; tpkKcv?: string; takKcv?: string }> {
    const result = await this.send(
      this.message('0800', [
        [11, this.nextStan()],
        [60, new Map([[1, '00'], [2, this.batch], [3, '003']])],
        [63, new Map([[1, '001']])],
      ]),
    );
    if (!result.approved) return { ...result, keysValid: false };
    const data = getBytes(result.answer, 62);
    const keys = data ? decodeKeyData(data) : undefined;
    if (!keys) return { ...result, keysValid: false };
    const tmk = Buffer.from(tmkHex, 'hex');
    try {
      const tpk = tdesDecryptEcb(tmk, keys.tpk);
      const tak = tdesDecryptEcb(tmk, keys.tak);
      const keysValid = keyCheckValue('TDES2', tpk) === keys.tpkKcv && keyCheckValue('TDES2', tak) === keys.takKcv;
      if (keysValid) {
        this.tpk?.fill(0);
        this.tak?.fill(0);
        this.tpk = tpk;
        this.tak = tak;
        const batch = getSubfields(result.answer, 60)?.get(2);
        if (typeof batch === 'string' && Number(batch) !== this.batchNo) {
          this.batchNo = Number(batch);
          this.journal.clear();
        }
      }
      return { ...result, keysValid, tpkKcv: keys.tpkKcv, takKcv: keys.takKcv };
    } finally {
      tmk.fill(0);
    }
  }

  signOff(): Promise<PosResult> {
    return this.send(this.message('0820', [[11, this.nextStan()], [60, new Map([[1, '00'], [2, this.batch], [3, '002']])]]));
  }

  echo(): Promise<PosResult> {
    return this.send(this.message('0820', [[11, this.nextStan()], [60, new Map([[1, '00'], [2, this.batch], [3, '301']])]]));
  }

  // ─── Financial ──────────────────────────────────────────────────────────────────────────────

  /** The card fields of a request (2, 14, 22, and the PIN: 52 / 62 — a DUKPT pad spends a KSN on each call). */
  cardFields(card: CardData): [number, FieldValue][] {
    const fields: [number, FieldValue][] = card.track2
      ? [[35, `${card.pan}=${card.expiry}2010000000000`.slice(0, 37)]]
      : [
          [2, card.pan],
          [14, card.expiry],
        ];
    if (card.pin === undefined) return [...fields, [22, '022']];
    if (this.pad) {
      const { ksn, block } = this.pad.encipher(card.pin, card.pan);
      return this.pad.scheme === 'tdes'
        ? [...fields, [22, '021'], [26, '12'], [52, block], [53, '2600000000000000'], [62, ksn]]
        : [...fields, [22, '021'], [26, '12'], [62, Buffer.concat([ksn, block])]];
    }
    if (!this.tpk) throw new Error('PosClient: sign on first (no TPK)');
    return [...fields, [22, '021'], [26, '12'], [52, encipherFormat0(this.tpk, card.pin, card.pan)], [53, '2600000000000000']];
  }

  /** A financial request of this kind, signed (field 64 present). */
  financial(kind: keyof typeof FINANCIAL, fields: [number, FieldValue][], stan = this.nextStan()): Message {
    const f = FINANCIAL[kind];
    return this.message(f.mti, [
      [3, f.processing],
      [11, stan],
      [25, f.condition],
      [49, '156'],
      [60, new Map([[1, f.type60], [2, this.batch], [3, '000']])],
      [64, Buffer.alloc(MAC_BYTES)],
      ...fields,
    ]);
  }

  private original(ref: OriginalRef): [number, FieldValue] {
    return [61, new Map([[1, ref.batch], [2, ref.stan]])];
  }

  /** Sends, and keeps approved money-moving requests in the batch journal (voids take their original out). */
  private async transact(kind: keyof typeof FINANCIAL, request: Message, pan: string, amount: number, original?: OriginalRef): Promise<PosResult> {
    const result = await this.send(request);
    if (result.approved && result.batch === this.batch) {
      if (kind === 'sale' || kind === 'completion' || kind === 'refund') this.journal.set(result.stan, { kind, stan: result.stan, pan, amount });
      if ((kind === 'void' || kind === 'completion_void') && original) this.journal.delete(original.stan);
    }
    return result;
  }

  sale(input: CardData & { amount: number }): Promise<PosResult> {
    const request = this.financial('sale', [[4, amountField(input.amount)], ...this.cardFields(input)]);
    return this.transact('sale', request, input.pan, input.amount);
  }

  preauth(input: CardData & { amount: number }): Promise<PosResult> {
    return this.send(this.financial('preauth', [[4, amountField(input.amount)], ...this.cardFields(input)]));
  }

  balance(input: CardData): Promise<PosResult> {
    return this.send(this.financial('balance', this.cardFields(input)));
  }

  /** Sale void of `original` for its full `amount`. */
  void(input: { original: OriginalRef; amount: number; card?: CardData }): Promise<PosResult> {
    const request = this.financial('void', [[4, amountField(input.amount)], this.original(input.original), ...(input.card ? this.cardFields(input.card) : [])]);
    return this.transact('void', request, input.card?.pan ?? '', input.amount, input.original);
  }

  refund(input: { original: OriginalRef; amount: number; card?: CardData }): Promise<PosResult> {
    const request = this.financial('refund', [[4, amountField(input.amount)], this.original(input.original), ...(input.card ? this.cardFields(input.card) : [])]);
    return this.transact('refund', request, input.card?.pan ?? '', input.amount);
  }

  preauthVoid(input: { original: OriginalRef; amount: number; card?: CardData }): Promise<PosResult> {
    return this.send(this.financial('preauth_void', [[4, amountField(input.amount)], this.original(input.original), ...(input.card ? this.cardFields(input.card) : [])]));
  }

  completion(input: { original: OriginalRef; amount: number; card?: CardData }): Promise<PosResult> {
    const request = this.financial('completion', [[4, amountField(input.amount)], this.original(input.original), ...(input.card ? this.cardFields(input.card) : [])]);
    return this.transact('completion', request, input.card?.pan ?? '', input.amount);
  }

  completionVoid(input: { original: OriginalRef; amount: number; card?: CardData }): Promise<PosResult> {
    const request = this.financial('completion_void', [[4, amountField(input.amount)], this.original(input.original), ...(input.card ? this.cardFields(input.card) : [])]);
    return this.transact('completion_void', request, input.card?.pan ?? '', input.amount, input.original);
  }

  /**
   * Reversal (0400, reason 98: no answer) of a request sent earlier: its STAN, batch, processing
   * code, amount and card. Takes the original out of the batch journal when acknowledged.
   */
  async reversal(original: Message, reason = '98'): Promise<PosResult> {
    const fields: [number, FieldValue][] = [[39, reason], [64, Buffer.alloc(MAC_BYTES)]];
    for (const f of [2, 3, 4, 11, 14, 22, 25, 35, 49, 60]) {
      const v = original.fields.get(f);
      if (v !== undefined) fields.push([f, v]);
    }
    const result = await this.send(this.message('0400', fields));
    if (result.approved) this.journal.delete(result.stan);
    return result;
  }

  // ─── Batch ──────────────────────────────────────────────────────────────────────────────────

  /** The open batch's totals from the journal: sales and completions are debits, refunds credits. */
  totals(): BatchTotals {
    const t: BatchTotals = { saleCount: 0, saleAmount: 0, refundCount: 0, refundAmount: 0 };
    for (const e of this.journal.values()) {
      if (e.kind === 'refund') {
        t.refundCount++;
        t.refundAmount += e.amount;
      } else {
        t.saleCount++;
        t.saleAmount += e.amount;
      }
    }
    return t;
  }

  /** The journal as batch-upload lines. */
  lines(): UploadLine[] {
    return [...this.journal.values()].map((e) => ({ type60: FINANCIAL[e.kind].type60, stan: e.stan, pan: e.pan, amount: e.amount }));
  }

  /**
   * Batch settlement (0500) with the journal's totals (or the given ones). Balanced: the terminal
   * moves to the next batch. Not balanced: upload (then it moves on).
   */
  async settle(totals: BatchTotals = this.totals()): Promise<PosResult & { balanced: boolean | null }> {
    const result = await this.send(
      this.message('0500', [
        [11, this.nextStan()],
        [48, encodeTotals(totals, '0')],
        [49, '156'],
        [60, new Map([[1, '00'], [2, this.batch], [3, '201']])],
        [63, new Map([[1, '001']])],
      ]),
    );
    const answer = decodeTotals(getString(result.answer, 48) ?? '')?.answer;
    const balanced = result.approved && answer ? answer === '1' : null;
    if (balanced) this.nextBatch();
    return { ...result, balanced };
  }

  /** Batch upload (0320): the lines in messages of 8, then the closing 0320 with their count; the terminal then moves to the next batch. */
  async upload(lines: readonly UploadLine[] = this.lines()): Promise<PosResult> {
    const batch = this.batch;
    for (let i = 0; i < lines.length; i += MAX_UPLOAD_LINES) {
      const part = await this.send(
        this.message('0320', [
          [11, this.nextStan()],
          [48, encodeUploadLines(lines.slice(i, i + MAX_UPLOAD_LINES))],
          [60, new Map([[1, '00'], [2, batch], [3, '201']])],
        ]),
      );
      if (!part.approved) return part;
    }
    const end = await this.send(
      this.message('0320', [
        [11, this.nextStan()],
        [48, String(lines.length).padStart(4, '0')],
        [60, new Map([[1, '00'], [2, batch], [3, '202']])],
      ]),
    );
    if (end.approved) this.nextBatch();
    return end;
  }

  private nextBatch(): void {
    this.batchNo = (this.batchNo % 999_999) + 1;
    this.journal.clear();
  }
}
