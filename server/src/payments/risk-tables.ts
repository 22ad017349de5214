import type { PaymentsSharedTables } from './contracts.js';

/** The risk part's tables (risk-migration.ts), with the shared ones it reads. */
export interface RiskTables extends PaymentsSharedTables {
  risk_rules: {
    id: string;
    org_id: string;
    kind: string;
    mode: string;
    version: number;
    revision: number;
    created_by: string | null;
    created_at: number;
    updated_at: number;
  };
  risk_rule_versions: {
    rule_id: string;
    version: number;
    name: string;
    outcome: string;
    /** JSON of the kind's parameters. */
    params: string;
    note: string | null;
    created_by: string | null;
    created_at: number;
  };
  risk_decisions: {
    id: string;
    at: number;
    org_id: string;
    type: string;
    amount: number;
    merchant_party_id: string | null;
    terminal_id: string | null;
    card_id: string | null;
    account_id: string | null;
    outcome: string;
    code: string;
    /** JSON { hits: RiskHit[], allowed_by: AllowHit[] }. */
    hits: string;
  };
  risk_hits: { decision_id: string; rule_id: string; version: number; outcome: string; shadow: number; at: number };
  risk_reviews: {
    txn_id: string;
    org_id: string;
    decision: string;
    note: string;
    actor_id: string;
    actor_name: string;
    status_after: string;
    decided_at: number;
  };
  organisations: { id: string; parent_id: string | null };
  terminals: { id: string; lat_e6: number | null; lng_e6: number | null };
  users: { id: string; username: string; display_name: string };
}

/** A rule hit as the review queue and decision log show it. */
export interface HitView {
  rule_id: string;
  version: number;
  name: string;
  outcome?: 'decline' | 'review' | 'approve';
  shadow: boolean;
  reason: { zh: string; en: string };
}
