/**
 * Maintenance windows: 'HH:MM-HH:MM' in the bank's local time, Asia/Shanghai. China has kept
 * UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no tz database.
 * A window whose end is before its start wraps midnight ('22:00-04:00'); equal ends mean all day.
 * Times are microseconds since the epoch, like every timestamp in the terminals domain.
 */

const OFFSET_MIN = 8 * 60;
const DAY_MIN = 24 * 60;
const MINUTE_US = 60_000_000;

export interface Window {
  readonly text: string;
  /** Minutes after local midnight. */
  readonly start: number;
  readonly end: number;
}

const WINDOW_RE = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** The parsed window, or null for text that is not one (the fleet part validates what it stores). */
export function parseWindow(text: string | null | undefined): Window | null {
  if (!text) return null;
  const m = WINDOW_RE.exec(text);
  if (!m) return null;
  return { text, start: Number(m[1]) * 60 + Number(m[2]), end: Number(m[3]) * 60 + Number(m[4]) };
}

/** Local minute of the day and the instant (µs) of the local midnight that starts it. */
function localClock(nowUs: number): { minute: number; midnightUs: number } {
  const minutesSinceEpoch = Math.floor(nowUs / MINUTE_US) + OFFSET_MIN;
  const minute = ((minutesSinceEpoch % DAY_MIN) + DAY_MIN) % DAY_MIN;
  const midnightUs = (minutesSinceEpoch - minute - OFFSET_MIN) * MINUTE_US;
  return { minute, midnightUs };
}

export function insideWindow(w: Window, nowUs: number): boolean {
  if (w.start === w.end) return true;
  const { minute } = localClock(nowUs);
  return w.start < w.end ? minute >= w.start && minute < w.end : minute >= w.start || minute < w.end;
}

/** When the window next opens at or after `nowUs`; `nowUs` itself when it is open now. */
export function nextWindowStart(w: Window, nowUs: number): number {
  if (insideWindow(w, nowUs)) return nowUs;
  const { minute, midnightUs } = localClock(nowUs);
  const startToday = midnightUs + w.start * MINUTE_US;
  return minute < w.start ? startToday : startToday + DAY_MIN * MINUTE_US;
}

/** Length of the window in µs (a whole day for an all-day window). */
export function windowLengthUs(w: Window): number {
  const minutes = w.start === w.end ? DAY_MIN : (w.end - w.start + DAY_MIN) % DAY_MIN;
  return minutes * MINUTE_US;
}

/**
 * Of several windows (a terminal in several groups), downloads may run while any is open; the
 * earliest next opening is when a held download may start. No window at all means any time.
 */
export function earliestOpening(windows: readonly Window[], nowUs: number): number | null {
  if (windows.length === 0) return null;
  let best = Number.POSITIVE_INFINITY;
  for (const w of windows) best = Math.min(best, nextWindowStart(w, nowUs));
  return best;
}
