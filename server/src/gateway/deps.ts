import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/index.js';
import type { Ledger } from '../ledger/index.js';
import type { PaymentsDeps } from '../payments/index.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import type { Secrets } from '../platform/secrets.js';

/** What every part of the gateway is given. */
export interface GatewayDeps {
  database: Database;
  // The database's Kysely handle; each part narrows it to its tables.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  ledger: Ledger;
  crypto: CryptoService;
  secrets: Secrets;
  config: Config;
  /** The payments domain the acquirer host drives (the same engine as the JSON terminal API). */
  payments: PaymentsDeps;
  /** Microseconds since the epoch. */
  now: () => number;
  /** Network events (links up/down, refused frames); never message bytes, PANs or keys. */
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'> | undefined;
}
