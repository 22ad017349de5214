/**
 * SQLite: an upper bound of a velocity rule's count, kept in memory, so that a sale whose card (or
 * terminal, or account) is far under the limit needs no count query — neither in the assessment
 * nor in the claim's recheck. Only when the bound reaches the limit is the exact count read from
 * pay_transactions (`RiskEngine`'s `counted`), as before.
 *
 * The bound counts every row of the subject created after the window's start, whatever its type
 * and status (the exact count takes only some types, and approved, held or in-flight rows), so it
 * is never below the exact count:
 *  - a subject's moments are read from pay_transactions the first time it is asked about (an
 *    index-only range read on its `(…, created_at)` index), then kept;
 *  - every row inserted afterwards is added by a TEMP trigger on this connection that calls back
 *    into this process (`after insert`, and `after update of` the subject columns and created_at),
 *    whoever inserts it: the engine's claims and final rows, QR payments, fixtures. A row rolled
 *    back later stays counted (the bound only grows: still a bound);
 *  - another connection's commit (SQLite serves one process, but a tool may open the file) shows
 *    in `pragma data_version`: everything is forgotten and read again; so is a trigger gone with
 *    its table (a migration). The trigger is created outside any transaction (a rollback would
 *    undo it): asked first inside one, the bound answers null.
 * Moments are kept non-decreasing (a row's moment is raised to the one before it when it arrives
 * out of order), which can only move a row into the window, never out of it: a binary search gives
 * the count. What falls out of the longest window asked about (and a minute more) is dropped. A subject with more than
 * `MAX_PER_SUBJECT` moments in its window is no longer tracked (its counts go to the database).
 *
 * On PostgreSQL (several processes) there is no bound: every count is exact, as before.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Scope } from './risk-rules.js';

const MAX_PER_SUBJECT = 100_000;
const MAX_SUBJECTS = 200_000;
/** Kept beyond the longest window: a request in flight carries a moment a little before the latest (µs). */
const MARGIN_US = 60_000_000;

type Tracked = 'card' | 'terminal' | 'account';

/** The index-only reads of a subject's moments: one statement per scope, its column fixed. */
const LOADS: Record<Tracked, string> = {
  card: 'select created_at as t from pay_transactions where card_id = ? and created_at > ? order by created_at',
  terminal: 'select created_at as t from pay_transactions where terminal_id = ? and created_at > ? order by created_at',
  account: 'select created_at as t from pay_transactions where account_id = ? and created_at > ? order by created_at',
};

interface Moments {
  /** Non-decreasing moments; the live ones start at `head`. */
  t: number[];
  head: number;
  /** Every row of the subject created after this moment is counted in `t`. */
  from: number;
  /** The longest window asked about (µs): what is older is dropped. */
  keep: number;
}

export interface VelocityBound {
  /**
   * At least the number of the subject's rows created after `since` (own claim included once it
   * is inserted); null when there is no bound (the caller counts exactly).
   */
  atMost(scope: Scope, subject: string, since: number, now: number): number | null;
}

const bounds = new WeakMap<BetterSqlite3.Database, VelocityBound>();

/** The bound of this SQLite connection (one per connection, shared by every risk engine on it). */
export function velocityBound(raw: BetterSqlite3.Database): VelocityBound {
  let bound = bounds.get(raw);
  if (!bound) bounds.set(raw, (bound = createBound(raw)));
  return bound;
}

