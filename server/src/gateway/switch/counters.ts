/**
 * STANs and RRNs that no two processes on one database hand out twice. Each process reserves a
 * block from a counter row (one UPDATE … RETURNING) and hands numbers out of it in memory; a
 * process that stops wastes the rest of its block, which is harmless.
 *
 * - STAN (field 11): 6 digits, 000001–999999, then round again: value n → ((n − 1) mod 999999) + 1.
 * - RRN (field 37): 12 characters [0-9A-Z]: the installation's 4-character prefix (random at
 *   migration) and the counter in base 36 on 8 characters — 2.8 × 10^12 RRNs before the
 *   prefix would have to change, i.e. unique per acquirer for the life of the installation.
 */
import { sql, type Kysely } from 'kysely';
import { toSafeInt } from '../../platform/int.js';
import type { SwitchDb, SwitchTables } from './tables.js';

const STAN_MODULUS = 999_999;
const RRN_COUNTER_SPACE = 36 ** 8;

export function stanOf(n: number): string {
  return String(((n - 1) % STAN_MODULUS) + 1).padStart(6, '0');
}

export function rrnOf(prefix: number, n: number): string {
  if (n >= RRN_COUNTER_SPACE) throw new RangeError('the RRN counter is exhausted: give the installation a new rrn_prefix');
  return (prefix.toString(36).padStart(4, '0') + n.toString(36).padStart(8, '0')).toUpperCase();
}

/** Moves a counter by `count` and returns the first value of the reserved block. */
async function reserve(db: Kysely<SwitchTables>, name: 'stan' | 'rrn', count: number): Promise<number> {
  const row = await db
    .updateTable('gw_switch_counters')
    .set({ value: sql<number>`value + ${count}` })
    .where('name', '=', name)
    .returning('value')
    .executeTakeFirstOrThrow();
  return toSafeInt(row.value, `gw_switch_counters.${name}`) - count + 1;
}

/** Values reserved from one counter, as ranges [from, to), used in order. */
class Block {
  private readonly ranges: { from: number; to: number }[] = [];
  private refilling: Promise<void> | undefined;

  constructor(
    private readonly db: SwitchDb,
    private readonly name: 'stan' | 'rrn',
    private readonly size: number,
  ) {}

  get available(): number {
    return this.ranges.reduce((sum, r) => sum + (r.to - r.from), 0);
  }

  /** A value if one is in memory (no I/O), else undefined. Starts a refill when running low. */
  takeSync(): number | undefined {
    if (this.available <= this.size / 4) void this.refill().catch(() => undefined);
    const range = this.ranges[0];
    if (!range) return undefined;
    const n = range.from++;
    if (range.from === range.to) this.ranges.shift();
    return n;
  }

  async take(): Promise<number> {
    for (;;) {
      const n = this.takeSync();
      if (n !== undefined) return n;
      await this.refill();
    }
  }

  /** One reservation at a time; concurrent callers share it. */
  refill(): Promise<void> {
    this.refilling ??= reserve(this.db, this.name, this.size)
      .then((first) => {
        this.ranges.push({ from: first, to: first + this.size });
      })
      .finally(() => {
        this.refilling = undefined;
      });
    return this.refilling;
  }
}

/** The process's STAN and RRN source. */
export class Counters {
  private readonly stans: Block;
  private readonly rrns: Block;
  private prefix: number | undefined;

  constructor(
    private readonly db: SwitchDb,
    blockSize = 200,
  ) {
    this.stans = new Block(db, 'stan', blockSize);
    this.rrns = new Block(db, 'rrn', blockSize);
  }

  private async rrnPrefix(db: Kysely<SwitchTables> = this.db): Promise<number> {
    if (this.prefix === undefined) {
      const row = await db.selectFrom('gw_switch_counters').select('value').where('name', '=', 'rrn_prefix').executeTakeFirstOrThrow();
      this.prefix = toSafeInt(row.value, 'gw_switch_counters.rrn_prefix');
    }
    return this.prefix;
  }

  async stan(): Promise<string> {
    return stanOf(await this.stans.take());
  }

  /** A STAN without I/O (the mux's echo is built synchronously), or undefined if none is in memory. */
  stanSync(): string | undefined {
    const n = this.stans.takeSync();
    return n === undefined ? undefined : stanOf(n);
  }

  async rrn(): Promise<string> {
    const prefix = await this.rrnPrefix();
    return rrnOf(prefix, await this.rrns.take());
  }

  /**
   * An RRN for use inside the caller's transaction `trx`, without touching the shared handle (on
   * SQLite that would wait for the connection `trx` holds). From memory when a block is there
   * (blocks were reserved in their own committed transactions); else one value reserved in `trx`
   * — never a block, since a rollback of `trx` would hand the same block out again.
   */
  async rrnIn(trx: Kysely<SwitchTables>): Promise<string> {
    const prefix = this.prefix ?? (await this.rrnPrefix(trx));
    const n = this.rrns.takeSync();
    return rrnOf(prefix, n ?? (await reserve(trx, 'rrn', 1)));
  }

  /** Fills both blocks (before the link signs on, so that echoes have STANs). */
  async warm(): Promise<void> {
    await this.rrnPrefix();
    if (this.stans.available === 0) await this.stans.refill();
    if (this.rrns.available === 0) await this.rrns.refill();
  }
}
