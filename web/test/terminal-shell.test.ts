import { describe, expect, it } from 'vitest';
import { resolveBundlePath } from '../terminal/src/core/app-frame';
import { EMPTY_SHELL_STATE, MAX_BOOT_ATTEMPTS, chooseShell, confirmShell, readShellState, revert, switchShell, type ShellBootState } from '../terminal/src/core/shell-boot';
import { allowedApiCall } from '../terminal/src/runtime/bridge-host';

/** The pure rules behind the shell's self-upgrade, the app frame and the app bridge. */

const target = (version: string) => ({ version, digest: `digest-${version}`, rolloutId: 'r1', commandId: 'c1' });

describe('shell switching (service worker boot rules)', () => {
  it('serves the built-in shell until a bundle is installed', () => {
    expect(chooseShell(EMPTY_SHELL_STATE)).toMatchObject({ serve: null, watchdog: false });
  });

  it('serves a pending shell with a watchdog, and makes it active when it confirms', () => {
    let state = switchShell(EMPTY_SHELL_STATE, target('1.1.0'));
    const first = chooseShell(state);
    expect(first).toMatchObject({ serve: '1.1.0', watchdog: true });
    state = first.next;
    expect(state.pending?.attempts).toBe(1);

    const { next, confirmed } = confirmShell(state, '1.1.0');
    expect(confirmed).toMatchObject({ version: '1.1.0', previous: null, rolloutId: 'r1', commandId: 'c1' });
    expect(next).toEqual({ active: '1.1.0', pending: null, failure: null });
    expect(chooseShell(next)).toMatchObject({ serve: '1.1.0', watchdog: false });
  });

  it('a shell that is not the pending one confirms nothing (the old page still running)', () => {
    const state = switchShell({ active: '1.0.0', pending: null, failure: null }, target('1.1.0'));
    expect(confirmShell(state, '1.0.0')).toEqual({ next: state, confirmed: null });
  });

  it(`reverts a pending shell that did not confirm within ${MAX_BOOT_ATTEMPTS} starts, keeping the failure to report`, () => {
    let state: ShellBootState = switchShell({ active: '1.0.0', pending: null, failure: null }, target('1.1.0'));
    for (let i = 0; i < MAX_BOOT_ATTEMPTS; i++) {
      const choice = chooseShell(state);
      expect(choice.serve).toBe('1.1.0');
      state = choice.next;
    }
    const reverted = chooseShell(state);
    expect(reverted.serve).toBe('1.0.0');
    expect(reverted.next).toEqual({
      active: '1.0.0',
      pending: null,
      failure: { version: '1.1.0', digest: 'digest-1.1.0', reason: 'boot_failed', rolloutId: 'r1', commandId: 'c1' },
    });
  });

  it('a second switch before the first confirmed returns to the last good shell, not to the unconfirmed one', () => {
    const once = switchShell({ active: '1.0.0', pending: null, failure: null }, target('1.1.0'));
    const twice = switchShell(once, target('1.2.0'));
    expect(twice.pending).toMatchObject({ version: '1.2.0', previous: '1.0.0' });
    expect(revert(twice, 'missing_files').active).toBe('1.0.0');
  });

  it('reads whatever storage holds without throwing', () => {
    expect(readShellState(undefined)).toEqual(EMPTY_SHELL_STATE);
    expect(readShellState('garbage')).toEqual(EMPTY_SHELL_STATE);
    expect(readShellState({ active: 42 })).toEqual(EMPTY_SHELL_STATE);
  });
});

describe('app frame paths', () => {
  it('resolves the entry page references inside the bundle only', () => {
    expect(resolveBundlePath('index.html', './assets/app.js')).toBe('assets/app.js');
    expect(resolveBundlePath('index.html', 'assets/app.js?v=1')).toBe('assets/app.js');
    expect(resolveBundlePath('pages/main.html', '../assets/app.css')).toBe('assets/app.css');
    expect(resolveBundlePath('index.html', '/assets/app.js')).toBe('assets/app.js');
    expect(resolveBundlePath('index.html', '../../etc/passwd')).toBeNull();
    expect(resolveBundlePath('index.html', 'https://evil.example/x.js')).toBeNull();
    expect(resolveBundlePath('index.html', '//evil.example/x.js')).toBeNull();
    expect(resolveBundlePath('index.html', 'data:text/javascript,alert(1)')).toBeNull();
  });
});

describe('what an app may ask the shell to call', () => {
  it('allows the terminal API except what only the shell does', () => {
    expect(allowedApiCall({ method: 'GET', path: '/api/v1/terminal/echo' })).toBe(true);
    expect(allowedApiCall({ method: 'POST', path: '/api/v1/terminal/payments/sale', body: {} })).toBe(true);
    for (const path of [
      '/api/v1/terminal/activate',
      '/api/v1/terminal/sign-on',
      '/api/v1/terminal/sign-off',
      '/api/v1/terminal/operator/sign-on',
      '/api/v1/terminal/push',
      '/api/v1/terminal/commands',
      '/api/v1/terminal/commands/x/ack',
      '/api/v1/terminal/updates',
      '/api/v1/terminal/apps/info/versions/1.0.0/bundle',
      '/api/v1/terminals',
      '/api/v1/auth/me',
      '/api/v1/terminal/../auth/me',
      '/api/v1/terminal/%2e%2e/auth/me',
      '/api/v1/terminal/x\\y',
    ]) {
      expect(allowedApiCall({ method: 'GET', path }), path).toBe(false);
    }
    expect(allowedApiCall({ method: 'DELETE', path: '/api/v1/terminal/echo' })).toBe(false);
    expect(allowedApiCall(null)).toBe(false);
    expect(allowedApiCall({ method: 'GET' })).toBe(false);
  });
});
