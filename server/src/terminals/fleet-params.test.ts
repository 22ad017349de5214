import { describe, expect, it } from 'vitest';
import { XiaoweiError } from '../platform/errors.js';
import { PARAM_DEFAULTS, checkParams, heartbeatOverride, isOnline, mergeParams, readParams, writeParams } from './params.js';

describe('terminal parameters', () => {
  it('merges defaults ← groups in order ← own, keys in allow-list order', () => {
    const merged = mergeParams([{ txn_limit_fen: 1, poll_interval_s: 60 }, { txn_limit_fen: 2 }], { receipt_header_en: 'Hi' });
    expect(merged).toEqual({ ...PARAM_DEFAULTS, txn_limit_fen: 2, poll_interval_s: 60, receipt_header_en: 'Hi' });
    expect(Object.keys(merged)).toEqual(Object.keys(PARAM_DEFAULTS));
    expect(mergeParams([], {})).toEqual(PARAM_DEFAULTS);
    expect(heartbeatOverride([{ heartbeat_interval_s: 30 }, {}], {})).toBe(30);
    expect(heartbeatOverride([{ heartbeat_interval_s: 30 }], { heartbeat_interval_s: 600 })).toBe(600);
    expect(heartbeatOverride([{}], {})).toBeNull();
  });

  it('checks names, types and ranges, and reads stored sets tolerantly', () => {
    expect(checkParams({ txn_limit_fen: 1, heartbeat_interval_s: 15 })).toEqual({ txn_limit_fen: 1, heartbeat_interval_s: 15 });
    for (const bad of [{ txn_limit_fen: 0 }, { txn_limit_fen: 1.5 }, { heartbeat_interval_s: 14 }, { nope: 1 }, null, [], 'x']) {
      expect(() => checkParams(bad)).toThrow(XiaoweiError);
    }
    // A value a later release no longer allows falls back instead of failing every read.
    expect(readParams('{"txn_limit_fen":0,"poll_interval_s":60,"gone":1}')).toEqual({ poll_interval_s: 60 });
    expect(readParams('not json')).toEqual({});
    expect(readParams('[1]')).toEqual({});
    expect(writeParams({ poll_interval_s: 60, txn_limit_fen: 5 })).toBe('{"txn_limit_fen":5,"poll_interval_s":60}');
  });

  it('calls a terminal online within three heartbeat intervals', () => {
    const now = 1_000_000_000_000;
    expect(isOnline(null, null, now)).toBe(false);
    expect(isOnline(now - 180_000_000, null, now)).toBe(true); // 3 × 60 s default
    expect(isOnline(now - 180_000_001, null, now)).toBe(false);
    expect(isOnline(now - 89_000_000, 30, now)).toBe(true);
    expect(isOnline(now - 91_000_000, 30, now)).toBe(false);
  });
});
