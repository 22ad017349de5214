/**
 * Deterministic test data for the simulator: a seeded PRNG, Luhn check digits, and the cards and
 * core accounts a seed produces. The same seed gives the same PANs, PINs and account numbers in
 * every process, so a benchmark and the simulator it drives agree without talking.
 */
import { createHash } from 'node:crypto';

/** sfc32 (Chris Doty-Humphrey's small fast counter): 32-bit state words, uniform in [0, 1). */
export function seededRandom(seed: string, stream: string): () => number {
  const h = createHash('sha256').update(`${seed}\u0000${stream}`).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  };
  // Mix the state a little before the first draw (the author's recommendation).
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** The Luhn check digit for `digits` (the number without its check digit). */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let v = digits.charCodeAt(i) - 48;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return String((10 - (sum % 10)) % 10);
}

export function luhnValid(number: string): boolean {
  return /^[0-9]{2,}$/.test(number) && luhnDigit(number.slice(0, -1)) === number.slice(-1);
}

const digits = (random: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(random() * 10));
  return s;
};

/** The simulator's fictional issuer BIN. */
export const SIM_BIN = '621999';
export const SIM_EXPIRY = '3012';

export interface SimCard {
  /** 19 digits, BIN 621999, Luhn-valid. */
  pan: string;
  /** YYMM. */
  expiry: string;
  /** 6 digits. */
  pin: string;
}

/** `count` distinct cards for `seed`. */
export function seededCards(seed: string, count: number): SimCard[] {
  const random = seededRandom(seed, 'cards');
  const seen = new Set<string>();
  const cards: SimCard[] = [];
  while (cards.length < count) {
    const body = SIM_BIN + digits(random, 12);
    const pin = digits(random, 6);
    const pan = body + luhnDigit(body);
    if (seen.has(pan)) continue;
    seen.add(pan);
    cards.push({ pan, expiry: SIM_EXPIRY, pin });
  }
  return cards;
}

/** `count` distinct 16-digit core account numbers starting 6000 (Luhn-valid) for `seed`. */
export function seededAccounts(seed: string, count: number): string[] {
  const random = seededRandom(seed, 'accounts');
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < count) {
    const body = `6000${digits(random, 11)}`;
    const number = body + luhnDigit(body);
    if (seen.has(number)) continue;
    seen.add(number);
    out.push(number);
  }
  return out;
}
