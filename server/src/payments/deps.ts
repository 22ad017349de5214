import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/index.js';
import type { CoreAdapter } from '../gateway/core/contracts.js';
import type { Ledger } from '../ledger/index.js';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/db/database.js';
import type { Secrets } from '../platform/secrets.js';
import type { CommandQueue } from '../terminals/index.js';
import type { OffUsAuthorizer, RiskEngine } from './contracts.js';

/** What every part of the payments domain is given. */
export interface PaymentsDeps {
  database: Database;
  // The database's Kysely handle; each part narrows it to its tables.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  ledger: Ledger;
  crypto: CryptoService;
  secrets: Secrets;
  config: Config;
  commands: CommandQueue;
  risk: RiskEngine;
  /** XIAOWEI_CUTOFF in minutes after Beijing midnight. */
  cutoffMinutes: number;
  /** Microseconds since the epoch. */
  now: () => number;
  /** The card switch for other banks' cards (the gateway attaches it); absent = they are declined '91'. */
  offUs?: OffUsAuthorizer | undefined;
  /**
   * The bank's core-banking adapter (the gateway attaches it). With an external core ('iso8583'),
   * settlement pays merchants that have a core account into it; 'ledger' or absent = as before.
   */
  core?: (CoreAdapter & { readonly kind: 'ledger' | 'iso8583' }) | undefined;
}
