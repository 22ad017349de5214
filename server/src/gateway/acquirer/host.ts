/**
 * The ISO 8583 acquirer host for conventional POS terminals: CUP-style messages (CUP_POS: TPDU,
 * 6-byte header, BCD) over TCP with a 2-byte length, driving the same payments engine as the
 * JSON terminal API. Requests on one connection are handled concurrently (the responder's
 * maxInFlight); an answer swaps the TPDU addresses and keeps the header.
 *
 * Messages (MTI · 3 · 25 → engine): 0200·000000·00 sale · 0200·200000·00 void (61 = original batch
 * + STAN) · 0200·310000 balance · 0220·200000·00 refund (61, 4 = refund amount) · 0100·030000·06
 * pre-auth · 0100·200000·06 pre-auth void (61) · 0200·000000·06 completion (61 = the pre-auth) ·
 * 0200·200000·06 completion void (61) · 0400 reversal (11 = the original's STAN, 60.2 its batch) ·
 * 0500 batch settlement · 0320 batch upload · 0800 sign-on · 0820 sign-off (60.3 '002') / echo ('301').
 * Client ids: `iso:<batch>:<stan>` (batch = 60.2 as the terminal sent it); a reversal
 * `iso:rev:<batch>:<stan>` naming `iso:<batch>:<stan>`. A retried request (same batch and STAN)
 * gets the engine's stored answer; other fields under them answer '94'.
 *
 * Card from 2 + 14, else track 2 (35). PIN by the terminal's PIN mode (dukpt.ts): 'tpk' — 52,
 * format 0 under the session TPK; 'dukpt-tdes' — 52, format 0 under the TDES DUKPT key of the KSN
 * in 62 (10 bytes); 'dukpt-aes' — 62 = KSN (12 bytes) ‖ format 4 block (16 bytes), no 52. A PIN is
 * required when the third digit of 22 is '1'. Financial requests (0100/0200/0220/0400) must carry a MAC in
 * 64: ISO 9797-1 algorithm 3, padding 1, under the session TAK, over the bytes from the MTI up to
 * field 64; their answers are signed the same way. Network management, 0500 and 0320 carry none
 * (as CUP terminals send them).
 *
 * Operators: CUP terminals check the supervisor password for voids and refunds themselves (63.1
 * carries only the operator number); the engine is called with operator null.
 *
 * Answers the host gives without calling the engine (39):
 * | code | zh | en |
 * | 97 | 终端未登记、已停用或未签到 | terminal not registered, disabled, locked or not signed on |
 * | A0 | MAC 校验错（应答不带 MAC，不做任何处理） | MAC missing or wrong (answered without a MAC, nothing done) |
 * | 30 | 报文格式错误 | format error: a required field missing or malformed (also a DUKPT PIN without a usable KSN) |
 * | 63 | 违反安全规定（KSN 重复使用） | security violation: the DUKPT KSN was used by another request (a replayed PIN block) |
 * | 12 | 无效交易 | a message or processing code this host does not do; upload of a balanced batch |
 * | 13 | 无效金额 | amount zero |
 * | 14 | 无效卡号 | card number fails the Luhn check |
 * | 03 | 无效商户 | field 42 is not the terminal's merchant number |
 * | 25 | 找不到原交易 | the original named in 61 is not known for this terminal |
 * | 64 | 金额与原交易不符 | a void's amount differs from the original |
 * | 77 | 批次号不符，请重新签到 | settlement of a batch that is not the terminal's open batch |
 * | 96 | 系统故障 | the host failed while handling the request |
 * Everything else in 39 is the engine's response code (payments/contracts.ts RESPONSE_CODES).
 */
import { readFileSync } from 'node:fs';
import { luhnValid } from '../../payments/cards.js';
import { businessDate, type TxnReply } from '../../payments/contracts.js';
import * as E from '../../payments/engine.js';
import { responseMti, isRequestMti, listen, serveResponder, type ChannelServer, type ResponderCodec, type ServerTlsOptions } from '../channel/index.js';
import type { GatewayDeps } from '../deps.js';
import { CUP_POS, getBytes, getString, getSubfields, isIso8583Error, pack, unpack, type FieldValue, type Message } from '../iso8583/index.js';
import {
  EXPIRY,
  MAC_BYTES,
  balanceField,
  cardFrom,
  clientIdOf,
  decodeTotals,
  decodeUploadLines,
  encodeTotals,
  kindOf,
  localTimeFields,
  macData,
  reversalClientIdOf,
  rrnOf,
  type PosKind,
} from './messages.js';
import { claimKsn, pinEntryOf, pruneKsns, type PinEntry } from './dukpt.js';
import { PosSessions, type PosSession } from './sessions.js';
import { finishUpload, receiveUploadLines, settleBatch } from './settlement.js';

