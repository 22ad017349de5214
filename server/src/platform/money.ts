/**
 * Money is an integer count of fen (分, 1/100 yuan). Nothing inside the system holds a float or a
 * formatted string for an amount; formatting happens only at the UI edge.
 */
export type Fen = number;

export const MAX_FEN = Number.MAX_SAFE_INTEGER;

/** True for a safe, non-negative integer amount. */
export function isFen(value: unknown): value is Fen {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Throws a RangeError unless `value` is a safe non-negative integer. */
export function assertFen(value: unknown, what = 'amount'): Fen {
  if (!isFen(value)) throw new RangeError(`${what} must be a non-negative safe integer count of fen`);
  return value;
}

/** Adds two amounts, failing instead of losing precision past 2^53 − 1. */
export function addFen(a: Fen, b: Fen): Fen {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RangeError('amount overflow');
  return sum;
}

/**
 * Parses a yuan string typed by a person ("12.5", "1,234.56") into fen without floats.
 * Returns undefined for anything that is not a plain decimal with at most two places.
 */
export function parseYuan(text: string): Fen | undefined {
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/,/g, ''));
  if (!match) return undefined;
  const yuan = Number(match[1]);
  const fen = Number((match[2] ?? '').padEnd(2, '0'));
  const total = yuan * 100 + fen;
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Formats fen as "¥1,234.56" (or "-¥1,234.56"); for display only. */
export function formatFen(fen: Fen, symbol = '¥'): string {
  const negative = fen < 0;
  const abs = Math.abs(fen);
  const yuan = Math.trunc(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  const grouped = String(yuan).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${symbol}${grouped}.${cents}`;
}
