import dayjs, { type Dayjs } from 'dayjs';

/** Ledger timestamps are microseconds since the epoch; dayjs wants milliseconds. */
export function fromMicros(micros: number): Dayjs {
  return dayjs(Math.floor(micros / 1000));
}

/** Start of a day as ledger microseconds (safe: ms × 1000 stays below 2^53 for millennia). */
export function toMicros(day: Dayjs): number {
  return day.valueOf() * 1000;
}

export const DATE_TIME = 'YYYY-MM-DD HH:mm:ss';

export function formatMicros(micros: number): string {
  return fromMicros(micros).format(DATE_TIME);
}

export function formatMillis(millis: number | null | undefined): string {
  return millis ? dayjs(millis).format(DATE_TIME) : '—';
}
