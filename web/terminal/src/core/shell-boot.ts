/**
 * Which shell the service worker serves, and how a shell upgrade is switched and confirmed.
 *
 * The server always serves one shell at /terminal/ (the one built with the server: "built-in").
 * An installed shell bundle replaces it on this device: the service worker answers /terminal/
 * from the bundle's files. A new version is first *pending*: served, but not trusted until the
 * new shell itself confirms that it started (`confirmShell`). A pending version that fails to
 * confirm within MAX_BOOT_ATTEMPTS navigations is dropped: the previous one is served again, and
 * the failure is left for that shell to report. So a bad shell can cost a few reloads, never the
 * terminal.
 *
 * Pure functions over a small record kept in IndexedDB (`kv` → `shell`); no I/O here.
 */

export interface PendingShell {
  version: string;
  /** SHA-256 of its bundle, so a refused version is not fetched again. */
  digest: string;
  /** The installed version to return to, or null for the built-in shell. */
  previous: string | null;
  /** Navigations that served it so far. */
  attempts: number;
  rolloutId: string | null;
  commandId: string | null;
}

export interface ShellFailure {
  version: string;
  digest: string;
  reason: string;
  rolloutId: string | null;
  commandId: string | null;
}

export interface ShellBootState {
  /** The installed shell version in use; null = the built-in one the server serves. */
  active: string | null;
  pending: PendingShell | null;
  /** A switch that did not take, for the running shell to report once. */
  failure: ShellFailure | null;
}

export const SHELL_APP = 'shell';
export const SHELL_STATE_KEY = 'shell';
/** A pending shell gets this many navigations to confirm it started. */
export const MAX_BOOT_ATTEMPTS = 3;
/** …and each of them this long before its page reloads itself (a blank screen confirms nothing). */
export const BOOT_WATCHDOG_MS = 20_000;

export const EMPTY_SHELL_STATE: ShellBootState = { active: null, pending: null, failure: null };

/** For a navigation: the version to serve (null = built-in) and the state to store. */
export function chooseShell(state: ShellBootState): { serve: string | null; next: ShellBootState; watchdog: boolean } {
  const pending = state.pending;
  if (!pending) return { serve: state.active, next: state, watchdog: false };
  if (pending.attempts >= MAX_BOOT_ATTEMPTS) {
    return { serve: pending.previous, next: revert(state, 'boot_failed'), watchdog: false };
  }
  return { serve: pending.version, next: { ...state, pending: { ...pending, attempts: pending.attempts + 1 } }, watchdog: true };
}

/** The switch: the verified, stored version becomes pending (the page then reloads into it). */
export function switchShell(state: ShellBootState, target: { version: string; digest: string; rolloutId: string | null; commandId: string | null }): ShellBootState {
  const previous = state.pending ? state.pending.previous : state.active;
  return { active: state.active, pending: { ...target, previous, attempts: 0 }, failure: null };
}

/**
 * Called by a shell that started: if it is the pending version, it becomes the active one and the
 * pending record is returned for reporting `installed`. Null when there was nothing to confirm.
 */
export function confirmShell(state: ShellBootState, running: string): { next: ShellBootState; confirmed: PendingShell | null } {
  const pending = state.pending;
  if (!pending || pending.version !== running) return { next: state, confirmed: null };
  return { next: { active: running, pending: null, failure: state.failure }, confirmed: pending };
}

/** Drops the pending version (it could not be served, or did not start). */
export function revert(state: ShellBootState, reason: string): ShellBootState {
  const pending = state.pending;
  if (!pending) return state;
  return {
    active: pending.previous,
    pending: null,
    failure: { version: pending.version, digest: pending.digest, reason, rolloutId: pending.rolloutId, commandId: pending.commandId },
  };
}

export function readShellState(value: unknown): ShellBootState {
  if (typeof value !== 'object' || value === null) return EMPTY_SHELL_STATE;
  const v = value as Partial<ShellBootState>;
  return { active: typeof v.active === 'string' ? v.active : null, pending: v.pending ?? null, failure: v.failure ?? null };
}
