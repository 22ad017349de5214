/**
 * Maintenance windows as the fleet stores them: 'HH:MM-HH:MM' in Asia/Shanghai time (see
 * `apps-window.ts`, which does the clock arithmetic for both parts). A stored window may cross
 * midnight ('22:00-06:00'); start and end may not be equal, since that would not say whether it
 * means never or always (no window = any time).
 */
import { insideWindow, nextWindowStart, parseWindow, type Window } from './apps-window.js';

export const MAINTENANCE_WINDOW_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$';

export function parseMaintenanceWindow(window: string): Window | null {
  const parsed = parseWindow(window);
  return parsed && parsed.start !== parsed.end ? parsed : null;
}

export function isValidMaintenanceWindow(window: string): boolean {
  return parseMaintenanceWindow(window) !== null;
}

/**
 * When held work (a download, say) may start: null when there is no window or `now` is inside it,
 * otherwise the next start of the window. Times are microseconds since the epoch.
 */
export function maintenanceWindowStart(window: string | null, now: number): number | null {
  const w = window === null ? null : parseMaintenanceWindow(window);
  if (!w || insideWindow(w, now)) return null;
  return nextWindowStart(w, now);
}
