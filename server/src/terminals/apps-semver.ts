/**
 * Semantic Versioning 2.0.0 (semver.org): strict parsing and precedence. App versions are ordered
 * by it ("latest approved", rollouts only move terminals forward), so it must be exact: a
 * pre-release sorts below its release, numeric identifiers compare as numbers, build metadata
 * is ignored for precedence.
 *
 * One deliberate restriction beyond the spec: major, minor and patch must be safe integers,
 * because they are compared as numbers here and in the terminal app.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Dot-separated pre-release identifiers; empty for a release. */
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
  /** The text as given (it is already canonical: the grammar allows no variation). */
  readonly raw: string;
}

/** The longest version text accepted (it is stored, shown and sent in paths). */
export const MAX_VERSION_LENGTH = 64;

// The grammar of semver.org §2, §9 and §10: numeric parts without leading zeros, pre-release
// identifiers either numeric (no leading zero) or alphanumeric with at least one non-digit.
const NUMERIC = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUMERIC}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(`^(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`);

/** The parsed version, or null when the text is not a SemVer 2.0.0 version we accept. */
export function parseSemver(text: string): SemVer | null {
  if (text.length > MAX_VERSION_LENGTH) return null;
  const m = SEMVER_RE.exec(text);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) return null;
  return {
    major,
    minor,
    patch,
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
    build: m[5] === undefined ? [] : m[5].split('.'),
    raw: text,
  };
}

export function isSemver(text: string): boolean {
  return parseSemver(text) !== null;
}

const DIGITS = /^[0-9]+$/;

/** semver.org §11.4: numeric < alphanumeric; numbers by value, the rest in ASCII order. */
function compareIdentifier(a: string, b: string): number {
  const an = DIGITS.test(a);
  const bn = DIGITS.test(b);
  if (an && bn) {
    // No leading zeros, so the longer number is the larger; equal lengths compare as text.
    // (Pre-release numbers may exceed 2^53, so they are not turned into JS numbers.)
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precedence per semver.org §11: negative when a < b, 0 when equal (build metadata ignored). */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  // A release outranks any of its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifier(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length < b.prerelease.length ? -1 : 1;
}

/** Compares two version texts; throws on one that is not valid (callers validate first). */
export function compareVersions(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (!pa || !pb) throw new RangeError(`not a semantic version: ${pa ? b : a}`);
  return compareSemver(pa, pb);
}

/** The highest of some version texts by precedence, or undefined for none. */
export function maxVersion<T extends { version: string }>(items: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const item of items) {
    if (!best || compareVersions(item.version, best.version) > 0) best = item;
  }
  return best;
}
