/** The identity domain's tables, for Kysely. Integers are read through platform/int. */
export interface IdentityTables {
  organisations: {
    id: string;
    parent_id: string | null;
    kind: string;
    code: string;
    name: string;
    name_en: string | null;
    region_code: string | null;
    created_at: number;
  };
  parties: {
    id: string;
    kind: string;
    name: string;
    roles: string;
    org_id: string;
    national_id_enc: string | null;
    national_id_hmac: string | null;
    national_id_last4: string | null;
    phone: string | null;
    region_code: string | null;
    created_at: number;
  };
  users: {
    id: string;
    username: string;
    display_name: string;
    role: string;
    org_id: string;
    merchant_id: string | null;
    password_hash: string;
    totp_secret_enc: string | null;
    totp_enabled: number;
    failed_logins: number;
    locked_until: number;
    disabled: number;
    created_at: number;
    last_login_at: number | null;
  };
  sessions: { token_hash: string; user_id: string; created_at: number; expires_at: number };
  audit_log: {
    id: string;
    at: number;
    actor_id: string | null;
    actor_name: string | null;
    action: string;
    target: string | null;
    outcome: string;
    detail: string | null;
    ip: string | null;
    request_id: string | null;
  };
}
