import { describe, expect, it } from 'vitest';
import { isValidMaintenanceWindow, maintenanceWindowStart } from './fleet-window.js';

/** µs of a wall-clock time in Asia/Shanghai (UTC+8, no daylight saving). */
const shanghai = (iso: string) => Date.parse(`${iso}+08:00`) * 1000;

describe('maintenance windows (Asia/Shanghai)', () => {
  it('accepts HH:MM-HH:MM with different ends, nothing else', () => {
    for (const ok of ['00:00-06:00', '22:00-06:00', '12:30-12:31', '23:59-00:00']) expect(isValidMaintenanceWindow(ok)).toBe(true);
    for (const bad of ['', '24:00-01:00', '10:00-10:00', '9:00-10:00', '10:60-11:00', '10:00–11:00', '10:00-11:00 ', '10:00'])
      expect(isValidMaintenanceWindow(bad)).toBe(false);
  });

  it('says when held work may start: now inside the window, or the next start', () => {
    expect(maintenanceWindowStart(null, shanghai('2026-03-01T15:00:00'))).toBeNull();
    // Same-day window 02:00-05:00.
    expect(maintenanceWindowStart('02:00-05:00', shanghai('2026-03-01T03:00:00'))).toBeNull();
    expect(maintenanceWindowStart('02:00-05:00', shanghai('2026-03-01T02:00:00'))).toBeNull();
    expect(maintenanceWindowStart('02:00-05:00', shanghai('2026-03-01T05:00:00'))).toBe(shanghai('2026-03-02T02:00:00'));
    expect(maintenanceWindowStart('02:00-05:00', shanghai('2026-03-01T01:59:59'))).toBe(shanghai('2026-03-01T02:00:00'));
    // Across midnight 22:00-06:00, including the UTC day boundary (16:00 UTC = 00:00 Shanghai).
    expect(maintenanceWindowStart('22:00-06:00', shanghai('2026-03-01T23:30:00'))).toBeNull();
    expect(maintenanceWindowStart('22:00-06:00', shanghai('2026-03-02T00:10:00'))).toBeNull();
    expect(maintenanceWindowStart('22:00-06:00', shanghai('2026-03-02T06:00:00'))).toBe(shanghai('2026-03-02T22:00:00'));
    expect(maintenanceWindowStart('22:00-06:00', shanghai('2026-03-01T07:45:00'))).toBe(shanghai('2026-03-01T22:00:00'));
    // Year end.
    expect(maintenanceWindowStart('01:00-02:00', shanghai('2026-12-31T23:00:00'))).toBe(shanghai('2027-01-01T01:00:00'));
  });
});