/** A message with the bytes it came in (requests: for the MAC) or goes out in (answers: packed and signed). */
export interface PosFrame {
  message: Message;
  frame: Buffer;
}

export interface AcquirerHost {
  /** Listens for POS terminals; resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export interface AcquirerHostOptions {
  /** Requests handled at once per connection; beyond it the host stops reading that connection. */
  maxInFlight?: number;
  maxConnections?: number;
  idleTimeoutMs?: number;
  /**
   * Listen over TLS with this certificate and key. Default: from XIAOWEI_ISO_TLS_CERT and
   * XIAOWEI_ISO_TLS_KEY (PEM file paths, read at listen) when both are set; plain TCP otherwise.
   */
  tls?: ServerTlsOptions;
}

/** The host's TLS settings from the configuration: both files read, or none (plain TCP). */
export function isoTlsFromConfig(config: Pick<GatewayDeps['config'], 'XIAOWEI_ISO_TLS_CERT' | 'XIAOWEI_ISO_TLS_KEY'>): ServerTlsOptions | undefined {
  const { XIAOWEI_ISO_TLS_CERT: certPath, XIAOWEI_ISO_TLS_KEY: keyPath } = config;
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) throw new Error('XIAOWEI_ISO_TLS_CERT and XIAOWEI_ISO_TLS_KEY are set together');
  // The error names the variable and the path only, never what the file holds.
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { cert: read('XIAOWEI_ISO_TLS_CERT', certPath), key: read('XIAOWEI_ISO_TLS_KEY', keyPath) };
}

const MAC_ALGORITHM = 'ISO9797-1-ALG3';
/** How often the host folds old DUKPT KSNs into their pads' floors. */
const KSN_PRUNE_INTERVAL_MS = 3_600_000;
const FINANCIAL_MTIS = new Set(['0100', '0200', '0220', '0400']);
/** Request fields every answer carries back. */
const ECHOED = [3, 4, 11, 25, 41, 42, 49, 60] as const;
const DIGITS6 = /^\d{6}$/;

const codec: ResponderCodec<PosFrame> = {
  decode: (frame) => ({ message: unpack(CUP_POS, frame), frame }),
  encode: (answer) => answer.frame,
  isRequest: (m) => isRequestMti(m.message.mti),
};

/** What one request turns into before it is packed: the answer's 39 and the fields to add. */
interface Outcome {
  code: string;
  fields?: [number, FieldValue][];
  /** ms; the moment fields 12/13 (and 15) describe: the engine's for a transaction, now otherwise. */
  at?: number;
}

