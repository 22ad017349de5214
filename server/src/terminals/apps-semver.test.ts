import { describe, expect, it } from 'vitest';
import { compareVersions, isSemver, maxVersion, parseSemver } from './apps-semver.js';

// Vectors: the valid and invalid test strings published with the regular expression suggested in
// the SemVer 2.0.0 FAQ ("Is there a suggested regular expression (RegEx) to check a SemVer
// string?", semver.org, which links its regex101 test pages), and the precedence examples of
// semver.org §11.
const VALID = [
  '0.0.4', '1.2.3', '10.20.30', '1.1.2-prerelease+meta', '1.1.2+meta', '1.1.2+meta-valid', '1.0.0-alpha', '1.0.0-beta',
  '1.0.0-alpha.beta', '1.0.0-alpha.beta.1', '1.0.0-alpha.1', '1.0.0-alpha0.valid', '1.0.0-alpha.0valid',
  '1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay', '1.0.0-rc.1+build.1', '2.0.0-rc.1+build.123', '1.2.3-beta',
  '10.2.3-DEV-SNAPSHOT', '1.2.3-SNAPSHOT-123', '1.0.0', '2.0.0', '1.1.7', '2.0.0+build.1848', '2.0.1-alpha.1227',
  '1.0.0-alpha+beta', '1.2.3----RC-SNAPSHOT.12.9.1--.12+788', '1.2.3----R-S.12.9.1--.12+meta', '1.2.3----RC-SNAPSHOT.12.9.1--.12',
  '1.0.0+0.build.1-rc.10000aaa-kk-0.1', '1.0.0-0A.is.legal',
];

const INVALID = [
  '1', '1.2', '1.2.3-0123', '1.2.3-0123.0123', '1.1.2+.123', '+invalid', '-invalid', '-invalid+invalid', '-invalid.01', 'alpha',
  'alpha.beta', 'alpha.beta.1', 'alpha.1', 'alpha+beta', 'alpha_beta', 'alpha.', 'alpha..', 'beta', '1.0.0-alpha_beta', '-alpha.',
  '1.0.0-alpha..', '1.0.0-alpha..1', '1.0.0-alpha...1', '1.0.0-alpha....1', '1.0.0-alpha.....1', '1.0.0-alpha......1',
  '1.0.0-alpha.......1', '01.1.1', '1.01.1', '1.1.01', '1.2.3.DEV', '1.2-SNAPSHOT', '1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788',
  '1.2-RC-SNAPSHOT', '-1.0.3-gamma+b7718', '+justmeta', '9.8.7+meta+meta', '9.8.7-whatever+meta+meta',
  '99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12',
];

describe('semantic versions', () => {
  it.each(VALID)('accepts %s', (v) => {
    expect(isSemver(v)).toBe(true);
  });

  it.each(INVALID)('refuses %s', (v) => {
    expect(isSemver(v)).toBe(false);
  });

  it('splits the parts', () => {
    expect(parseSemver('1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay')).toMatchObject({
      major: 1, minor: 0, patch: 0, prerelease: ['alpha-a', 'b-c-somethinglong'], build: ['build', '1-aef', '1-its-okay'],
    });
  });

  it('refuses what the grammar allows but a safe integer cannot hold, and over-long text (our bounds)', () => {
    // Valid SemVer syntax (it is in the FAQ's valid list) but beyond 2^53: refused on purpose.
    expect(isSemver('99999999999999999999999.999999999999999999.99999999999999999')).toBe(false);
    expect(isSemver(`1.0.0-${'a'.repeat(60)}`)).toBe(false);
    expect(isSemver('9007199254740991.0.0')).toBe(true);
  });

  it('orders by precedence as semver.org §11 does', () => {
    const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '2.0.0', '2.1.0', '2.1.1'];
    for (let i = 0; i < chain.length - 1; i++) {
      expect(compareVersions(chain[i]!, chain[i + 1]!), `${chain[i]} < ${chain[i + 1]}`).toBeLessThan(0);
      expect(compareVersions(chain[i + 1]!, chain[i]!)).toBeGreaterThan(0);
    }
    const shuffled = [...chain].reverse().map((version) => ({ version }));
    expect([...shuffled].sort((a, b) => compareVersions(a.version, b.version)).map((v) => v.version)).toEqual(chain);
    // Numbers compare as numbers, not text; build metadata does not count (§10).
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0-rc.10', '1.0.0-rc.9')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0-12345678901234567890', '1.0.0-9')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0+build.1', '1.0.0+build.2')).toBe(0);
    expect(maxVersion(shuffled)?.version).toBe('2.1.1');
    expect(() => compareVersions('1.0', '1.0.0')).toThrow(RangeError);
  });
});
