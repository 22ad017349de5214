import type { Kysely } from 'kysely';
import type { CryptoService } from '../crypto/service.js';
import { XiaoweiError } from '../platform/errors.js';
import type { Secrets } from '../platform/secrets.js';
import type { ActivationWriter } from './activation-batch.js';
import { activationCodeIndex, consumeActivationCode } from './activation-codes.js';
import { fromBase64Url, toBase64Url } from './canonical.js';
import type { ProtocolTables } from './protocol-migration.js';
import { closeTerminalSessions } from './sign-on.js';
import { normaliseSerial } from './fleet.js';

/**
 * A token bucket per key (an IP address, a serial), in process memory. Enough to make guessing
 * activation codes hopeless (31^8 codes against a handful of tries a minute); it is per process,
 * so N processes allow N times the rate, which changes nothing at that scale. The map is bounded:
 * past `maxKeys` the longest-unused keys are forgotten (a forgotten key starts full again).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerS: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one token; false when the key has none left. `nowUs` in µs. */
  take(key: string, nowUs: number): boolean {
    const bucket = this.refill(key, nowUs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Whether the key has a token left, without taking it. */
  has(key: string, nowUs: number): boolean {
    return this.refill(key, nowUs).tokens >= 1;
  }

  /** Takes one token even below zero: a burst of concurrent failures locks the key for longer. */
  charge(key: string, nowUs: number): void {
    this.refill(key, nowUs).tokens -= 1;
  }

  private refill(key: string, nowUs: number): { tokens: number; at: number } {
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(this.capacity, bucket.tokens + ((nowUs - bucket.at) / 1e6) * this.refillPerS);
      bucket.at = nowUs;
    } else {
      bucket = { tokens: this.capacity, at: nowUs };
      while (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    // Re-inserted last: the map's order is least recently used first.
    this.buckets.set(key, bucket);
    return bucket;
  }
}

/** Activation attempts: 10 per IP then one a minute; 5 per serial then one every two minutes. */
export class ActivationThrottle {
  private readonly byIp = new TokenBuckets(10, 1 / 60);
  private readonly bySerial = new TokenBuckets(5, 1 / 120);

  /**
   * Refuses with `rate_limited` when the IP or the serial has spent its failures. Only failed
   * attempts are charged: a branch activating a hundred terminals at once through one NAT address
   * is not throttled, while guessing codes is.
   */
  check(ip: string, serial: string, nowUs: number): void {
    const ipOk = this.byIp.has(ip, nowUs);
    const serialOk = this.bySerial.has(serial, nowUs);
    if (!ipOk || !serialOk) throw new XiaoweiError('rate_limited');
  }

  failed(ip: string, serial: string, nowUs: number): void {
    this.byIp.charge(ip, nowUs);
    this.bySerial.charge(serial, nowUs);
  }
}

export interface ActivationDeps {
  db: Kysely<ProtocolTables>;
  secrets: Pick<Secrets, 'blindIndex'>;
  crypto: Pick<CryptoService, 'signingPublicKey'>;
  throttle: ActivationThrottle;
  /** µs since the epoch. */
  now: () => number;
  /** Group commit of activations (activation-batch.ts); without it each runs its own transaction. */
  writer?: ActivationWriter | undefined;
}

export interface ActivationInput {
  code: string;
  serial: string;
  /** Ed25519 raw public key, base64url. */
  publicKey: string;
}

export interface ActivationResult {
  terminalId: string;
  serial: string;
  merchant: { id: string; name: string };
  org: { id: string; name: string; nameEn: string | null };
  /** The platform's Ed25519 signing key (raw, base64url): app bundles are signed with it. */
  platformSigningKey: string;
  activatedAt: number;
}

/**
 * Binds a device key to the terminal whose one-time code is presented. Using the code, checking
 * the serial and binding the key happen in one transaction, so a wrong serial leaves the code
 * unused and nothing changed. Re-activating an active terminal (a new device, a reinstalled app)
 * replaces its key and closes its session.
 */
export async function activate(deps: ActivationDeps, input: ActivationInput, ip: string): Promise<ActivationResult> {
  const nowUs = deps.now();
  const serial = normaliseSerial(input.serial);
  deps.throttle.check(ip, serial, nowUs);
  try {
    return await activateChecked(deps, { ...input, serial }, nowUs);
  } catch (error) {
    deps.throttle.failed(ip, serial, nowUs);
    throw error;
  }
}

async function activateChecked(deps: ActivationDeps, input: ActivationInput, nowUs: number): Promise<ActivationResult> {
  const publicKey = fromBase64Url(input.publicKey);
  if (!publicKey || publicKey.length !== 32) throw new XiaoweiError('validation_failed', 'publicKey must be a raw Ed25519 public key (32 bytes, base64url)');

  // The common case, a good code, joins the group commit; a code that does not bind is looked at
  // again on its own below, which refuses it with the precise reason.
  const index = deps.writer ? activationCodeIndex(deps.secrets, input.code) : null;
  const bound = index && deps.writer ? await deps.writer({ codeIndex: index, serial: input.serial, publicKey: toBase64Url(publicKey), nowUs }) : null;
  if (bound) {
    return activationResult(deps, bound, nowUs);
  }

  const terminalId = await deps.db.transaction().execute(async (trx) => {
    const used = await consumeActivationCode(trx, deps.secrets, input.code, nowUs);
    if (!used) return null;
    const terminal = await trx.selectFrom('terminals').select(['serial']).where('id', '=', used.terminal_id).executeTakeFirstOrThrow();
    if (terminal.serial !== input.serial) throw new XiaoweiError('terminal_serial_mismatch');
    await closeTerminalSessions(trx, used.terminal_id, nowUs);
    await trx
      .updateTable('terminals')
      .set({ device_public_key: toBase64Url(publicKey), status: 'active', activated_at: nowUs })
      .where('id', '=', used.terminal_id)
      .where('status', 'in', ['registered', 'active'])
      .execute();
    return used.terminal_id;
  });
  if (!terminalId) {
    // The code is void: say why when the serial names a terminal that may not be activated at all.
    const bySerial = await deps.db.selectFrom('terminals').select('status').where('serial', '=', input.serial).executeTakeFirst();
    if (bySerial?.status === 'locked') throw new XiaoweiError('terminal_locked');
    if (bySerial?.status === 'retired') throw new XiaoweiError('terminal_retired');
    throw new XiaoweiError('terminal_activation_invalid');
  }

  const row = await deps.db
    .selectFrom('terminals as t')
    .innerJoin('parties as p', 'p.id', 't.owner_party_id')
    .innerJoin('organisations as o', 'o.id', 't.org_id')
    .select(['t.id', 't.serial', 't.owner_party_id', 'p.name as party_name', 't.org_id', 'o.name as org_name', 'o.name_en as org_name_en'])
    .where('t.id', '=', terminalId)
    .executeTakeFirstOrThrow();
  return activationResult(deps, row, nowUs);
}

/** What a bound terminal is told: its record, its owner and organisation, the platform's signing key. */
async function activationResult(
  deps: ActivationDeps,
  row: { id: string; serial: string; owner_party_id: string; party_name: string; org_id: string; org_name: string; org_name_en: string | null },
  nowUs: number,
): Promise<ActivationResult> {
  return {
    terminalId: row.id,
    serial: row.serial,
    merchant: { id: row.owner_party_id, name: row.party_name },
    org: { id: row.org_id, name: row.org_name, nameEn: row.org_name_en },
    platformSigningKey: toBase64Url(await deps.crypto.signingPublicKey()),
    activatedAt: nowUs,
  };
}
