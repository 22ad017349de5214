/**
 * `IsoCore`: the core-banking system over a host-to-host ISO 8583 link (the core-host messages of
 * the switch protocol, built by switch/protocol.ts; no MAC): one reconnecting `ClientChannel`, a
 * `Mux` matching answers by 0210|CORELINK|STAN, requests timing out after
 * `XIAOWEI_SWITCH_TIMEOUT_MS`.
 *
 * The host is idempotent on the request id (field 48) and is the record: nothing is kept here.
 * Field 37 is derived from the request id, so a retry carries the same RRN.
 *
 * Outcomes:
 * - an answer: '00' posted, any other code rejected (its code when the contract knows it, else '96');
 * - not sent (link down for the whole timeout, queue full): rejected '91' — provably not sent;
 * - sent, unanswered (timeout, link lost): ONE status query (0600). Posted / rejected /
 *   reversed settle a debit or credit; anything else (not found, no answer) is 'unknown' — the
 *   request may still arrive, so the caller decides (`status` later, or `reverse`). The request
 *   itself is never sent again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ChannelError, ClientChannel, Mux, type MuxCodec } from '../channel/index.js';
import type { Message } from '../iso8583/index.js';
import {
  answer,
  coreDebit,
  coreCredit,
  coreInquiry,
  coreReversal,
  coreStatus,
  createSwitchCodec,
  kindOf,
  parseBalanceField,
  RC,
  StanCounter,
  str,
  type Stamp,
} from '../switch/protocol.js';
import { XiaoweiError } from '../../platform/errors.js';
import {
  amountProblem,
  checkId,
  checkMove,
  posted,
  rejected,
  UNKNOWN,
  type CoreAdapter,
  type CoreLinkStats,
  type CoreInquiry,
  type CoreMoveRequest,
  type CoreRejectCode,
  type CoreRequestStatus,
  type CoreResult,
  type CoreReverseRequest,
} from './contracts.js';

/** Field 102/103 is `ans..28`. */
const HOST_ACCOUNT = /^[\x21-\x7e]{1,28}$/;

/** RRN (field 37): 12 base-36 characters from a hash of what the message is for and its id. */
export function coreRrn(purpose: 'move' | 'reverse' | 'inquiry', id: string): string {
  const n = createHash('sha256').update(`${purpose}\0${id}`).digest().readBigUInt64BE(0) % 36n ** 12n;
  return n.toString(36).toUpperCase().padStart(12, '0');
}

