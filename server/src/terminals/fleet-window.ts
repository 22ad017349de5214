/**
 * Maintenance windows: 'HH:MM-HH:MM' in the bank's local time, Asia/Shanghai. China has kept
 * UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no time-zone
 * database. A window may cross midnight ('22:00-06:00'); start and end may not be equal, since
 * that would not say whether it means never or always (no window = any time).
 */
export const MAINTENANCE_WINDOW_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$';
const windowRe = new RegExp(MAINTENANCE_WINDOW_PATTERN);

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface ParsedWindow {
  /** Minutes after local midnight. */
  start: number;
  end: number;
}

export function parseMaintenanceWindow(window: string): ParsedWindow | null {
  if (!windowRe.test(window)) return null;
  const [s, e] = window.split('-') as [string, string];
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const parsed = { start: minutes(s), end: minutes(e) };
  return parsed.start === parsed.end ? null : parsed;
}

export function isValidMaintenanceWindow(window: string): boolean {
  return parseMaintenanceWindow(window) !== null;
}

/**
 * When held work (a download, say) may start: null when there is no window or `now` is inside it,
 * otherwise the next start of the window. Times are microseconds since the epoch.
 */
export function maintenanceWindowStart(window: string | null, now: number): number | null {
  if (window === null) return null;
  const w = parseMaintenanceWindow(window);
  if (!w) return null;
  const localMs = Math.floor(now / 1000) + SHANGHAI_OFFSET_MS;
  const dayStart = localMs - (((localMs % DAY_MS) + DAY_MS) % DAY_MS);
  const minute = Math.floor((localMs - dayStart) / MINUTE_MS);
  const inside = w.start < w.end ? minute >= w.start && minute < w.end : minute >= w.start || minute < w.end;
  if (inside) return null;
  let start = dayStart + w.start * MINUTE_MS;
  if (start <= localMs) start += DAY_MS;
  return (start - SHANGHAI_OFFSET_MS) * 1000;
}
