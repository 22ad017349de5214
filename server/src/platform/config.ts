import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import path from 'node:path';

/** Every setting Xiaowei reads from the environment, validated once at boot. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  XIAOWEI_DATA_DIR: Type.String({ default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(postgres(ql)?://|sqlite:).+' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  XIAOWEI_MASTER_KEY: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
  XIAOWEI_COMMIT_MAX_BATCH: Type.Integer({ minimum: 1, maximum: 8190, default: 8190 }),
  XIAOWEI_COMMIT_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 100, default: 0 }),
  XIAOWEI_COMMIT_MAX_QUEUE: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 200_000 }),
  XIAOWEI_SESSION_TTL_S: Type.Integer({ minimum: 60, maximum: 7 * 86400, default: 8 * 3600 }),
  XIAOWEI_PENDING_SWEEP_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 1000 }),
  XIAOWEI_COOKIE_SECURE: Type.Boolean({ default: false }),
  XIAOWEI_PG_POOL_SIZE: Type.Integer({ minimum: 2, maximum: 200, default: 10 }),
  // The crypto service seals new key handles under this LMK version; handles of any version open.
  XIAOWEI_LMK_VERSION: Type.Integer({ minimum: 1, maximum: 9999, default: 1 }),
  // Terminal protocol: a heartbeat always moves last_seen_at; a history row is kept at most once
  // per this many seconds per terminal (or when app versions or network change); 0 keeps all.
  XIAOWEI_HEARTBEAT_HISTORY_S: Type.Integer({ minimum: 0, maximum: 86_400, default: 300 }),
  XIAOWEI_HEARTBEAT_KEEP_DAYS: Type.Integer({ minimum: 1, maximum: 3660, default: 14 }),
  // How often each process looks for commands other processes enqueued, to wake its push connections.
  XIAOWEI_PUSH_POLL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  // Payments: the daily cut-off (Beijing time, HH:MM); a transaction from it on belongs to the next business date.
  XIAOWEI_CUTOFF: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', default: '23:00' }),
  // Payments: 'on' runs the risk rules on every payment; 'off' approves without them (never in production).
  XIAOWEI_RISK: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  // Channel gateway. The card switch (tcp://host:port or tls://host:port); unset = other banks'
  // cards are declined '91'. Its answer is awaited this long before the sale is reversed.
  XIAOWEI_SWITCH_URL: Type.Optional(Type.String({ pattern: '^(tcp|tls)://[^/:]+:[0-9]{1,5}$' })),
  XIAOWEI_SWITCH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  // Store-and-forward: a reversal or advice not acknowledged is sent again after this long.
  XIAOWEI_SAF_RETRY_MS: Type.Integer({ minimum: 50, maximum: 3_600_000, default: 5_000 }),
  // …doubling after each transient failure ('91', '96', no answer) up to this cap; after this many
  // attempts the entry is also raised as an exception for staff (it keeps being retried at the cap).
  XIAOWEI_SAF_MAX_RETRY_MS: Type.Integer({ minimum: 50, maximum: 86_400_000, default: 300_000 }),
  XIAOWEI_SAF_ALERT_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10 }),
  // The bank's acquiring institution code (ISO 8583 field 32, up to 11 digits).
  XIAOWEI_ACQUIRER_ID: Type.String({ pattern: '^[0-9]{1,11}$', default: '04581000' }),
  // The ISO 8583 acquirer host for conventional POS terminals listens on this port; unset = off.
  XIAOWEI_ISO_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  // …over TLS when both are set (PEM file paths: the host's certificate chain and its private key).
  XIAOWEI_ISO_TLS_CERT: Type.Optional(Type.String({ minLength: 1 })),
  XIAOWEI_ISO_TLS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // DUKPT KSN replay table: KSNs older than this many days are folded into a per-device counter floor.
  XIAOWEI_DUKPT_KSN_KEEP_DAYS: Type.Integer({ minimum: 1, maximum: 3660, default: 30 }),
  // The core-banking system: 'ledger' (the built-in ledger) or iso8583://host:port (host-to-host link).
  XIAOWEI_CORE: Type.String({ pattern: '^ledger$|^iso8583://[^/:]+:[0-9]{1,5}$', default: 'ledger' }),
});

export type Config = Static<typeof ConfigSchema> & { dataDir: string; dialect: 'sqlite' | 'postgres' };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and checks configuration; a bad variable stops the boot with a message naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.path.slice(1) || '(root)'} = ${JSON.stringify(raw[e.path.slice(1)])}: ${e.message}`);
    throw new ConfigError(`Invalid configuration 配置无效:\n${[...new Set(lines)].join('\n')}`);
  }
  const config = withDefaults as Static<typeof ConfigSchema>;
  if ((config.XIAOWEI_ISO_TLS_CERT === undefined) !== (config.XIAOWEI_ISO_TLS_KEY === undefined)) {
    throw new ConfigError('Invalid configuration 配置无效:\n  XIAOWEI_ISO_TLS_CERT and XIAOWEI_ISO_TLS_KEY must be set together 须同时设置');
  }
  const dataDir = path.resolve(config.XIAOWEI_DATA_DIR);
  const dialect = config.DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite';
  return { ...config, dataDir, dialect };
}
