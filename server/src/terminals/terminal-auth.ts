import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type {
  FastifyInstance,
  FastifyRequest,
  onSendHookHandler,
  preParsingAsyncHookHandler,
  preValidationAsyncHookHandler,
} from 'fastify';
import type { Kysely } from 'kysely';
import type { CryptoService, KeyHandle } from '../crypto/service.js';
import { XiaoweiError } from '../platform/errors.js';
import { toSafeInt } from '../platform/int.js';
import { EMPTY_BODY_SHA256, MAX_CLOCK_SKEW_MS, TERMINAL_HEADERS, canonicalRequest, fromBase64Url, utf8 } from './canonical.js';
import type { TerminalPrincipal } from './contracts.js';
import type { ProtocolTables } from './protocol-migration.js';
import type { SeqOutcome, SeqTicket, SessionView, TerminalAuthStore } from './terminal-auth-store.js';

/** A sequence check whose commit is under way: `done` settles after it (rejecting if refused). */
export interface DeferredSeq {
  ticket: SeqTicket;
  done: Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The MAC-verified terminal, on routes with `config.terminalAuth`; null elsewhere. */
    terminal: TerminalPrincipal | null;
    /** Hex SHA-256 of the raw body, computed while it streams in (terminal routes only). */
    terminalBodyDigest: string | null;
    /** On `'deferred-seq'` routes: the sequence check still being committed (see TerminalAuthConfig). */
    terminalSeq: DeferredSeq | null;
    /** On `'ordered-seq'` routes: resolves once the request's sequence check is durable; awaited before any answer. */
    terminalSeqDurable: (() => Promise<void>) | null;
  }
  interface FastifyContextConfig {
    /**
     * The route is called by terminals: every request must carry a valid session MAC. `true`: the
     * handler runs once the request's sequence number is durably accepted. `'deferred-seq'`: on
     * SQLite the handler runs while the check is being committed, and must (1) make its writes
     * depend on `request.terminalSeq.ticket` inside the same shared commit and (2) await
     * `request.terminalSeq.done` before answering; on PostgreSQL the handler runs before the check,
     * and its own statement must make the check (`ticket.check`: write only if accepted, settle
     * after the commit) before it awaits `done`. For hot routes (heartbeat): one commit per
     * request instead of two. `'ordered-seq'`: on SQLite the handler
     * runs once the check is committed, before its log sync, and every answer (errors included)
     * waits for that sync (`onSend`) — for routes that commit durably themselves before answering
     * (the card transactions): the sync of their own commit, later in the same log, covers the
     * check, so the request waits for one sync instead of two in turn. Elsewhere it behaves as `true`.
     */
    terminalAuth?: boolean | 'deferred-seq' | 'ordered-seq';
  }
}

/** SHA-256 (base64url) of an opaque token; only the hash is ever stored. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

const ID = /^[A-Za-z0-9-]{1,64}$/;
const DIGITS = /^[0-9]{1,15}$/;
const TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

interface AuthHeaders {
  terminalId: string;
  sessionId: string;
  timestamp: number;
  seq: number;
  mac: Uint8Array;
  operatorToken: string | null;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads the five (or six) headers; anything missing, repeated or ill-formed is refused by name. */
export function readAuthHeaders(request: FastifyRequest): AuthHeaders {
  const bad = (name: string): never => {
    throw new XiaoweiError('terminal_auth_malformed', name);
  };
  const terminalId = header(request, TERMINAL_HEADERS.terminalId);
  if (!terminalId || !ID.test(terminalId)) bad('X-Terminal-Id');
  const sessionId = header(request, TERMINAL_HEADERS.session);
  if (!sessionId || !ID.test(sessionId)) bad('X-Terminal-Session');
  const timestamp = header(request, TERMINAL_HEADERS.timestamp);
  if (!timestamp || !DIGITS.test(timestamp)) bad('X-Terminal-Timestamp');
  const seq = header(request, TERMINAL_HEADERS.seq);
  if (!seq || !DIGITS.test(seq) || Number(seq) < 1) bad('X-Terminal-Seq');
  const macText = header(request, TERMINAL_HEADERS.mac);
  const mac = macText && macText.length === 43 ? fromBase64Url(macText) : null;
  if (!mac || mac.length !== 32) bad('X-Terminal-Mac');
  const operator = request.headers[TERMINAL_HEADERS.operator];
  if (operator !== undefined && (typeof operator !== 'string' || !TOKEN.test(operator))) bad('X-Terminal-Operator');
  return {
    terminalId: terminalId!,
    sessionId: sessionId!,
    timestamp: Number(timestamp),
    seq: Number(seq),
    mac: mac!,
    operatorToken: typeof operator === 'string' ? operator : null,
  };
}

export function macKeyOf(session: Pick<SessionView, 'mac_key' | 'mac_kcv' | 'lmk_version'>): KeyHandle {
  return { blob: session.mac_key, type: 'TAK', algorithm: 'HMAC256', kcv: session.mac_kcv, lmkVersion: session.lmk_version };
}

