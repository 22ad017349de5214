/**
 * The card-switch link: one reconnecting TCP (or TLS) channel to the switch, a mux over it, the
 * sign-on and zone-key exchange on every connect, online authorisation of other banks' cards
 * (`authorize`, `recover`) and the store-and-forward queue of reversals and refund advices
 * (`queue`, `release`, the forwarder).
 *
 * Exactly once, in short: a journal row is written before a request leaves; the answer, a
 * timeout or another process's `recover` each move the row out of 'open' with a conditional
 * update, and only one of them wins. A sale whose answer we did not get (or could not trust: a
 * bad MAC) is reversed through store and forward, queued in the same transaction that marks it
 * 'unknown'. Store-and-forward rows are claimed with a conditional update before each attempt,
 * so several processes on one database share the queue without sending a row twice at once.
 *
 * Logs carry STANs, RRNs, response codes and channel error codes; never a PAN, PIN block or key.
 */
import { createHash } from 'node:crypto';
import type { KeyHandle } from '../../crypto/index.js';
import { isCryptoError } from '../../crypto/index.js';
import type { Kysely } from 'kysely';
import { RESPONSE_CODES, type OffUsAdvice, type OffUsAnswer, type OffUsAuthorizer, type OffUsRequest, type ResponseCode } from '../../payments/contracts.js';
import { groupWrite } from '../../platform/db/group-writer.js';
import { newId } from '../../platform/ids.js';
import { ChannelError, ClientChannel, isChannelError, Mux, type ClientChannelOptions, type MuxCodec } from '../channel/index.js';
import type { GatewayDeps } from '../deps.js';
import type { Message } from '../iso8583/index.js';
import { Counters } from './counters.js';
import * as J from './journal.js';
import { keyCheckValues, loadKey, storeKey } from './keys.js';
import * as P from './protocol.js';
import { PAN_PURPOSE, type SafRow, type SafState, type SwitchDb, type SwitchTxnRow } from './tables.js';

export type SwitchLinkState = 'connecting' | 'no_zmk' | 'signed_on' | 'down' | 'closed';

export interface SwitchLinkStatus {
  /**
   * connecting: no connection yet, or signing on; no_zmk: connected but no zone master key was
   * imported; signed_on: ready for requests; down: the connection was lost (reconnecting) or the
   * switch stopped answering echoes; closed: stopped. `not_configured` only from the route when
   * no XIAOWEI_SWITCH_URL is set.
   */
  state: SwitchLinkState | 'not_configured';
  /** The switch's current settlement date, 'YYYY-MM-DD' (from sign-on, answers and cut-over). */
  settlementDate: string | null;
  /** Store-and-forward rows waiting to be sent ('queued'). */
  safDepth: number;
  safCounts: Record<SafState, number>;
  /**
   * Open store-and-forward exceptions for staff: `refused` — refused for good, no longer sent
   * (state 'failed'); `retries` — still sent, but XIAOWEI_SAF_ALERT_ATTEMPTS attempts failed.
   */
  safExceptions: { refused: number; retries: number };
  keys: { zmk: string | null; zpk: string | null; zak: string | null };
  /** µs: the last echo answered (ours) or received (the switch's). */
  lastEchoAt: number | null;
  /** µs: when the current session signed on. */
  signedOnAt: number | null;
  /** host:port of the switch. */
  peer: string | null;
  acquirerId: string;
  /** Requests awaiting an answer on this process's connection. */
  outstanding: number;
}

/** The link as the gateway and the payments engine see it (the engine: the `OffUsAuthorizer` part). */
export interface SwitchLink extends OffUsAuthorizer {
  start(): Promise<void>;
  close(): Promise<void>;
  status(): Promise<SwitchLinkStatus>;
  /** Resolves when signed on; rejects after `timeoutMs` (or when the link is closed). */
  whenReady(timeoutMs: number): Promise<void>;
  /** Signs on again with fresh zone keys (after a new ZMK was imported). */
  rekey(): Promise<void>;
  /** Sends due store-and-forward rows now; resolves when the pass is over. */
  forward(): Promise<void>;
  /** Makes one queued (or failed: queued again) row due now and tries it (if the link is up); resolves when tried. */
  retry(id: string): Promise<void>;
}

export interface SwitchLinkOptions {
  url: string;
  /** Defaults from config: XIAOWEI_SWITCH_TIMEOUT_MS, XIAOWEI_SAF_RETRY_MS, XIAOWEI_SAF_MAX_RETRY_MS, XIAOWEI_SAF_ALERT_ATTEMPTS. */
  timeoutMs?: number;
  safRetryMs?: number;
  safMaxRetryMs?: number;
  safAlertAttempts?: number;
  echoIntervalMs?: number;
  /** For tls:// URLs (default: verify against Node's roots / NODE_EXTRA_CA_CERTS). */
  tls?: ClientChannelOptions['tls'];
  reconnect?: ClientChannelOptions['reconnect'];
}

