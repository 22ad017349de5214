/**
 * The switch link's tables (migration 0012). Reconciliation (switch-recon/) reads the first two.
 *
 * `gw_switch_txns` — one row per online request to the switch, written BEFORE it is sent:
 *   id               text PK     newId()
 *   txn_id           text UNIQUE pay_transactions.id (the engine's claimed row)
 *   kind             'sale' | 'balance'
 *   mti, processing_code         '0200', '000000' | '310000' (what field 90 of a reversal names)
 *   acquirer_id      field 32 as sent
 *   stan             field 11 (6 digits)
 *   rrn              field 37, 12 characters, unique forever (see counters.ts)
 *   transmitted_at   field 7, MMDDhhmmss UTC
 *   terminal_ref     field 41 (8), merchant_ref field 42 (15), derived from the platform ids
 *   terminal_id, merchant_party_id  the platform ids they stand for
 *   pan_sealed       Secrets.encrypt(PAN_PURPOSE) — reversals and refund advices need field 2
 *   pan_masked       first 6 and last 4 digits
 *   amount           bigint fen (0 for a balance inquiry)
 *   state            'open' (sent or about to be) | 'approved' | 'declined' | 'unknown' (no
 *                    trustworthy answer: a reversal is queued for a sale) | 'unavailable' (never sent)
 *   response_code    field 39 as we map it (RESPONSE_CODES), null while open / unavailable
 *   auth_code        field 38 when approved
 *   balance          field 54, fen (balance inquiries)
 *   settlement_date  'YYYY-MM-DD' from field 15 of the answer
 *   late_response_code  field 39 of an answer that came after we gave up (the row stays 'unknown')
 *   created_at, updated_at  µs
 *
 * A row with state 'unavailable' and amount 0 may also be a tombstone written by `recover()` for a
 * transaction that never reached the link, so that a stalled `authorize` for it cannot send later.
 *
 * `gw_saf` — store and forward: reversals and refund advices, sent until acknowledged:
 *   id               text PK
 *   txn_id           text UNIQUE the engine's void / refund / reversal row, or `<sale txn id>:rev`
 *                    for the link's own reversal after a timeout
 *   kind             'reversal' | 'refund'
 *   original_txn_id  the sale's pay_transactions.id (its gw_switch_txns row gives PAN, STAN, 7, 41, 42)
 *   rrn              refund: its own new RRN; reversal: the original's RRN
 *   reason           '98' (no answer in time) | '17' (cancelled: void, terminal reversal) | null (refund)
 *   amount           bigint fen (reversal: the original amount; refund: the refund amount)
 *   state            'held' (queued in a transaction not yet final) | 'queued' (to send) |
 *                    'acknowledged' (with response_code '00', or '25' for a reversal of a sale the
 *                    switch never booked) | 'rejected' (refund: '13' / '25') | 'dropped' (the engine's
 *                    transaction was declined: nothing to tell the switch) | 'failed' (a permanent
 *                    refusal: no longer sent; staff retry or close it) | 'closed' (staff closed it
 *                    with a note; an acknowledgement arriving afterwards still wins)
 *   attempts         sends so far
 *   next_attempt_at  µs; also the lease: a process claims a due row by moving it forward
 *   response_code    field 39 of the last answer
 *   settlement_date  'YYYY-MM-DD': the switch's date when it acknowledged
 *   last_error       why the last attempt failed (a channel error code or response code; no data)
 *   created_at, updated_at, acknowledged_at  µs
 *   exception        (0019) null | 'refused' (state 'failed') | 'retries' (still 'queued' after
 *                    XIAOWEI_SAF_ALERT_ATTEMPTS failed attempts); exception_at µs
 *   note, closed_by, closed_at  (0019) staff's closing of an exception
 *
 * `gw_switch_keys` — name 'zmk' (from the key ceremony), 'zpk' / 'zak' (the last key change of
 * any process): the crypto service's LMK-sealed handle blob and its KCV.
 *
 * `gw_switch_counters` — 'stan' and 'rrn' (the last value handed out; processes reserve blocks),
 * 'rrn_prefix' (random per installation).
 */
import type { Kysely } from 'kysely';

export type SwitchTxnState = 'open' | 'approved' | 'declined' | 'unknown' | 'unavailable';
export type SafKind = 'reversal' | 'refund';
export type SafState = 'held' | 'queued' | 'acknowledged' | 'rejected' | 'dropped' | 'failed' | 'closed';
export const SAF_STATES: readonly SafState[] = ['held', 'queued', 'acknowledged', 'rejected', 'dropped', 'failed', 'closed'];
/** Why an entry needs staff: refused for good ('failed'), or too many transient failures (still 'queued'). */
export type SafException = 'refused' | 'retries';

export interface SwitchTxnRow {
  id: string;
  txn_id: string;
  kind: 'sale' | 'balance';
  mti: string;
  processing_code: string;
  acquirer_id: string;
  stan: string;
  rrn: string;
  transmitted_at: string;
  terminal_ref: string;
  merchant_ref: string;
  terminal_id: string | null;
  merchant_party_id: string | null;
  pan_sealed: string | null;
  pan_masked: string | null;
  amount: number;
  state: SwitchTxnState;
  response_code: string | null;
  auth_code: string | null;
  balance: number | null;
  settlement_date: string | null;
  late_response_code: string | null;
  created_at: number;
  updated_at: number;
}

export interface SafRow {
  id: string;
  txn_id: string;
  kind: SafKind;
  original_txn_id: string;
  rrn: string;
  reason: '98' | '17' | null;
  amount: number;
  state: SafState;
  attempts: number;
  next_attempt_at: number;
  response_code: string | null;
  settlement_date: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  exception: SafException | null;
  exception_at: number | null;
  note: string | null;
  closed_by: string | null;
  closed_at: number | null;
}

export interface SwitchTables {
  gw_switch_txns: SwitchTxnRow;
  gw_saf: SafRow;
  gw_switch_keys: { name: 'zmk' | 'zpk' | 'zak'; blob: string; kcv: string; updated_by: string | null; created_at: number; updated_at: number };
  gw_switch_counters: { name: 'stan' | 'rrn' | 'rrn_prefix'; value: number };
}

export type SwitchDb = Kysely<SwitchTables>;

/** Secrets.encrypt purpose of the sealed PAN in the journal. */
export const PAN_PURPOSE = 'gateway.switch.pan';