export interface TerminalAuthDeps {
  db: Kysely<ProtocolTables>;
  store: TerminalAuthStore;
  crypto: Pick<CryptoService, 'verifyMac'>;
  /** µs since the epoch. */
  now: () => number;
}

/**
 * Verifies one terminal request and answers who sent it. The checks run cheapest-first, and
 * everything that tells a caller about a session's state (closed, expired, locked, replayed)
 * comes only after the MAC proved the caller holds the session key.
 */
export async function verifyTerminalRequest(
  deps: TerminalAuthDeps,
  request: FastifyRequest,
  deferSeq: boolean | 'deferred' | 'ordered' = false,
): Promise<TerminalPrincipal> {
  const h = readAuthHeaders(request);
  const nowUs = deps.now();
  if (Math.abs(nowUs / 1000 - h.timestamp) > MAX_CLOCK_SKEW_MS) throw new XiaoweiError('terminal_request_stale');

  const session = await deps.store.load({ sessionId: h.sessionId, operatorTokenHash: h.operatorToken ? hashToken(h.operatorToken) : null });
  if (!session || session.terminal_id !== h.terminalId) {
    const terminal = await deps.db.selectFrom('terminals').select('id').where('id', '=', h.terminalId).executeTakeFirst();
    throw new XiaoweiError(terminal ? 'terminal_session_unknown' : 'terminal_unknown');
  }

  const canonical = canonicalRequest({
    method: request.method,
    pathAndQuery: request.raw.url ?? request.url,
    timestamp: h.timestamp,
    seq: h.seq,
    sessionId: h.sessionId,
    operatorToken: h.operatorToken ?? '',
    bodySha256Hex: request.terminalBodyDigest ?? EMPTY_BODY_SHA256,
  });
  let authentic: boolean;
  try {
    authentic = await deps.crypto.verifyMac(macKeyOf(session), 'HMAC-SHA256', utf8(canonical), h.mac);
  } catch {
    // A handle the service cannot open (e.g. its LMK version retired) verifies nothing.
    authentic = false;
  }
  if (!authentic) throw new XiaoweiError('terminal_mac_invalid');

  if (session.closed_at !== null) throw new XiaoweiError('terminal_session_closed');
  if (session.expires_at <= nowUs) throw new XiaoweiError('terminal_session_expired');
  if (session.status === 'locked') throw new XiaoweiError('terminal_locked');
  if (session.status === 'retired') throw new XiaoweiError('terminal_retired');
  if (session.status !== 'active') throw new XiaoweiError('terminal_not_activated');
  if (h.operatorToken && (!session.operator || session.operator.disabled)) throw new XiaoweiError('terminal_operator_invalid');

  const refused = async (): Promise<never> => {
    // Tell a sign-off that raced this request apart from a replay.
    const now = await deps.db.selectFrom('terminal_sessions').select(['last_seq', 'closed_at']).where('id', '=', h.sessionId).executeTakeFirst();
    if (!now || now.closed_at !== null) throw new XiaoweiError('terminal_session_closed');
    throw new XiaoweiError('terminal_request_replayed', undefined, { last_seq: toSafeInt(now.last_seq) });
  };
  if (deferSeq === 'ordered' && deps.store.sharesCommit) {
    // Committed, not yet durable: every answer to this request awaits `durable` first (onSend below).
    const { value, durable } = await deps.store.advanceOrdered(h.sessionId, h.seq);
    request.terminalSeqDurable = durable;
    if (value !== 'ok') await refused();
  } else if (deferSeq === 'ordered') {
    if ((await deps.store.advance(h.sessionId, h.seq)) !== 'ok') await refused();
  } else if (deferSeq === 'deferred' && deps.store.routeChecksSeq) {
    // PostgreSQL: the route's statement checks the sequence number with its own write and settles the ticket.
    let settle: (outcome: SeqOutcome) => void = () => undefined;
    const ticket: SeqTicket = { outcome: undefined, decided: new Promise<SeqOutcome>((resolve) => (settle = resolve)) };
    ticket.check = {
      sessionId: h.sessionId,
      seq: h.seq,
      settle: (outcome) => {
        ticket.outcome = outcome;
        settle(outcome);
      },
    };
    const done = ticket.decided.then((outcome) => (outcome === 'ok' ? undefined : refused()));
    done.catch(() => undefined);
    request.terminalSeq = { ticket, done };
  } else if (deferSeq && deps.store.sharesCommit) {
    const ticket: SeqTicket = { outcome: undefined, decided: Promise.resolve('refused') };
    ticket.decided = deps.store.advance(h.sessionId, h.seq, ticket);
    const done = ticket.decided.then((outcome) => (outcome === 'ok' ? undefined : refused()));
    // Whoever answers awaits it; until then a refusal must not count as unhandled.
    done.catch(() => undefined);
    request.terminalSeq = { ticket, done };
  } else {
    if ((await deps.store.advance(h.sessionId, h.seq)) !== 'ok') await refused();
    if (deferSeq) request.terminalSeq = { ticket: { outcome: 'ok', decided: Promise.resolve('ok') }, done: Promise.resolve() };
  }

  const op = session.operator;
  return {
    terminal_id: session.terminal_id,
    serial: session.serial,
    owner_party_id: session.owner_party_id,
    org_id: session.org_id,
    group_ids: session.group_ids,
    session_id: session.id,
    operator: op ? { id: op.id, operator_no: op.operator_no, role: op.role === 'supervisor' ? 'supervisor' : 'cashier' } : null,
  };
}