export interface IsoCoreOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** ms since the epoch, for fields 7 (default Date.now). */
  nowMs?: () => number;
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void } | undefined;
  /** Echo after this long without traffic (0 = no echo); default 30 s. */
  echoIntervalMs?: number;
  /** Reconnect backoff (tests shorten it). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
}

export interface IsoCoreState {
  endpoint: string;
  connected: boolean;
  ready: boolean;
  outstanding: number;
  stats: CoreLinkStats;
}

const KNOWN_REJECTS = new Set<string>(['05', '13', '14', '51', '62', '94', '91', '96']);
const rejectOf = (code: string | undefined): CoreResult =>
  rejected(code !== undefined && KNOWN_REJECTS.has(code) ? (code as CoreRejectCode) : '96');

type Build = (stamp: Stamp) => Message;

export class IsoCore implements CoreAdapter {
  private readonly channel: ClientChannel;
  private readonly mux: Mux<Message>;
  private readonly codec: MuxCodec<Message>;
  private readonly stan = new StanCounter();
  private readonly nowMs: () => number;
  private started = false;
  private readonly stats: CoreLinkStats = { requests: 0, posted: 0, rejected: 0, unknown: 0, timeouts: 0, late: 0 };

  constructor(private readonly options: IsoCoreOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.channel = new ClientChannel({
      host: options.host,
      port: options.port,
      connectTimeoutMs: options.timeoutMs,
      reconnect: { initialDelayMs: options.reconnect?.initialDelayMs ?? 250, maxDelayMs: options.reconnect?.maxDelayMs ?? 30_000 },
    });
    const echoMs = options.echoIntervalMs ?? 30_000;
    // Echoes share the link's STAN counter so they never collide with a request's key.
    this.codec = createSwitchCodec({ stan: this.stan, now: this.nowMs });
    this.mux = new Mux(this.channel, {
      codec: this.codec,
      ...(echoMs > 0 ? { echo: { intervalMs: echoMs, timeoutMs: options.timeoutMs, maxFailures: 2 } } : {}),
    });
    this.mux.on('unhandled', (event) => {
      const m = event.message;
      if (event.reason === 'request') {
        if (kindOf(m) === 'echo') void this.reply(answer(m, { 39: RC.approved }));
        return;
      }
      if (event.reason === 'late') {
        this.stats.late++;
        // The status query (or the caller) settled it; this only tells an operator what the host did.
        options.log?.warn({ mti: m.mti, stan: str(m, 11), rrn: str(m, 37), code: str(m, 39) }, 'core: late answer');
        return;
      }
      options.log?.warn({ mti: m.mti, stan: str(m, 11) }, 'core: unmatched answer');
    });
    this.mux.on('ready', () => options.log?.info({ endpoint: this.endpoint }, 'core: link up'));
    this.mux.on('notReady', (reason) => options.log?.warn({ endpoint: this.endpoint, reason: reason.code }, 'core: link down'));
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Starts connecting (idempotent); requests also start it. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.channel.start();
  }

  state(): IsoCoreState {
    return {
      endpoint: this.endpoint,
      connected: this.channel.connected,
      ready: this.mux.ready,
      outstanding: this.mux.outstanding,
      stats: { ...this.stats },
    };
  }

  async close(): Promise<void> {
    this.mux.close();
    await this.channel.close();
  }

  async inquiry(account: string): Promise<CoreInquiry> {
    if (typeof account !== 'string' || !HOST_ACCOUNT.test(account)) return { found: false };
    // Field 48 is required; an inquiry moves nothing, so its id is only a trace.
    const requestId = `inq-${randomBytes(9).toString('base64url')}`;
    let reply: Message;
    try {
      reply = await this.exchange((s) => coreInquiry({ ...s, rrn: coreRrn('inquiry', requestId), requestId, account }));
    } catch (error) {
      throw this.unavailable(error);
    }
    const code = str(reply, 39);
    if (code === RC.noSuchCard) return { found: false };
    const available = parseBalanceField(str(reply, 54) ?? '');
    const status = { A: 'active', F: 'frozen', C: 'closed' } as const;
    const flag = str(reply, 44) as keyof typeof status | undefined;
    if (code !== RC.approved || available === null || flag === undefined || !(flag in status)) {
      throw new XiaoweiError('core_unavailable', `inquiry answered ${code ?? 'no code'}`);
    }
    return { found: true, status: status[flag], available, currency: 'CNY' };
  }

  debit(request: CoreMoveRequest): Promise<CoreResult> {
    return this.move(request, (s) =>
      coreDebit({ ...s, rrn: coreRrn('move', request.id), requestId: request.id, account: request.account, amount: request.amount }),
    );
  }

  credit(request: CoreMoveRequest): Promise<CoreResult> {
    return this.move(request, (s) =>
      coreCredit({ ...s, rrn: coreRrn('move', request.id), requestId: request.id, account: request.account, amount: request.amount }),
    );
  }

  async reverse(request: CoreReverseRequest): Promise<CoreResult> {
    checkId(request.id, 'id');
    checkId(request.originalId, 'originalId');
    const result = await this.send(
      (s) => coreReversal({ ...s, rrn: coreRrn('reverse', request.id), originalRequestId: request.originalId }),
      async () => {
        const s = await this.status(request.originalId);
        // Reversed: done. Rejected: there was nothing to undo, and never will be (the host
        // answers a rejected id with its rejection). Posted or not found: it may yet be undone.
        return s === 'reversed' || s === 'rejected' ? posted() : UNKNOWN;
      },
    );
    return this.count(result);
  }

  async status(id: string): Promise<CoreRequestStatus> {
    checkId(id, 'id');
    try {
      const reply = await this.exchange((s) => coreStatus({ ...s, requestId: id }));
      if (str(reply, 39) !== RC.approved) return 'unknown';
      switch (str(reply, 44)) {
        case 'P':
          return 'posted';
        case 'R':
          return 'reversed';
        case 'J':
          return 'rejected';
        case 'N':
          return 'not_found';
        default:
          return 'unknown';
      }
    } catch {
      return 'unknown';
    }
  }

  private async move(request: CoreMoveRequest, build: Build): Promise<CoreResult> {
    checkMove(request);
    const bad = amountProblem(request.amount);
    if (bad) return bad;
    // The host's field is ans..28: a longer number cannot be one of its accounts.
    if (!HOST_ACCOUNT.test(request.account)) return this.count(rejected('14'));
    const result = await this.send(build, async () => {
      const s = await this.status(request.id);
      if (s === 'posted') return posted();
      // Rejected: the host keeps the first answer; asking again under the same id gives its code.
      if (s === 'rejected') return rejected('05');
      return UNKNOWN;
    });
    return this.count(result);
  }

  /** Sends a money message and reads its answer; `unanswered` settles a request that was sent but not answered. */
  private async send(build: Build, unanswered: () => Promise<CoreResult>): Promise<CoreResult> {
    let reply: Message;
    try {
      reply = await this.exchange(build);
    } catch (error) {
      if (error instanceof ChannelError && !error.outcomeUnknown) return rejected('91');
      if (!(error instanceof ChannelError)) throw error;
      this.stats.timeouts++;
      return unanswered();
    }
    const code = str(reply, 39);
    return code === RC.approved ? posted() : rejectOf(code);
  }

  /**
   * One request/answer. Waits (within the timeout) for the link when it is not up yet. A STAN
   * whose earlier request is still awaited or remembered as unanswered (the counter wraps) is
   * refused by the mux before anything is sent: the next STAN is taken.
   */
  private async exchange(build: Build): Promise<Message> {
    this.start();
    const timeoutMs = this.options.timeoutMs;
    if (!this.mux.ready) {
      try {
        await this.mux.whenReady(timeoutMs);
      } catch {
        throw new ChannelError('not_connected', this.endpoint);
      }
    }
    for (let tries = 0; ; tries++) {
      const request = build({ stan: this.stan.next(), at: this.nowMs() });
      try {
        const reply = await this.mux.request(request, timeoutMs);
        // The key matched 41 and 11; the RRN must match too (a wrapped STAN must not pair two requests).
        const rrn = str(request, 37);
        if (rrn !== undefined && str(reply, 37) !== rrn)
          throw new ChannelError('channel_closed', 'answer with another RRN', { outcomeUnknown: true });
        return reply;
      } catch (error) {
        if (error instanceof ChannelError && error.code === 'duplicate_request' && tries < 5) continue;
        throw error;
      }
    }
  }

  private count(result: CoreResult): CoreResult {
    this.stats.requests++;
    this.stats[result.outcome]++;
    return result;
  }

  private unavailable(error: unknown): XiaoweiError {
    return new XiaoweiError('core_unavailable', error instanceof ChannelError ? error.code : undefined);
  }

  private async reply(m: Message): Promise<void> {
    try {
      await this.channel.send(this.codec.encode(m));
    } catch {
      // The link went down; the peer's echo fails on its side.
    }
  }
}