export class PosHost implements AcquirerHost {
  private readonly sessions: PosSessions;
  private server: ChannelServer | undefined;
  private detach: (() => void) | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly options: AcquirerHostOptions = {},
  ) {
    this.sessions = new PosSessions(deps);
  }

  async listen(port: number, host?: string): Promise<number> {
    if (this.server) throw new Error('the acquirer host is listening already');
    const tls = this.options.tls ?? isoTlsFromConfig(this.deps.config);
    const server = await listen({
      port,
      ...(tls === undefined ? {} : { tls }),
      ...(host === undefined ? {} : { host }),
      ...(this.options.maxConnections === undefined ? {} : { maxConnections: this.options.maxConnections }),
      ...(this.options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.options.idleTimeoutMs }),
    });
    this.server = server;
    this.detach = serveResponder(server, {
      codec,
      handle: (request) => this.handle(request),
      maxInFlight: this.options.maxInFlight ?? 64,
      onError: (error, stage) => this.report(error, stage),
    });
    this.deps.log?.info({ port: server.port, tls: tls !== undefined }, 'pos: acquirer host listening');
    // The DUKPT KSN replay table keeps XIAOWEI_DUKPT_KSN_KEEP_DAYS of KSNs (dukpt.ts, Retention).
    this.pruneKsns();
    this.pruneTimer = setInterval(() => this.pruneKsns(), KSN_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    return server.port;
  }

  /** Folds KSNs older than the retention into their pads' floors (one run at a time; failures are logged). */
  private pruneKsns(): void {
    if (this.pruning) return;
    const keepDays = this.deps.config.XIAOWEI_DUKPT_KSN_KEEP_DAYS;
    this.pruning = pruneKsns(this.deps, this.deps.now() - keepDays * 86_400_000_000)
      .then((n) => {
        if (n > 0) this.deps.log?.info({ pruned: n, keepDays }, 'pos: DUKPT KSNs folded into pad floors');
      })
      .catch((error: unknown) => this.report(error, 'ksn_prune'))
      .finally(() => {
        this.pruning = undefined;
      });
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    await this.pruning;
    this.detach?.();
    this.detach = undefined;
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** Never the frame's bytes: the error's code and stage only. */
  private report(error: unknown, stage: string): void {
    if (isIso8583Error(error)) this.deps.log?.warn({ stage, code: error.code, field: error.field }, 'pos: frame refused');
    else this.deps.log?.error({ stage, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'pos: request failed');
  }

  /** Answers one request; never throws (a failure answers '96', an unpackable answer is dropped and reported). */
  async handle(request: PosFrame): Promise<PosFrame | null> {
    const m = request.message;
    const kind = kindOf(m.mti, getString(m, 3), getString(m, 25), getSubfields(m, 60)?.get(3) as string | undefined);
    const tid = getString(m, 41);
    if (!tid) return this.answer(m, { code: '30' }, null);
    if (FINANCIAL_MTIS.has(m.mti)) return this.financial(request, kind, tid);
    let session: PosSession | null = null;
    try {
      if (kind === 'sign_on') return this.answer(m, await this.signOn(m, tid), null);
      const current = await this.sessions.current(tid);
      if (typeof current === 'string') return this.answer(m, { code: '97' }, null);
      session = current;
      return this.answer(m, await this.management(m, kind, session), null);
    } catch (error) {
      this.report(error, 'handle');
      return this.answer(m, { code: '96' }, null);
    }
  }

  private async signOn(m: Message, tid: string): Promise<Outcome> {
    const done = await this.sessions.signOn(tid, getString(m, 42));
    if (done === 'wrong_merchant') return { code: '03' };
    if (typeof done === 'string') return { code: '97' };
    const f60 = new Map(getSubfields(m, 60) ?? []);
    f60.set(1, '00');
    f60.set(2, String(done.batchNo).padStart(6, '0'));
    return {
      code: '00',
      fields: [
        [32, this.deps.config.XIAOWEI_ACQUIRER_ID],
        [60, f60],
        [62, done.keyData],
      ],
    };
  }

  private async management(m: Message, kind: PosKind | undefined, session: PosSession): Promise<Outcome> {
    const batchText = getSubfields(m, 60)?.get(2);
    switch (kind) {
      case 'echo':
        return { code: '00' };
      case 'sign_off':
        await this.sessions.signOff(session);
        return { code: '00' };
      case 'settle': {
        const totals = decodeTotals(getString(m, 48) ?? '');
        if (!totals || typeof batchText !== 'string' || !DIGITS6.test(batchText)) return { code: '30' };
        const settled = await settleBatch(this.deps, session, Number(batchText), totals.totals);
        if (settled.code !== '00') return { code: settled.code };
        return { code: '00', fields: [[48, encodeTotals(totals.totals, settled.result === 'balanced' ? '1' : '2')]] };
      }
      case 'upload': {
        if (typeof batchText !== 'string' || !DIGITS6.test(batchText)) return { code: '30' };
        const f48 = getString(m, 48) ?? '';
        if (getSubfields(m, 60)?.get(3) === '202') {
          if (!/^\d{4}$/.test(f48)) return { code: '30' };
          return { code: await finishUpload(this.deps, session, Number(batchText), Number(f48)) };
        }
        const lines = decodeUploadLines(f48);
        if (!lines) return { code: '30' };
        return { code: await receiveUploadLines(this.deps, session, Number(batchText), lines) };
      }
      default:
        return { code: '12' };
    }
  }

  private async financial(request: PosFrame, kind: PosKind | undefined, tid: string): Promise<PosFrame | null> {
    const m = request.message;
    let session: PosSession | null = null;
    try {
      const current = await this.sessions.current(tid);
      if (typeof current === 'string') return this.answer(m, { code: '97' }, null);
      const mac = getBytes(m, 64);
      if (!mac) return this.answer(m, { code: 'A0' }, null);
      session = await this.verified(current, request.frame, mac);
      if (!session) return this.answer(m, { code: 'A0' }, null);
      return this.answer(m, await this.transaction(m, kind, session), session);
    } catch (error) {
      this.report(error, 'handle');
      return this.answer(m, { code: '96' }, session);
    }
  }

  /** The session whose TAK verifies the MAC: the cached one, else (another process signed the terminal on) a fresh read. */
  private async verified(session: PosSession, frame: Buffer, mac: Buffer): Promise<PosSession | null> {
    const data = macData(frame);
    if (await this.deps.crypto.verifyMac(session.tak, MAC_ALGORITHM, data, mac)) return session;
    const fresh = await this.sessions.current(session.tid, true);
    if (typeof fresh === 'string' || fresh.id === session.id) return null;
    return (await this.deps.crypto.verifyMac(fresh.tak, MAC_ALGORITHM, data, mac)) ? fresh : null;
  }

  /** A financial request, MAC verified: the host's checks, then the engine. */
  private async transaction(m: Message, kind: PosKind | undefined, session: PosSession): Promise<Outcome> {
    const mid = getString(m, 42);
    if (mid !== undefined && mid !== session.mid) return { code: '03' };
    const stan = getString(m, 11);
    const batch = getSubfields(m, 60)?.get(2);
    if (!stan || !DIGITS6.test(stan) || typeof batch !== 'string' || !DIGITS6.test(batch)) return { code: '30' };
    const payments = this.deps.payments;
    const req: E.TerminalRequest = {
      terminal: session.principal,
      operatorId: null,
      seq: Number(stan),
      pin: { key: session.tpk, format: 0 },
      // The switch names this terminal by the numbers the bank registered for it.
      refs: { terminal: session.tid, merchant: session.mid },
    };
    const clientId = clientIdOf(batch, stan);
    const amountText = getString(m, 4);
    const amount = amountText === undefined ? undefined : Number(amountText);

    const card = (): { pan: string; expiry: string } | '30' | '14' => {
      const c = cardFrom(getString(m, 2), getString(m, 14), getString(m, 35));
      if (!c || !EXPIRY.test(c.expiry)) return '30';
      return luhnValid(c.pan) ? c : '14';
    };
    /** The PIN under the terminal's PIN mode (dukpt.ts): none, its block and key, or '30'. */
    const pin = (): PinEntry | null | '30' => pinEntryOf(session.pin, session.tpk, { f22: getString(m, 22), f52: getBytes(m, 52), f62: getBytes(m, 62) });
    /** The request as the engine gets it for this PIN; '63' when its KSN was used by another request. */
    const withPin = async (p: PinEntry | null): Promise<E.TerminalRequest | '63'> => {
      if (!p) return req;
      if (p.ksn !== undefined && session.pin.mode !== 'tpk') {
        const claim = await claimKsn(this.deps, { bdkName: session.pin.bdkName, ksn: p.ksn, terminalId: session.terminalId, clientId });
        if (claim === 'replay') {
          this.deps.log?.warn({ tid: session.tid, bdk: session.pin.bdkName }, 'pos: DUKPT KSN used before, refused');
          return '63';
        }
      }
      return { ...req, pin: { key: p.key, format: p.format } };
    };
    /** The original named in 61 (batch + STAN) among this terminal's transactions. */
    const original = async (): Promise<{ id: string; amount: number } | '30' | '25'> => {
      const f61 = getSubfields(m, 61);
      const [b, s] = [f61?.get(1), f61?.get(2)];
      if (typeof b !== 'string' || typeof s !== 'string' || !DIGITS6.test(b) || !DIGITS6.test(s)) return '30';
      return (await E.transactionByClient(payments, session.terminalId, clientIdOf(b, s))) ?? '25';
    };
    const needAmount = (): number | '30' | '13' => (amount === undefined ? '30' : amount <= 0 ? '13' : amount);

    let reply: TxnReply;
    switch (kind) {
      case 'sale':
      case 'preauth': {
        const c = card();
        const p = pin();
        const a = needAmount();
        if (typeof c === 'string') return { code: c };
        if (p === '30') return { code: p };
        if (typeof a === 'string') return { code: a };
        const r = await withPin(p);
        if (r === '63') return { code: r };
        const input = { clientId, amount: a, card: c, pinBlock: p?.block };
        reply = kind === 'sale' ? await E.sale(payments, r, input) : await E.preauth(payments, r, input);
        break;
      }
      case 'balance': {
        const c = card();
        const p = pin();
        if (typeof c === 'string') return { code: c };
        if (p === '30') return { code: p };
        const r = await withPin(p);
        if (r === '63') return { code: r };
        reply = await E.balance(payments, r, { clientId, card: c, pinBlock: p?.block ?? '' });
        break;
      }
      case 'void':
      case 'preauth_void':
      case 'completion_void': {
        const o = await original();
        if (typeof o === 'string') return { code: o };
        // A void is of the full amount (CUP); a terminal that says otherwise is refused.
        if (amount !== undefined && amount !== o.amount) return { code: '64' };
        const input = { clientId, originalId: o.id };
        reply =
          kind === 'void'
            ? await E.voidSale(payments, req, input)
            : kind === 'preauth_void'
              ? await E.preauthVoid(payments, req, input)
              : await E.completionVoid(payments, req, input);
        break;
      }
      case 'refund':
      case 'completion': {
        const a = needAmount();
        if (typeof a === 'string') return { code: a };
        const o = await original();
        if (typeof o === 'string') return { code: o };
        const input = { clientId, originalId: o.id, amount: a };
        reply = kind === 'refund' ? await E.refund(payments, req, input) : await E.completion(payments, req, input);
        break;
      }
      case 'reversal':
        // 11 and 60.2 are the original's: the reversal names it by them.
        reply = await E.reversal(payments, req, { clientId: reversalClientIdOf(batch, stan), originalClientId: clientId });
        break;
      default:
        return { code: '12' };
    }
    return this.outcomeOf(reply);
  }

  private outcomeOf(reply: TxnReply): Outcome {
    const fields: [number, FieldValue][] = [];
    const settlement = businessDate(reply.at * 1000, this.deps.payments.cutoffMinutes);
    fields.push([15, settlement.slice(5, 7) + settlement.slice(8, 10)]);
    // A '94' names another request's transaction: no reference number of its own.
    if (reply.responseCode !== '94') fields.push([37, rrnOf(reply.id)]);
    if (reply.authCode && reply.responseCode === '00') fields.push([38, reply.authCode]);
    if (reply.balance !== undefined) fields.push([54, balanceField(reply.balance)]);
    return { code: reply.responseCode, fields, at: reply.at };
  }

  /** Builds, packs and (with a session) signs the answer; null when it cannot be packed. */
  private async answer(request: Message, outcome: Outcome, session: PosSession | null): Promise<PosFrame | null> {
    try {
      const fields = new Map<number, FieldValue>();
      for (const f of ECHOED) {
        const v = request.fields.get(f);
        if (v !== undefined) fields.set(f, v);
      }
      const local = localTimeFields(outcome.at ?? Math.floor(this.deps.now() / 1000));
      fields.set(12, local.time);
      fields.set(13, local.date);
      fields.set(32, this.deps.config.XIAOWEI_ACQUIRER_ID);
      for (const [f, v] of outcome.fields ?? []) fields.set(f, v);
      fields.set(39, outcome.code);
      if (session) fields.set(64, Buffer.alloc(MAC_BYTES));
      const message: Message = {
        mti: responseMti(request.mti),
        fields,
        ...(request.tpdu ? { tpdu: { destination: request.tpdu.source, source: request.tpdu.destination } } : {}),
        ...(request.header === undefined ? {} : { header: request.header }),
      };
      const frame = pack(CUP_POS, message);
      if (session) {
        const mac = await this.deps.crypto.generateMac(session.tak, MAC_ALGORITHM, macData(frame));
        mac.copy(frame, frame.length - MAC_BYTES, 0, MAC_BYTES);
        fields.set(64, mac.subarray(0, MAC_BYTES));
      }
      return { message, frame };
    } catch (error) {
      this.report(error, 'send');
      return null;
    }
  }
}