/** The routes (their options) installTerminalAuth has fitted with its hooks. */
const fitted = new WeakSet<object>();

/**
 * Installs request MAC verification for every route that sets `config.terminalAuth`, in whichever
 * plugin it lives (payments routes use it too); call it before those routes are registered
 * (guardTerminalRoutes makes the app refuse to start otherwise). The
 * hooks are the routes' own (added as each route is registered), so no other request runs them —
 * POST /transfers and the rest of the API pay nothing for the terminal protocol. The body digest
 * is computed while the body streams in (`preParsing`), so the normal JSON parser and body limit
 * stay in force and no copy of the raw body is kept; verification runs before schema validation
 * and before any preValidation of the route's own (`preValidation`), so an unauthenticated caller
 * learns nothing from validation errors.
 */
export function installTerminalAuth(app: FastifyInstance, deps: TerminalAuthDeps): void {
  app.decorateRequest('terminal', null);
  app.decorateRequest('terminalBodyDigest', null);
  app.decorateRequest('terminalSeq', null);
  app.decorateRequest('terminalSeqDurable', null);

  const digestBody: preParsingAsyncHookHandler = async (request, _reply, payload) => {
    // GET and HEAD carry no body: their digest is that of zero bytes.
    if (request.method === 'GET' || request.method === 'HEAD') return payload;
    const hash = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        request.terminalBodyDigest = hash.digest('hex');
        done();
      },
    });
    return payload.pipe(tee);
  };

  // Nothing is answered before the request's sequence check is on disk ('ordered-seq' routes):
  // usually the sync of the route's own later commit has covered it by now and this costs nothing.
  const awaitDurable: onSendHookHandler = (request, _reply, payload, done) => {
    const durable = request.terminalSeqDurable;
    if (!durable) return done(null, payload);
    // Cleared first: if the sync fails, the error answer passes through here again and goes out.
    request.terminalSeqDurable = null;
    durable().then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  };

  app.addHook('onRoute', (route) => {
    const mode = route.config?.terminalAuth;
    if (!mode) return;
    const deferSeq = mode === 'deferred-seq' ? 'deferred' : mode === 'ordered-seq' ? 'ordered' : false;
    const verify: preValidationAsyncHookHandler = async (request) => {
      request.terminal = await verifyTerminalRequest(deps, request, deferSeq);
    };
    route.preParsing = [digestBody, ...hooksOf(route.preParsing)];
    route.preValidation = [verify, ...hooksOf(route.preValidation)];
    if (mode === 'ordered-seq') route.onSend = [...hooksOf(route.onSend), awaitDurable];
    fitted.add(route);
  });
}

/**
 * Makes a wrong order fail at start. installTerminalAuth sees only the routes registered after it,
 * in its scope and the scopes made after it below; a terminal route it did not see would have no
 * MAC verification (its handler's requireTerminal then refuses every request). Call this right
 * after creating the instance: `ready()` then fails, naming them, if any route with
 * `config.terminalAuth` was registered without installTerminalAuth's hooks.
 */
export function guardTerminalRoutes(app: FastifyInstance): void {
  const terminalRoutes: { method: string | string[]; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    if (route.config?.terminalAuth) terminalRoutes.push(route);
  });
  app.addHook('onReady', async () => {
    const missed = terminalRoutes.filter((route) => !fitted.has(route)).map((route) => `${String(route.method)} ${route.url}`);
    if (missed.length === 0) return;
    throw new Error(
      `Terminal routes registered before installTerminalAuth (or outside its scope), so without MAC verification: ${missed.join(', ')}. ` +
        `Call installTerminalAuth before registering them. 终端接口在 installTerminalAuth 之前（或其作用域之外）注册，缺少 MAC 校验。`,
    );
  });
}

/** A route option's hooks (none, one, or several) as a list. */
function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

/** The verified terminal of a terminal route. */
export function requireTerminal(request: FastifyRequest): TerminalPrincipal {
  if (!request.terminal) throw new XiaoweiError('terminal_auth_malformed', 'X-Terminal-Mac');
  return request.terminal;
}

/** Refuses a request that would make the terminal act for any party but its own merchant. */
export function assertActsFor(terminal: TerminalPrincipal, partyId: string): void {
  if (terminal.owner_party_id !== partyId) throw new XiaoweiError('terminal_wrong_owner');
}
