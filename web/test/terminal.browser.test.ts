import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { rebuildBundle, startTerminalServer, type TerminalServer } from './support/terminal-server.js';

/**
 * The terminal app in real Chromium against a real server (in this process, fresh SQLite, the
 * repository's app bundles published by the seed): staff create the terminal, its activation
 * code and an operator through the API; the app activates, signs on, logs the operator in and
 * installs its authorised apps; then it receives pushed upgrades (an app, a tampered app, the
 * shell itself), and its outbox sends a request made offline exactly once when the network
 * returns.
 */
checkBrowser();

const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const TABLET = { width: 800, height: 1280 } as const;
const OPERATOR_PASSWORD = 'Cashier-2026';

interface Rollout {
  id: string;
  state: string;
  pause_reason: string | null;
  totals: { total: number; installed: number; failed: number; downloading: number };
}

describe.skipIf(!HAVE_CHROMIUM)('terminal app in Chromium', () => {
  let server: TerminalServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let terminalId = '';
  let serial = '';
  let groupId = '';
  const appIds = new Map<string, string>();

  beforeAll(async () => {
    server = await startTerminalServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: TABLET, locale: 'zh-CN' });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });

    // What bank staff do in the console, through the same API.
    const merchant = await server.api<{ id: string }>('POST', '/api/v1/parties', { kind: 'business', name: '城阳便利店', roles: ['merchant'], org_id: server.bankId });
    serial = `XWT${Date.now() % 1_000_000_000}`;
    const terminal = await server.api<{ id: string }>('POST', '/api/v1/terminals', { serial, model: 'Sunmi T2', kind: 'tablet', owner_party_id: merchant.id });
    terminalId = terminal.id;
    groupId = (await server.api<{ id: string }>('POST', '/api/v1/terminal-groups', { org_id: server.bankId, name: '城阳便利店组' })).id;
    await server.api('POST', `/api/v1/terminal-groups/${groupId}/members`, { terminal_ids: [terminalId] });
    const sets = await server.api<{ id: string; code: string }[] | { items: { id: string; code: string }[] }>('GET', '/api/v1/app-sets');
    const list = Array.isArray(sets) ? sets : sets.items;
    const store = list.find((s) => s.code === 'convenience_store');
    if (!store) throw new Error('no convenience_store app set');
    await server.api('POST', `/api/v1/app-sets/${store.id}/assignments`, { group_id: groupId });
    await server.api('POST', '/api/v1/terminal-operators', { owner_party_id: merchant.id, operator_no: '01', name: '李收银', role: 'cashier', password: OPERATOR_PASSWORD });
    const apps = await server.api<{ id: string; code: string }[] | { items: { id: string; code: string }[] }>('GET', '/api/v1/apps');
    for (const app of Array.isArray(apps) ? apps : apps.items) appIds.set(app.code, app.id);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(SCREENSHOTS, `terminal-${name}.png`), fullPage: false });
  }

  async function logIn(): Promise<void> {
    await page.getByTestId('operator-no').fill('01');
    await page.getByTestId('operator-password').fill(OPERATOR_PASSWORD);
    await page.getByTestId('operator-submit').click();
    await page.getByTestId('launcher').waitFor();
  }

  /** Publishes a bundle as a new version and rolls it out to the terminal's group at once. */
  async function rollOut(app: string, bytes: Uint8Array, version: string): Promise<string> {
    await server.api('POST', `/api/v1/apps/${appIds.get(app)}/versions`, bytes, 'application/json');
    const rollout = await server.api<Rollout>('POST', '/api/v1/rollouts', { app_id: appIds.get(app), version, group_id: groupId, stages: [100] });
    await server.api('POST', `/api/v1/rollouts/${rollout.id}/approve`);
    return rollout.id;
  }

  const progress = (id: string) => server.api<Rollout>('GET', `/api/v1/rollouts/${id}`);

  it('the seed published the shell and the scenario apps', () => {
    expect(server.seeded.published.map((p) => p.app).sort()).toEqual(['cashier', 'info', 'messages', 'shell']);
    expect(server.seeded.published.every((p) => p.created && p.approved)).toBe(true);
  });

  it('serves the installable app at /terminal/: manifest, icons, service worker, SPA fallback', async () => {
    const manifest = (await (await fetch(`${server.baseUrl}/terminal/manifest.webmanifest`)).json()) as { start_url: string; display: string; icons: { sizes: string }[] };
    expect(manifest).toMatchObject({ start_url: '/terminal/', display: 'standalone' });
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect((await fetch(`${server.baseUrl}/terminal/sw.js`)).headers.get('content-type')).toContain('javascript');
    const fallback = await fetch(`${server.baseUrl}/terminal/settings`);
    expect(fallback.status).toBe(200);
    expect(await fallback.text()).toContain('xw-shell-version');
    expect((await fetch(`${server.baseUrl}/terminal/assets/missing.js`)).status).toBe(404);
  });

  it('activates with the serial and a one-time code, signs on, logs the operator in and installs its apps', async () => {
    await page.goto(`${server.baseUrl}/terminal/`);
    await page.getByTestId('activation-serial').waitFor();
    await screenshot('activation');

    // A wrong code first: refused with the server's typed error, nothing bound.
    await page.getByTestId('activation-serial').fill(serial);
    await page.getByTestId('activation-code').fill('WRONG-CODE');
    await page.getByTestId('activation-submit').click();
    await expect.poll(() => page.getByTestId('activation-error').getAttribute('data-code')).toBe('terminal_activation_invalid');

    const issued = await server.api<{ code: string }>('POST', `/api/v1/terminals/${terminalId}/activation-codes`, {});
    await page.getByTestId('activation-code').fill(issued.code);
    await page.getByTestId('activation-submit').click();

    await page.getByTestId('operator-no').waitFor();
    expect(await page.getByTestId('operator-merchant').textContent()).toBe('城阳便利店');
    const detail = await server.api<{ status: string }>('GET', `/api/v1/terminals/${terminalId}`);
    expect(detail.status).toBe('active');

    await logIn();
    expect(await page.getByTestId('launcher-operator').textContent()).toContain('01');
    // The cashier took payments in 1.1.0 (with shell 1.1.0, which gave apps the PIN pad bridge).
    for (const [code, version] of [['info', '1.0.0'], ['messages', '1.0.0'], ['cashier', '1.1.0']] as const) {
      await expect.poll(() => page.getByTestId(`app-tile-${code}`).getAttribute('data-version')).toBe(version);
    }
    expect(await page.getByTestId('net-status').getAttribute('data-online')).toBe('true');
    // The device key never left the browser: the server holds only its public half.
    const keyInfo = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('xiaowei-terminal');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(new Error(String(r.error)));
      });
      const device = await new Promise<{ keyPair: CryptoKeyPair }>((resolve) => {
        const r = db.transaction('kv').objectStore('kv').get('device');
        r.onsuccess = () => resolve(r.result as { keyPair: CryptoKeyPair });
      });
      return { extractable: device.keyPair.privateKey.extractable, algorithm: device.keyPair.privateKey.algorithm.name };
    });
    expect(keyInfo).toEqual({ extractable: false, algorithm: 'Ed25519' });
    await screenshot('launcher');
  });

  it('is installable: Chromium finds no installability error once its service worker runs', async () => {
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toBe(`${server.baseUrl}/terminal/sw.js`);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    // A Playwright context is an incognito profile, where Chromium never offers installation; every
    // other criterion (manifest fields, icons, start URL in scope, service worker) is checked.
    expect(installabilityErrors.filter((e) => e.errorId !== 'in-incognito')).toEqual([]);
    const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] };
    expect(manifest.url).toBe(`${server.baseUrl}/terminal/manifest.webmanifest`);
    expect(manifest.errors).toEqual([]);
    await cdp.detach();
  });

  it('opens an app in its sandboxed frame, which reads the terminal through the shell', async () => {
    await page.getByTestId('app-tile-info').click();
    const frame = page.frameLocator('[data-testid="app-frame-info"]');
    await expect.poll(() => frame.getByTestId('info-serial').textContent()).toBe(serial);
    expect(await frame.getByTestId('info-versions').textContent()).toContain('shell');
    // Sandboxed: an opaque origin, and no network of its own.
    const sandbox = await page.getByTestId('app-frame-info').getAttribute('sandbox');
    expect(sandbox).not.toContain('allow-same-origin');
    await screenshot('app-info');
    await page.getByTestId('app-back').click();
    await page.getByTestId('launcher').waitFor();
  });

  it('receives a pushed upgrade: rollout → wake → download → verify → switch → installed', async () => {
    const bytes = rebuildBundle('info-1.0.0.json', '1.0.1');
    const rolloutId = await rollOut('info', bytes, '1.0.1');
    await expect.poll(() => page.getByTestId('app-tile-info').getAttribute('data-version'), { timeout: 30_000 }).toBe('1.0.1');
    await expect.poll(async () => (await progress(rolloutId)).totals.installed, { timeout: 20_000 }).toBe(1);
    const done = await progress(rolloutId);
    expect(done.totals.failed).toBe(0);
    // The new version opens from storage.
    await page.getByTestId('app-tile-info').click();
    await expect.poll(() => page.getByTestId('app-frame-info').getAttribute('data-version')).toBe('1.0.1');
    await page.getByTestId('app-back').click();
  });

  it('refuses a bundle tampered with on the way, keeps the old version and reports failed', async () => {
    const bytes = rebuildBundle('info-1.0.0.json', '1.0.2');
    // A man in the middle changes one byte of the download.
    await page.route('**/api/v1/terminal/apps/info/versions/1.0.2/bundle', async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      const at = body.indexOf('index.html');
      body[at] = 'I'.charCodeAt(0);
      await route.fulfill({ response, body });
    });
    const rolloutId = await rollOut('info', bytes, '1.0.2');
    await expect.poll(async () => (await progress(rolloutId)).totals.failed, { timeout: 30_000 }).toBe(1);
    const failed = await progress(rolloutId);
    expect(failed.totals.installed).toBe(0);
    // One failure of one terminal is over any error threshold: the rollout paused itself.
    expect(failed.state).toBe('paused');
    await expect.poll(() => page.getByTestId('app-tile-info').getAttribute('data-state')).toBe('failed');
    expect(await page.getByTestId('app-tile-info').getAttribute('data-version')).toBe('1.0.1');
    await page.unroute('**/api/v1/terminal/apps/info/versions/1.0.2/bundle');
    // What the terminal said: the digest did not match.
    const reports = await server.db.selectFrom('app_update_reports').select(['version', 'status', 'detail']).where('terminal_id', '=', terminalId).where('version', '=', '1.0.2').execute();
    expect(reports).toContainEqual({ version: '1.0.2', status: 'failed', detail: 'digest_mismatch' });
  });

  it('upgrades the shell itself the same way: the new shell is served from storage and reports installed', async () => {
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    const bytes = rebuildBundle('shell-1.1.0.json', '1.1.1', {
      'index.html': (html) => html.replace('name="xw-shell-version" content="1.1.0"', 'name="xw-shell-version" content="1.1.1"'),
    });
    const rolloutId = await rollOut('shell', bytes, '1.1.1');
    // The page reloads into the new shell, which signs on again: the operator logs in again.
    await page.getByTestId('operator-no').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.querySelector<HTMLMetaElement>('meta[name="xw-shell-version"]')?.content)).toBe('1.1.1');
    await expect.poll(async () => (await progress(rolloutId)).totals.installed, { timeout: 20_000 }).toBe(1);
    await logIn();
    await page.getByTestId('nav-settings').click();
    expect(await page.getByTestId('version-shell').textContent()).toBe('1.1.1');
    await page.getByTestId('settings-back').click();
  });

  it('replays a request made offline exactly once when the network returns (outbox)', async () => {
    const command = await server.api<{ id: string }>('POST', `/api/v1/terminals/${terminalId}/commands`, {
      kind: 'message',
      message: { zh: '明天上午系统升级，请提前签退', en: 'System upgrade tomorrow morning; sign off early' },
      expires_in_s: 3600,
    });
    await expect.poll(() => page.getByTestId('nav-messages').getAttribute('data-unread'), { timeout: 20_000 }).toBe('1');

    await context.setOffline(true);
    await expect.poll(() => page.getByTestId('net-status').getAttribute('data-online')).toBe('false');
    await page.getByTestId('nav-messages').click();
    expect(await page.getByTestId('message-text').textContent()).toBe('明天上午系统升级，请提前签退');
    await page.getByTestId('message-read').click();
    await page.getByTestId('message-receipt-queued').waitFor();
    expect(await page.getByTestId('outbox-count').getAttribute('data-count')).toBe('1');
    await screenshot('offline-queued');
    // Nothing reached the server while offline.
    const ackPath = `/api/v1/terminal/commands/${command.id}/ack`;
    expect(server.seen.filter((r) => r.url === ackPath)).toEqual([]);

    await context.setOffline(false);
    await expect.poll(() => page.getByTestId('outbox-count').getAttribute('data-count'), { timeout: 30_000 }).toBe('0');
    await page.getByTestId('message-receipt-sent').waitFor();
    const commands = await server.api<{ items: { id: string; status: string; result: Record<string, unknown> | null }[] }>('GET', `/api/v1/terminals/${terminalId}/commands`);
    const acked = commands.items.find((c) => c.id === command.id);
    expect(acked?.status).toBe('acked');
    expect(acked?.result).toMatchObject({ read: true });
    const arrivals = server.seen.filter((r) => r.url === ackPath);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    await page.getByTestId('messages-back').click();
  });

  it('shows the locked screen when the bank locks the terminal, and resumes when it unlocks', async () => {
    await server.api('POST', `/api/v1/terminals/${terminalId}/lock`, { reason: 'E2E' });
    await page.getByTestId('locked-screen').waitFor({ timeout: 30_000 });
    await screenshot('locked');
    await server.api('POST', `/api/v1/terminals/${terminalId}/unlock`, {});
    await page.getByTestId('launcher').waitFor({ timeout: 60_000 });
  });

  it('switches to English, tells the framed apps, and keeps the choice across a restart', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByText('English').click();
    await expect.poll(() => page.getByTestId('settings-view').textContent()).toContain('Versions');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en-US');
    await screenshot('settings-en');
    await page.getByTestId('settings-back').click();
    expect(await page.getByTestId('nav-messages').textContent()).toContain('Messages');
    await page.getByTestId('app-tile-info').click();
    const frame = page.frameLocator('[data-testid="app-frame-info"]');
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Terminal info');
    await page.getByTestId('app-back').click();

    await page.reload();
    await page.getByTestId('operator-no').waitFor();
    expect(await page.locator('.ant-card-head-title').textContent()).toBe('Operator log-in');
  });

  it('starts without a network (the service worker serves the installed shell) and signs on when it returns', async () => {
    await context.setOffline(true);
    await page.reload();
    await page.getByTestId('signing-on').waitFor();
    await expect.poll(() => page.getByTestId('net-status').getAttribute('data-online')).toBe('false');
    expect(await page.evaluate(() => document.querySelector<HTMLMetaElement>('meta[name="xw-shell-version"]')?.content)).toBe('1.1.1');
    await screenshot('offline-start');
    await context.setOffline(false);
    await page.getByTestId('operator-no').waitFor({ timeout: 30_000 });
    await logIn();
    expect(await page.getByTestId('app-tile-info').getAttribute('data-version')).toBe('1.0.1');
  });

  it('forgets its identity when the bank retires it', async () => {
    await server.api('POST', `/api/v1/terminals/${terminalId}/retire`, { reason: 'E2E' });
    await page.getByTestId('retired-screen').waitFor({ timeout: 30_000 });
    const device = await page.evaluate(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('xiaowei-terminal');
          open.onerror = () => reject(new Error(String(open.error)));
          open.onsuccess = () => {
            const get = open.result.transaction('kv').objectStore('kv').get('device');
            get.onsuccess = () => resolve(get.result ?? null);
          };
        }),
    );
    expect(device).toBeNull();
    expect(pageErrors).toEqual([]);
  });

  it('signs on from a tablet whose clock is two hours fast (the server time comes with every answer)', async () => {
    const merchant = await server.api<{ id: string }>('POST', '/api/v1/parties', { kind: 'business', name: '胶州农资店', roles: ['merchant'], org_id: server.bankId });
    const skewedSerial = `XWS${Date.now() % 1_000_000_000}`;
    const terminal = await server.api<{ id: string }>('POST', '/api/v1/terminals', { serial: skewedSerial, model: 'Lenovo M8', kind: 'tablet', owner_party_id: merchant.id });
    const issued = await server.api<{ code: string }>('POST', `/api/v1/terminals/${terminal.id}/activation-codes`, {});
    const skewed = await browser.newContext({ viewport: TABLET, locale: 'zh-CN' });
    try {
      const p = await skewed.newPage();
      await p.clock.setSystemTime(Date.now() + 2 * 3600_000);
      await p.goto(`${server.baseUrl}/terminal/`);
      await p.getByTestId('activation-serial').fill(skewedSerial);
      await p.getByTestId('activation-code').fill(issued.code);
      await p.getByTestId('activation-submit').click();
      await p.getByTestId('operator-no').waitFor();
      // A new page has a new client that knows nothing of the server's time yet.
      await p.reload();
      await p.getByTestId('operator-no').waitFor();
    } finally {
      await skewed.close();
    }
  });
});