/** Session keys of one signed-on connection. */
interface Session {
  generation: number;
  zpk: KeyHandle;
  zak: KeyHandle;
}

const ECHO_INTERVAL_MS = 30_000;
const ECHO_MAX_FAILURES = 3;
const SAF_BATCH = 100;
/** recover() re-reads the journal this often while a call may still be open elsewhere. */
const RECOVER_POLL_MS = 100;

/**
 * Answers to a reversal or refund advice that say "not now" rather than "no": re-enter (19), too
 * late (68), cut-over in progress (90), switch or issuer inoperative (91), no route (92), system
 * malfunction (96). They are retried with back-off; every other refusal is permanent.
 */
export const TRANSIENT_ADVICE_CODES: ReadonlySet<string> = new Set(['19', '68', '90', '91', '92', '96']);

export type AdviceVerdict = 'acknowledged' | 'rejected' | 'refused' | 'transient';

/**
 * What an answer (with a good MAC) to an advice means. '00' acknowledges. A reversal answered
 * '25' (original not found) is acknowledged too: the switch never booked the sale, so there is
 * nothing to undo. A refund advice answered '13' (more than the unrefunded amount) or '25' is
 * rejected (reconciliation reports it). Transient codes are retried; anything else is refused for good.
 */
export function classifyAdviceAnswer(kind: 'reversal' | 'refund', code: string): AdviceVerdict {
  if (code === P.RC.approved) return 'acknowledged';
  if (kind === 'reversal' && code === P.RC.notFound) return 'acknowledged';
  if (kind === 'refund' && (code === P.RC.invalidAmount || code === P.RC.notFound)) return 'rejected';
  return TRANSIENT_ADVICE_CODES.has(code) ? 'transient' : 'refused';
}

/** The wait before attempt n + 1 after n failed ones (n ≥ 1): `base` doubling per attempt, at most `cap`. */
export function safBackoffMs(failedAttempts: number, baseMs: number, capMs: number): number {
  const doublings = Math.min(Math.max(failedAttempts - 1, 0), 40);
  return Math.min(Math.max(capMs, baseMs), baseMs * 2 ** doublings);
}

/** Codes the engine knows pass through; expired card '54' is our '33'; anything else is '05'. */
export function mapResponseCode(code: string | undefined): ResponseCode {
  if (code === '54') return '33';
  if (code !== undefined && Object.hasOwn(RESPONSE_CODES, code)) return code as ResponseCode;
  return '05';
}

/** A stable reference of `length` characters [0-9A-Z] for a platform id (fields 41 and 42). */
export function fieldRef(id: string, length: number): string {
  const digest = createHash('sha256').update(id).digest('hex');
  return BigInt(`0x${digest}`).toString(36).toUpperCase().slice(0, length).padStart(length, '0');
}

