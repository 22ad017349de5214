import { describe, expect, it } from 'vitest';
import { earliestOpening, insideWindow, nextWindowStart, parseWindow, windowLengthUs } from './apps-window.js';

/** µs of a Beijing wall-clock time (UTC+8). */
const bj = (iso: string): number => Date.parse(`${iso}+08:00`) * 1000;

describe('maintenance windows (Asia/Shanghai)', () => {
  it('parses HH:MM-HH:MM and nothing else', () => {
    expect(parseWindow('02:00-04:30')).toMatchObject({ start: 120, end: 270 });
    for (const bad of ['2:00-04:00', '24:00-01:00', '02:60-03:00', '02:00~04:00', '', null]) expect(parseWindow(bad)).toBeNull();
  });

  it('knows when a window is open, in Beijing time', () => {
    const w = parseWindow('02:00-04:00')!;
    expect(insideWindow(w, bj('2026-03-01T02:00:00'))).toBe(true);
    expect(insideWindow(w, bj('2026-03-01T03:59:59'))).toBe(true);
    expect(insideWindow(w, bj('2026-03-01T04:00:00'))).toBe(false);
    expect(insideWindow(w, bj('2026-03-01T01:59:59'))).toBe(false);
    // 02:30 Beijing is 18:30 UTC the day before.
    expect(insideWindow(w, Date.parse('2026-02-28T18:30:00Z') * 1000)).toBe(true);
  });

  it('wraps midnight and treats equal ends as all day', () => {
    const night = parseWindow('22:00-04:00')!;
    expect(insideWindow(night, bj('2026-03-01T23:00:00'))).toBe(true);
    expect(insideWindow(night, bj('2026-03-02T01:00:00'))).toBe(true);
    expect(insideWindow(night, bj('2026-03-02T12:00:00'))).toBe(false);
    expect(windowLengthUs(night)).toBe(6 * 3600 * 1e6);
    const allDay = parseWindow('00:00-00:00')!;
    expect(insideWindow(allDay, bj('2026-03-02T12:00:00'))).toBe(true);
    expect(windowLengthUs(allDay)).toBe(24 * 3600 * 1e6);
  });

  it('finds the next opening', () => {
    const w = parseWindow('02:00-04:00')!;
    expect(nextWindowStart(w, bj('2026-03-01T01:00:00'))).toBe(bj('2026-03-01T02:00:00'));
    expect(nextWindowStart(w, bj('2026-03-01T05:00:00'))).toBe(bj('2026-03-02T02:00:00'));
    expect(nextWindowStart(w, bj('2026-03-01T03:00:00'))).toBe(bj('2026-03-01T03:00:00'));
    const night = parseWindow('22:00-04:00')!;
    expect(nextWindowStart(night, bj('2026-03-01T12:00:00'))).toBe(bj('2026-03-01T22:00:00'));
    expect(earliestOpening([w, night], bj('2026-03-01T12:00:00'))).toBe(bj('2026-03-01T22:00:00'));
    expect(earliestOpening([], bj('2026-03-01T12:00:00'))).toBeNull();
  });
});
