/**
 * The one place where database integers become TypeScript numbers. PostgreSQL's int8 arrives from
 * `pg` as a string and better-sqlite3 returns a lossy double past 2^53, so every integer read from
 * a database passes through `toSafeInt`, which refuses anything that cannot be represented exactly.
 * Writes are bounded by the same rule: the ledger never lets a balance pass Number.MAX_SAFE_INTEGER.
 */
export function toSafeInt(value: unknown, column = 'integer'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === 'bigint') {
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
  } else if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new RangeError(`${column}: database value is not a safe integer`);
}

/** Like toSafeInt but passes null/undefined through as null. */
export function toSafeIntOrNull(value: unknown, column = 'integer'): number | null {
  return value === null || value === undefined ? null : toSafeInt(value, column);
}
