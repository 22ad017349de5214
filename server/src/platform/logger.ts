import type { LoggerOptions } from 'pino';

/**
 * pino settings shared by the server and the CLI. Redaction is the safety net behind rule 4:
 * nothing secret should be logged in the first place, and if it is, these paths are censored.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.totp',
  '*.code',
  '*.token',
  '*.secret',
  '*.national_id',
  '*.pin',
  '*.pan',
  '*.cvv',
  '*.key',
  '*.password_hash',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'xiaowei' },
  };
}