function parseUrl(url: string): { host: string; port: number; secure: boolean } {
  const m = /^(tcp|tls):\/\/([^/:]+):([0-9]{1,5})$/.exec(url);
  if (!m) throw new RangeError('the switch URL is tcp://host:port or tls://host:port');
  return { secure: m[1] === 'tls', host: m[2]!, port: Number(m[3]) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createSwitchLink(deps: GatewayDeps, options: { url: string } & Partial<SwitchLinkOptions>): SwitchLink {
  return new Link(deps, options);
}

class Link implements SwitchLink {
  private readonly db: SwitchDb;
  private readonly counters: Counters;
  private readonly channel: ClientChannel;
  private readonly mux: Mux<Message>;
  private readonly timeoutMs: number;
  private readonly safRetryMs: number;
  private readonly safMaxRetryMs: number;
  private readonly safAlertAttempts: number;
  private readonly acquirerId: string;
  private readonly peer: string;

  private started = false;
  private closed = false;
  private everUp = false;
  /** Bumped on every connect and disconnect: work of an older connection must not touch the state. */
  private generation = 0;
  private phase: 'connecting' | 'no_zmk' | 'signed_on' = 'connecting';
  private session: Session | undefined;
  private signingOn: Promise<void> | undefined;
  private signOnRetry: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private settlementDate: string | null = null;
  private lastEchoAt: number | null = null;
  private signedOnAt: number | null = null;
  private readonly readyWaiters = new Set<() => void>();

  /** authorize() calls in progress in this process, by txn id (recover awaits them). */
  private readonly inflight = new Map<string, Promise<OffUsAnswer>>();
  /** The forwarder: one pass at a time; a kick during a pass asks for another. */
  private passing: Promise<void> | undefined;
  private passAgain = false;
  /** Released rows whose releasing transaction may not have committed yet: re-kick a few times. */
  private readonly watched = new Map<string, number>();
  private watchTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: GatewayDeps,
    options: { url: string } & Partial<SwitchLinkOptions>,
  ) {
    this.db = deps.db as SwitchDb;
    this.counters = new Counters(this.db);
    this.timeoutMs = options.timeoutMs ?? deps.config.XIAOWEI_SWITCH_TIMEOUT_MS;
    this.safRetryMs = options.safRetryMs ?? deps.config.XIAOWEI_SAF_RETRY_MS;
    this.safMaxRetryMs = options.safMaxRetryMs ?? deps.config.XIAOWEI_SAF_MAX_RETRY_MS;
    this.safAlertAttempts = options.safAlertAttempts ?? deps.config.XIAOWEI_SAF_ALERT_ATTEMPTS;
    this.acquirerId = deps.config.XIAOWEI_ACQUIRER_ID;
    const { host, port, secure } = parseUrl(options.url);
    this.peer = `${host}:${port}`;
    this.channel = new ClientChannel({
      host,
      port,
      ...(secure ? { tls: options.tls ?? {} } : {}),
      ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : { reconnect: { initialDelayMs: 100, maxDelayMs: 5_000 } }),
    });
    this.mux = new Mux(this.channel, {
      codec: this.codec(),
      echo: { intervalMs: options.echoIntervalMs ?? ECHO_INTERVAL_MS, timeoutMs: this.timeoutMs, maxFailures: ECHO_MAX_FAILURES },
    });
    this.channel.on('up', () => this.onUp());
    this.channel.on('down', (reason) => this.onDown(reason));
    this.mux.on('unhandled', (event) => {
      if (event.reason === 'request') void this.answerSwitch(event.message);
      else if (event.reason === 'late') void this.onLate(event.message, event.request);
      else this.log('warn', 'switch: unmatched answer', { mti: event.message.mti, stan: P.str(event.message, 11) });
    });
    this.mux.on('undecodable', (_error, bytes) => this.log('warn', 'switch: undecodable frame', { bytes }));
    this.mux.on('ready', () => this.notifyReady());
    this.mux.on('notReady', (reason) => this.log('warn', 'switch: link not ready', { code: reason.code }));
  }

  // ─── life cycle ────────────────────────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    await this.counters.warm();
    this.channel.start();
    this.tickTimer = setInterval(() => this.tick(), this.safRetryMs);
    this.tickTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const wasReady = this.ready;
    this.closed = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.signOnRetry);
    clearTimeout(this.watchTimer);
    if (wasReady && this.inflight.size === 0) {
      // A courtesy: the switch stops sending us cut-overs and echoes. Best effort.
      const stan = this.counters.stanSync();
      if (stan) await this.mux.request(P.signOff({ stan, at: this.nowMs(), acquirerId: this.acquirerId }), Math.min(this.timeoutMs, 2_000)).catch(() => undefined);
    }
    // Pending requests fail now; those already sent become 'unknown' with their reversal queued,
    // which the next link (this process restarted, or another one) sends.
    this.mux.close();
    await Promise.allSettled([...this.inflight.values()]);
    await this.passing?.catch(() => undefined);
    await this.channel.close();
    for (const wake of this.readyWaiters) wake();
  }

  private get ready(): boolean {
    return !this.closed && this.phase === 'signed_on' && this.session !== undefined && this.mux.ready;
  }

  private get state(): SwitchLinkState {
    if (this.closed) return 'closed';
    if (!this.channel.connected) return this.everUp ? 'down' : 'connecting';
    if (!this.mux.ready) return 'down';
    return this.phase;
  }

  whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters.delete(wake);
        reject(new ChannelError('channel_timeout', `switch link not signed on within ${timeoutMs} ms (state ${this.state})`));
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(wake);
        if (this.ready) resolve();
        else reject(new ChannelError('channel_closed', 'switch link closed'));
      };
      this.readyWaiters.add(wake);
    });
  }

  private notifyReady(): void {
    if (!this.ready) return;
    for (const wake of [...this.readyWaiters]) wake();
    this.kick();
  }

  private onUp(): void {
    this.everUp = true;
    this.generation++;
    this.session = undefined;
    this.phase = 'connecting';
    this.log('info', 'switch: connected', { peer: this.peer });
    void this.signOn();
  }

  private onDown(reason: ChannelError): void {
    this.generation++;
    this.session = undefined;
    this.phase = 'connecting';
    this.signedOnAt = null;
    clearTimeout(this.signOnRetry);
    if (!this.closed) this.log('warn', 'switch: connection lost', { peer: this.peer, code: reason.code });
  }

  /** Every XIAOWEI_SAF_RETRY_MS: a ZMK imported by another process is picked up; due rows are sent. */
  private tick(): void {
    if (this.closed) return;
    if (this.channel.connected && this.phase === 'no_zmk') void this.signOn();
    this.kick();
  }

  async rekey(): Promise<void> {
    if (this.closed || !this.channel.connected) return;
    await this.signingOn?.catch(() => undefined);
    await this.signOn(true);
  }

  /**
   * Sign-on (0800/001) then key change (0800/101) with fresh ZPK and ZAK under the ZMK. Until both
   * are answered '00' the link refuses requests. A failure retries after XIAOWEI_SAF_RETRY_MS.
   */
  private signOn(force = false): Promise<void> {
    if (this.signingOn && !force) return this.signingOn;
    const generation = this.generation;
    const run = async (): Promise<void> => {
      const zmk = await loadKey(this.db, 'zmk');
      if (generation !== this.generation || this.closed) return;
      if (!zmk) {
        if (this.phase !== 'no_zmk') this.log('warn', 'switch: no zone master key imported; not signing on', {});
        this.phase = 'no_zmk';
        return;
      }
      const on = await this.mux.request(P.signOn({ stan: await this.counters.stan(), at: this.nowMs(), acquirerId: this.acquirerId }), this.timeoutMs);
      if (P.str(on, 39) !== '00') throw new Error(`sign-on answered ${P.str(on, 39) ?? 'without a code'}`);
      this.noteSettlementDate(P.str(on, 15));
      const [zpk, zak] = await Promise.all([this.deps.crypto.generateKey('ZPK', 'TDES2'), this.deps.crypto.generateKey('ZAK', 'TDES2')]);
      const [zpkUnder, zakUnder] = await Promise.all([this.deps.crypto.exportUnder(zpk, zmk), this.deps.crypto.exportUnder(zak, zmk)]);
      const change = await this.mux.request(
        P.keyChange({ stan: await this.counters.stan(), at: this.nowMs(), acquirerId: this.acquirerId, zpk: zpkUnder, zak: zakUnder }),
        this.timeoutMs,
      );
      if (P.str(change, 39) !== '00') throw new Error(`key change answered ${P.str(change, 39) ?? 'without a code'}`);
      const now = this.deps.now();
      await Promise.all([storeKey(this.db, 'zpk', zpk, now, null), storeKey(this.db, 'zak', zak, now, null)]);
      if (generation !== this.generation || this.closed) return;
      this.session = { generation, zpk, zak };
      this.phase = 'signed_on';
      this.signedOnAt = now;
      this.log('info', 'switch: signed on', { peer: this.peer, settlementDate: this.settlementDate, zpkKcv: zpk.kcv, zakKcv: zak.kcv });
      this.notifyReady();
    };
    const attempt = run()
      .catch((error: unknown) => {
        if (this.closed || generation !== this.generation) return;
        this.log('error', 'switch: sign-on failed; retrying', { error: describe(error), retryMs: this.safRetryMs });
        clearTimeout(this.signOnRetry);
        this.signOnRetry = setTimeout(() => void this.signOn(), this.safRetryMs);
        this.signOnRetry.unref();
      })
      .finally(() => {
        if (this.signingOn === attempt) this.signingOn = undefined;
      });
    this.signingOn = attempt;
    return attempt;
  }

  private noteSettlementDate(mmdd: string | undefined): void {
    if (mmdd === undefined) return;
    try {
      this.settlementDate = P.settlementDate(mmdd, this.nowMs());
    } catch {
      this.log('warn', 'switch: unreadable settlement date', { mmdd });
    }
  }

  // ─── the switch's own requests ─────────────────────────────────────────────────────────────────

  private async answerSwitch(request: Message): Promise<void> {
    const kind = P.kindOf(request);
    let reply: Message;
    if (kind === 'echo') {
      this.lastEchoAt = this.deps.now();
      reply = P.answer(request, { 39: '00', 70: P.NMI.echo });
    } else if (kind === 'cutover') {
      const before = this.settlementDate;
      this.noteSettlementDate(P.str(request, 15));
      this.log('info', 'switch: cut-over', { from: before, to: this.settlementDate });
      reply = P.answer(request, { 39: '00', 70: P.NMI.cutover });
    } else {
      this.log('warn', 'switch: unsupported request from the switch', { mti: request.mti, kind });
      reply = P.answer(request, { 39: P.RC.invalidTransaction, ...(request.fields.has(70) ? { 70: request.fields.get(70) } : {}) });
    }
    try {
      await this.channel.send(this.codec().encode(reply));
    } catch (error) {
      this.log('warn', 'switch: could not answer the switch', { error: describe(error) });
    }
  }

  private async onLate(message: Message, request: Message): Promise<void> {
    const code = P.str(message, 39) ?? '';
    const stan = P.str(request, 11) ?? '';
    const rrn = P.str(request, 37);
    this.log('warn', 'switch: late answer (already reversed or to be retried)', { mti: message.mti, stan, rrn, code });
    if (rrn && request.mti === '0200') await this.write((db) => J.noteLateAnswer(db, stan, rrn, code, this.deps.now())).catch(() => undefined);
  }

  // ─── authorisation ─────────────────────────────────────────────────────────────────────────────

  authorize(request: OffUsRequest): Promise<OffUsAnswer> {
    if (!this.ready) return Promise.resolve({ outcome: 'unavailable' });
    if (this.inflight.has(request.txnId)) return this.inflight.get(request.txnId)!;
    const call = this.authorizeOnce(request).finally(() => this.inflight.delete(request.txnId));
    this.inflight.set(request.txnId, call);
    return call;
  }

  private async authorizeOnce(req: OffUsRequest): Promise<OffUsAnswer> {
    const session = this.session!;
    let pinBlock: Buffer | undefined;
    if (req.pin) {
      try {
        pinBlock = await this.deps.crypto.translatePin({
          pinBlock: req.pin.block,
          from: req.pin.key,
          fromFormat: req.pin.format,
          to: session.zpk,
          toFormat: 0,
          pan: req.pan,
        });
      } catch (error) {
        // A block that does not decrypt to a PIN is a wrong PIN, as for our own cards; nothing is sent.
        if (isCryptoError(error) && error.code === 'pin_block_invalid') return { outcome: 'answered', code: '55', authCode: null };
        throw error;
      }
    }
    const [stan, rrn] = await Promise.all([this.counters.stan(), this.counters.rrn()]);
    const nowUs = this.deps.now();
    const atMs = Math.floor(nowUs / 1000);
    const card: P.CardRequest = {
      stan,
      at: atMs,
      acquirerId: this.acquirerId,
      rrn,
      pan: req.pan,
      expiry: req.expiry,
      mcc: req.mcc,
      terminalId: req.terminalRef ?? fieldRef(req.terminalId, 8),
      merchantId: req.merchantRef ?? fieldRef(req.merchantPartyId, 15),
      pinBlock,
    };
    const message = req.kind === 'sale' ? P.purchase({ ...card, amount: req.amount }) : P.balanceInquiry(card);
    const row: SwitchTxnRow = {
      id: newId(),
      txn_id: req.txnId,
      kind: req.kind,
      mti: message.mti,
      processing_code: P.str(message, 3)!,
      acquirer_id: this.acquirerId,
      stan,
      rrn,
      transmitted_at: P.str(message, 7)!,
      terminal_ref: card.terminalId,
      merchant_ref: card.merchantId,
      terminal_id: req.terminalId,
      merchant_party_id: req.merchantPartyId,
      pan_sealed: this.deps.secrets.encrypt(PAN_PURPOSE, req.pan),
      pan_masked: P.maskPan(req.pan),
      amount: req.kind === 'sale' ? req.amount : 0,
      state: 'open',
      response_code: null,
      auth_code: null,
      balance: null,
      settlement_date: null,
      late_response_code: null,
      created_at: nowUs,
      updated_at: nowUs,
    };
    // Too late to send: the engine's claim is older than the switch timeout, so a recover() may
    // already have declined it.
    const tooLate = nowUs > req.at + this.timeoutMs * 1000;
    if (tooLate) row.state = 'unavailable';
    if (!(await this.write((db) => J.insertOpen(db, row)))) return this.recoverFrom(req.txnId, req.at, true);
    if (tooLate) return { outcome: 'unavailable' };

    let signed: Message;
    try {
      signed = await P.signMessage(this.macWith(session), message);
    } catch (error) {
      await this.write((db) => J.markUnavailable(db, req.txnId, this.deps.now()));
      throw error;
    }
    if (this.session !== session || !this.ready) return this.notSent(req.txnId);
    let reply: Message;
    try {
      reply = await this.mux.request(signed, this.timeoutMs);
    } catch (error) {
      if (isChannelError(error) && !error.outcomeUnknown) return this.notSent(req.txnId);
      // Sent, no answer (timeout, link lost after the write), or a failure we cannot place.
      this.log('warn', 'switch: no answer; reversing', { stan, rrn, error: describe(error) });
      return this.gaveUp(req.txnId);
    }
    return this.onAnswer(req, session, reply);
  }

  private async onAnswer(req: OffUsRequest, session: Session, reply: Message): Promise<OffUsAnswer> {
    const stan = P.str(reply, 11);
    const rrn = P.str(reply, 37);
    if (!(await P.verifyMessage(this.macWith(session), reply).catch(() => false))) {
      this.log('warn', 'switch: answer MAC does not verify; reversing', { stan, rrn, code: P.str(reply, 39) });
      return this.gaveUp(req.txnId);
    }
    const code = mapResponseCode(P.str(reply, 39));
    const approved = code === '00';
    const field15 = P.str(reply, 15);
    if (field15) this.noteSettlementDate(field15);
    const balanceText = P.str(reply, 54);
    const balance = req.kind === 'balance' && approved && balanceText ? P.parseBalanceField(balanceText) : null;
    const authCode = approved ? (P.str(reply, 38) ?? null) : null;
    const settlementDate = field15 ? safeDate(field15, this.nowMs()) : this.settlementDate;
    const answerRow = { state: approved ? ('approved' as const) : ('declined' as const), code, authCode, balance, settlementDate };
    const won = await this.write((db) => J.markAnswered(db, req.txnId, answerRow, this.deps.now()));
    // Lost to a recover() that declared the call dead: its reversal is queued, so it is unknown.
    if (!won) return this.outcomeOf(req.txnId);
    return { outcome: 'answered', code, authCode, ...(balance !== null ? { balance } : {}) };
  }

  private async notSent(txnId: string): Promise<OffUsAnswer> {
    if (await this.write((db) => J.markUnavailable(db, txnId, this.deps.now()))) return { outcome: 'unavailable' };
    return this.outcomeOf(txnId);
  }

  private async gaveUp(txnId: string): Promise<OffUsAnswer> {
    const won = await this.write((db) => J.giveUp(db, txnId, this.deps.now()), true);
    if (won) {
      this.kick();
      return { outcome: 'unknown' };
    }
    return this.outcomeOf(txnId);
  }

  /** The outcome a journal row records (a row that left 'open'). */
  private async outcomeOf(txnId: string): Promise<OffUsAnswer> {
    const row = await J.findTxn(this.db, txnId);
    return row ? answerOfRow(row) ?? { outcome: 'unknown' } : { outcome: 'unavailable' };
  }

  recover(txnId: string, claimedAt: number): Promise<OffUsAnswer> {
    return this.recoverFrom(txnId, claimedAt, false);
  }

  /** `fromAuthorize`: called by the in-flight call itself, which must not wait for itself. */
  private async recoverFrom(txnId: string, claimedAt: number, fromAuthorize: boolean): Promise<OffUsAnswer> {
    const deadline = claimedAt + (this.timeoutMs + 1_000) * 1000;
    for (;;) {
      const open = fromAuthorize ? undefined : this.inflight.get(txnId);
      if (open) {
        await open.catch(() => undefined);
        continue;
      }
      const row = await J.findTxn(this.db, txnId);
      const now = this.deps.now();
      if (row && row.state !== 'open') {
        if (row.state === 'unknown' && row.kind === 'sale') {
          // Make sure the reversal is there (it is queued with the state change; this is cheap).
          if (await this.write((db) => J.giveUp(db, txnId, now, ['unknown']), true)) this.kick();
        }
        return answerOfRow(row) ?? { outcome: 'unknown' };
      }
      if (now < deadline) {
        await sleep(Math.min(RECOVER_POLL_MS, Math.ceil((deadline - now) / 1000)));
        continue;
      }
      if (row) {
        // Open and older than the timeout: whoever sent it is gone or gave up.
        if (await this.write((db) => J.giveUp(db, txnId, now), true)) {
          this.log('warn', 'switch: recovered an unanswered request; reversing', { stan: row.stan, rrn: row.rrn });
          this.kick();
          return { outcome: 'unknown' };
        }
        continue;
      }
      // Never journaled: a tombstone, so that an authorize stalled somewhere cannot send it later.
      const tombstone = await this.tombstone(txnId, now);
      if (await this.write((db) => J.insertOpen(db, tombstone))) return { outcome: 'unavailable' };
    }
  }

  private async tombstone(txnId: string, now: number): Promise<SwitchTxnRow> {
    return {
      id: newId(),
      txn_id: txnId,
      kind: 'sale',
      mti: '0200',
      processing_code: P.PROCESSING.purchase,
      acquirer_id: this.acquirerId,
      stan: '000000',
      rrn: await this.counters.rrn(),
      transmitted_at: P.field7(Math.floor(now / 1000)),
      terminal_ref: '',
      merchant_ref: '',
      terminal_id: null,
      merchant_party_id: null,
      pan_sealed: null,
      pan_masked: null,
      amount: 0,
      state: 'unavailable',
      response_code: null,
      auth_code: null,
      balance: null,
      settlement_date: null,
      late_response_code: null,
      created_at: now,
      updated_at: now,
    };
  }

  // ─── store and forward ─────────────────────────────────────────────────────────────────────────

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async queue(trx: Kysely<any>, advice: OffUsAdvice): Promise<void> {
    const db = trx as SwitchDb;
    const original = await db.selectFrom('gw_switch_txns').select(['rrn', 'kind', 'state']).where('txn_id', '=', advice.originalTxnId).executeTakeFirst();
    if (!original || original.kind !== 'sale') throw new Error(`switch link: no journaled sale ${advice.originalTxnId} to queue an advice about`);
    if (!Number.isSafeInteger(advice.amount) || advice.amount <= 0) throw new RangeError('an advice amount is a positive number of fen');
    const rrn = advice.kind === 'reversal' ? original.rrn : await this.counters.rrnIn(db);
    await J.insertSaf(db, {
      txnId: advice.txnId,
      kind: advice.kind,
      originalTxnId: advice.originalTxnId,
      rrn,
      reason: advice.kind === 'reversal' ? '17' : null,
      amount: advice.amount,
      state: 'held',
      now: this.deps.now(),
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async release(trx: Kysely<any>, txnId: string, send: boolean): Promise<void> {
    const released = await J.releaseSaf(trx as SwitchDb, txnId, send, this.deps.now());
    if (released && send) this.watch(txnId);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async recall(trx: Kysely<any>, txnId: string): Promise<boolean> {
    return J.recallSaf(trx as SwitchDb, txnId, this.deps.now());
  }

  recallable(txnId: string): Promise<boolean> {
    return J.recallableSaf(this.db, txnId);
  }

  /**
   * The release happens inside the caller's transaction, which commits after we return: the first
   * pass may not see the row yet, so look again a few times (25 ms doubling) until it left 'held'
   * / appeared as sent. The periodic tick covers anything beyond.
   */
  private watch(txnId: string): void {
    if (this.closed) return;
    this.watched.set(txnId, 0);
    clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    this.scheduleWatch(0);
  }

  private scheduleWatch(delayMs: number): void {
    if (this.watchTimer || this.closed) return;
    this.watchTimer = setTimeout(() => {
      this.watchTimer = undefined;
      void this.forward().then(() => this.checkWatched());
    }, delayMs);
    this.watchTimer.unref();
  }

  private async checkWatched(): Promise<void> {
    let next = Infinity;
    for (const [txnId, tries] of [...this.watched]) {
      const state = await J.safState(this.db, txnId).catch(() => undefined);
      if (state !== undefined && state !== 'held' && state !== 'queued') {
        this.watched.delete(txnId);
      } else if (tries >= 6 || (state === 'queued' && !this.ready)) {
        this.watched.delete(txnId);
      } else {
        this.watched.set(txnId, tries + 1);
        next = Math.min(next, 25 * 2 ** tries);
      }
    }
    if (next !== Infinity) this.scheduleWatch(next);
  }

  private kick(): void {
    if (this.closed || !this.ready) return;
    void this.forward();
  }

  forward(): Promise<void> {
    if (this.closed || !this.ready) return Promise.resolve();
    if (this.passing) {
      this.passAgain = true;
      return this.passing;
    }
    const pass = (async () => {
      do {
        this.passAgain = false;
        await this.pass();
      } while (this.passAgain && this.ready);
    })()
      .catch((error: unknown) => this.log('error', 'switch: store-and-forward pass failed', { error: describe(error) }))
      .finally(() => {
        if (this.passing === pass) this.passing = undefined;
      });
    this.passing = pass;
    return pass;
  }

  async retry(id: string): Promise<void> {
    const now = this.deps.now();
    await this.write((db) => J.retrySaf(db, id, now));
    await this.forward();
    // A pass already running when we asked may have read the queue before our update.
    if ((await J.findSaf(this.db, id))?.next_attempt_at === now) await this.forward();
  }

  /** Sends due rows oldest first until none is due or the link is not ready. */
  private async pass(): Promise<void> {
    for (;;) {
      if (!this.ready) return;
      const due = await J.dueSaf(this.db, this.deps.now(), SAF_BATCH);
      if (due.length === 0) return;
      let sent = 0;
      for (const row of due) {
        if (!this.ready) return;
        const now = this.deps.now();
        // The lease outlasts an attempt, so another process does not send it at the same time.
        const lease = now + Math.max(this.safRetryMs, this.timeoutMs + 1_000) * 1000;
        if (!(await this.write((db) => J.claimSaf(db, row, lease, now)))) continue;
        sent++;
        await this.attempt(row);
      }
      if (sent === 0 && due.length < SAF_BATCH) return;
    }
  }

  private async attempt(row: SafRow): Promise<void> {
    const session = this.session;
    // The claim counted this attempt: `attempts` failed ones when it fails too.
    const attempts = row.attempts + 1;
    const transient = (error: string, code?: string): Promise<void> =>
      this.settle(row.id, {
        state: 'queued',
        nextAttemptAt: this.deps.now() + safBackoffMs(attempts, this.safRetryMs, this.safMaxRetryMs) * 1000,
        error,
        ...(code !== undefined ? { code } : {}),
        raise: attempts >= this.safAlertAttempts,
      });
    const original = await J.findTxn(this.db, row.original_txn_id);
    if (!session || !original?.pan_sealed) {
      await transient(original ? 'not_signed_on' : 'original_missing');
      return;
    }
    const base: P.AdviceRequest = {
      stan: await this.counters.stan(),
      at: this.nowMs(),
      acquirerId: original.acquirer_id,
      pan: this.deps.secrets.decrypt(PAN_PURPOSE, original.pan_sealed),
      amount: row.amount,
      terminalId: original.terminal_ref,
      merchantId: original.merchant_ref,
      original: { stan: original.stan, transmittedAt: original.transmitted_at },
    };
    const message = row.kind === 'reversal' ? P.reversal({ ...base, rrn: row.rrn, reason: row.reason ?? '17' }) : P.refundAdvice({ ...base, rrn: row.rrn });
    let reply: Message;
    try {
      reply = await this.mux.request(await P.signMessage(this.macWith(session), message), this.timeoutMs);
    } catch (error) {
      const code = isChannelError(error) ? error.code : 'error';
      this.log('warn', 'switch: advice not acknowledged; will retry', { kind: row.kind, rrn: row.rrn, stan: base.stan, attempt: attempts, error: code });
      await transient(code);
      return;
    }
    const code = P.str(reply, 39) ?? '';
    if (!(await P.verifyMessage(this.macWith(session), reply).catch(() => false))) {
      this.log('warn', 'switch: advice answer MAC does not verify; will retry', { kind: row.kind, rrn: row.rrn, code });
      await transient('mac', code);
      return;
    }
    switch (classifyAdviceAnswer(row.kind, code)) {
      case 'acknowledged': {
        const field15 = P.str(reply, 15);
        const date = field15 ? safeDate(field15, this.nowMs()) : this.settlementDate;
        await this.settle(row.id, { state: 'acknowledged', code, settlementDate: date });
        this.log('info', 'switch: advice acknowledged', { kind: row.kind, rrn: row.rrn, code, settlementDate: date });
        return;
      }
      case 'rejected':
        await this.settle(row.id, { state: 'rejected', code });
        this.log('warn', 'switch: refund advice rejected', { rrn: row.rrn, code });
        return;
      case 'refused':
        await this.settle(row.id, { state: 'failed', code, error: `code_${code}` });
        this.log('error', 'switch: advice refused for good; staff must retry or close it', { kind: row.kind, rrn: row.rrn, code, attempt: attempts });
        return;
      case 'transient':
        await transient(`code_${code}`, code);
        this.log('warn', 'switch: advice refused for now; will retry', { kind: row.kind, rrn: row.rrn, code, attempt: attempts });
        return;
    }
  }

  // ─── status ────────────────────────────────────────────────────────────────────────────────────

  async status(): Promise<SwitchLinkStatus> {
    const base = await dbStatus(this.db, this.acquirerId);
    return {
      ...base,
      state: this.state,
      settlementDate: this.settlementDate,
      lastEchoAt: this.lastEchoAt,
      signedOnAt: this.signedOnAt,
      peer: this.peer,
      outstanding: this.mux.outstanding,
    };
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────────────────

  /**
   * A journal / store-and-forward write. On SQLite through the shared group writer (concurrent
   * jobs share one transaction and one fsync per tick); on PostgreSQL a single statement runs
   * as it is (autocommit is atomic) and `multi` jobs get their own transaction.
   */
  private write<T>(job: (db: SwitchDb) => Promise<T>, multi = false): Promise<T> {
    if (this.deps.database.dialect === 'sqlite') return groupWrite(this.deps, job);
    return multi ? this.db.transaction().execute(job) : job(this.db);
  }

  private settle(id: string, outcome: Parameters<typeof J.settleSaf>[2]): Promise<void> {
    return this.write((db) => J.settleSaf(db, id, outcome, this.deps.now()));
  }

  private nowMs(): number {
    return Math.floor(this.deps.now() / 1000);
  }

  private macWith(session: Session): P.MacFunction {
    return (data) => this.deps.crypto.generateMac(session.zak, 'ISO9797-1-ALG3', data, { padding: 1 });
  }

  private codecCache: MuxCodec<Message> | undefined;

  /** The protocol codec with echoes numbered from our STAN blocks; an echo answer is noted. */
  private codec(): MuxCodec<Message> {
    if (this.codecCache) return this.codecCache;
    const base = P.createSwitchCodec();
    this.codecCache = {
      ...base,
      decode: (frame) => {
        const m = base.decode(frame);
        if (m.mti === '0810' && P.str(m, 70) === P.NMI.echo) this.lastEchoAt = this.deps.now();
        return m;
      },
      echo: () => {
        const stan = this.counters.stanSync();
        if (stan === undefined) throw new Error('no STAN in memory for an echo');
        return P.echoRequest({ stan, at: this.nowMs() });
      },
    };
    return this.codecCache;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    this.deps.log?.[level]({ component: 'switch-link', ...fields }, msg);
  }
}

/** What a journal row that left 'open' answers; null for 'open'. */
function answerOfRow(row: SwitchTxnRow): OffUsAnswer | null {
  switch (row.state) {
    case 'approved':
    case 'declined':
      return {
        outcome: 'answered',
        code: mapResponseCode(row.response_code ?? undefined),
        authCode: row.auth_code,
        ...(row.balance !== null ? { balance: row.balance } : {}),
      };
    case 'unknown':
      return { outcome: 'unknown' };
    case 'unavailable':
      return { outcome: 'unavailable' };
    default:
      return null;
  }
}

function safeDate(mmdd: string, nowMs: number): string | null {
  try {
    return P.settlementDate(mmdd, nowMs);
  } catch {
    return null;
  }
}

/** An error as a log field: its code and class, never its message's data. */
function describe(error: unknown): string {
  if (isChannelError(error)) return error.code;
  if (isCryptoError(error)) return `crypto:${error.code}`;
  return error instanceof Error ? error.message : String(error);
}

/** Status parts that come from the database (shared by every process, and by the route when no link is configured). */
export async function dbStatus(db: SwitchDb, acquirerId: string): Promise<Omit<SwitchLinkStatus, 'state' | 'settlementDate' | 'lastEchoAt' | 'signedOnAt' | 'peer' | 'outstanding'>> {
  const [safCounts, safExceptions, keys] = await Promise.all([J.safCounts(db), J.safExceptionCounts(db), keyCheckValues(db)]);
  return { safDepth: safCounts.queued, safCounts, safExceptions, keys, acquirerId };
}