function createBound(raw: BetterSqlite3.Database): VelocityBound {
  const subjects: Record<Tracked, Map<string, Moments>> = { card: new Map(), terminal: new Map(), account: new Map() };
  const untracked: Record<Tracked, Set<string>> = { card: new Set(), terminal: new Set(), account: new Set() };
  let installed = false;
  let loads: Record<Tracked, BetterSqlite3.Statement> | undefined;
  let check: BetterSqlite3.Statement | undefined;
  let version = -1;
  let count = 0;

  const forget = (): void => {
    for (const s of ['card', 'terminal', 'account'] as const) {
      subjects[s].clear();
      untracked[s].clear();
    }
    count = 0;
  };

  const add = (scope: Tracked, subject: unknown, at: number): void => {
    if (typeof subject !== 'string') return;
    const m = subjects[scope].get(subject);
    if (!m) return;
    const last = m.t.length > m.head ? m.t[m.t.length - 1]! : m.from;
    m.t.push(at > last ? at : last);
    if (m.t.length - m.head > MAX_PER_SUBJECT) {
      subjects[scope].delete(subject);
      untracked[scope].add(subject);
    }
  };

  const install = (): void => {
    // Called by the triggers below for every row inserted (or moved to another subject) on this connection.
    raw.function('xw_risk_txn_row', { deterministic: false }, (card: unknown, terminal: unknown, account: unknown, createdAt: unknown) => {
      const at = Number(createdAt);
      add('card', card, at);
      add('terminal', terminal, at);
      add('account', account, at);
      return null;
    });
    raw.exec(`create temp trigger if not exists xw_risk_txn_insert after insert on main.pay_transactions
      begin select xw_risk_txn_row(new.card_id, new.terminal_id, new.account_id, new.created_at); end`);
    raw.exec(`create temp trigger if not exists xw_risk_txn_move after update of card_id, terminal_id, account_id, created_at on main.pay_transactions
      begin select xw_risk_txn_row(new.card_id, new.terminal_id, new.account_id, new.created_at); end`);
    loads = { card: raw.prepare(LOADS.card), terminal: raw.prepare(LOADS.terminal), account: raw.prepare(LOADS.account) };
    // Another connection's commits (data_version), and whether the trigger is still there (dropping the table drops it).
    check = raw.prepare(
      "select (select data_version from pragma_data_version()) as v, (select count(*) from temp.sqlite_master where type = 'trigger' and name = 'xw_risk_txn_insert') as t",
    );
    installed = true;
  };

  return {
    atMost(scope, subject, since, now) {
      if (scope === 'merchant') return null;
      // The trigger is created outside any transaction: created inside one, a rollback would drop it unseen.
      if (!installed) {
        if (raw.inTransaction) return null;
        install();
      }
      const state = check!.get() as { v: number | bigint; t: number | bigint };
      if (Number(state.t) !== 1) {
        // The table was dropped and made again (a migration): its trigger with it.
        installed = false;
        forget();
        if (raw.inTransaction) return null;
        install();
      }
      const v = Number(state.v);
      if (v !== version) {
        // First use, or another connection committed: what is kept may miss its rows.
        forget();
        version = v;
      }
      if (untracked[scope].has(subject)) return null;
      const map = subjects[scope];
      let m = map.get(subject);
      const window = Math.max(0, now - since);
      if (!m || since < m.from) {
        if (!m && count >= MAX_SUBJECTS) forget();
        const keep = Math.max(window, m?.keep ?? 0);
        const from = Math.min(since, now - keep - MARGIN_US);
        const rows = loads![scope].all(subject, from) as { t: number | bigint }[];
        if (rows.length > MAX_PER_SUBJECT) {
          map.delete(subject);
          untracked[scope].add(subject);
          return null;
        }
        if (!m) count++;
        m = { t: rows.map((r) => Number(r.t)), head: 0, from, keep };
        map.set(subject, m);
      } else if (window > m.keep) m.keep = window;
      // Drop what no window asked about reaches any more.
      const horizon = now - m.keep - MARGIN_US;
      if (horizon > m.from) {
        let h = m.head;
        while (h < m.t.length && m.t[h]! <= horizon) h++;
        m.head = h;
        m.from = horizon;
        if (h > 1024 && h * 2 > m.t.length) {
          m.t = m.t.slice(h);
          m.head = 0;
        }
      }
      // The first moment after `since` (binary search: the moments never decrease).
      let lo = m.head;
      let hi = m.t.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (m.t[mid]! > since) hi = mid;
        else lo = mid + 1;
      }
      return m.t.length - lo;
    },
  };
}
