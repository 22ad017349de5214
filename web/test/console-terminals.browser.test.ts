import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalClient, generateDeviceKey } from '../../server/src/terminals/client.js';
import { parseStages, previewBundle, rolloutActions } from '../src/pages/apps/model.js';
import { formatE6, heartbeatTimeline, parseE6 } from '../src/pages/terminals/model.js';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { chooseOption, consoleApi, openMenu, saveScreenshot } from './support/console-page.js';
import { ADMIN_PASSWORD, currentTotp, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * The terminal pages of the staff console in real Chromium against a real server (fresh SQLite),
 * with a simulated device speaking the real terminal protocol (server/src/terminals/client.ts):
 * register a terminal, issue its activation code, activate the device with the code read off the
 * screen, its heartbeat, CSV import with a bad row, a group, an app bundle upload, a rollout whose
 * progress the detail page shows live as the device reports, and a remote lock.
 */
checkBrowser();

const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const SERIAL = 'XW-E2E-0001';
const APP_CODE = 'e2e-notes';

/** A tiny valid bundle (xiaowei-bundle/1): one HTML file, base64 with padding. */
function bundleBytes(version: string): Buffer {
  const html = '<!doctype html><meta charset="utf-8"><title>E2E notes</title><p>笔记</p>';
  return Buffer.from(
    JSON.stringify({
      format: 'xiaowei-bundle/1',
      app: APP_CODE,
      version,
      entry: 'index.html',
      files: { 'index.html': Buffer.from(html).toString('base64') },
    }),
    'utf8',
  );
}

/** Waits for a value on screen (vitest's default of one second is short on a busy 2-core machine). */
function poll<T>(read: () => Promise<T> | T) {
  return expect.poll(read, { timeout: 20_000 });
}

describe('console helpers of the terminal pages', () => {
  it('turns typed degrees into integer millionths exactly, and back', () => {
    expect(parseE6('36.067108')).toBe(36_067_108);
    expect(parseE6('120.38264')).toBe(120_382_640);
    expect(parseE6('-0.5')).toBe(-500_000);
    expect(parseE6(' 7 ')).toBe(7_000_000);
    // No floating point anywhere: 0.1 + 0.2 style drift cannot happen.
    expect(parseE6('0.300000')).toBe(300_000);
    for (const bad of ['', '1.1234567', '1e3', '12a', '1234.5', '.5', '--1']) expect(parseE6(bad)).toBeUndefined();
    expect(formatE6(36_067_108)).toBe('36.067108');
    expect(formatE6(-500_000)).toBe('-0.500000');
    expect(formatE6(-120_000_001)).toBe('-120.000001');
    expect(formatE6(null)).toBe('—');
    for (const v of [0, 1, -1, 89_999_999, -179_999_999]) expect(parseE6(formatE6(v))).toBe(v);
  });

  it('accepts the stage lists the server accepts', () => {
    expect(parseStages('1, 10, 100')).toEqual([1, 10, 100]);
    expect(parseStages('5%/50%/100%')).toEqual([5, 50, 100]);
    expect(parseStages('100')).toEqual([100]);
    for (const bad of ['', '1, 10', '10, 5, 100', '0, 100', '1, 1, 100', '1, 101', '1.5, 100', '1,2,3,4,5,6,7,8,9,10,100'])
      expect(parseStages(bad)).toBeUndefined();
  });

  it('offers the actions of the rollout state machine', () => {
    const stages = [{}, {}, {}] as Parameters<typeof rolloutActions>[0]['stages'];
    expect(rolloutActions({ state: 'created', current_stage: -1, stages })).toEqual(['approve', 'cancel']);
    expect(rolloutActions({ state: 'running', current_stage: 0, stages })).toEqual(['approve', 'pause', 'cancel', 'rollback']);
    expect(rolloutActions({ state: 'running', current_stage: 2, stages })).toEqual(['pause', 'cancel', 'rollback']);
    expect(rolloutActions({ state: 'paused', current_stage: 1, stages })).toEqual(['resume', 'cancel', 'rollback']);
    expect(rolloutActions({ state: 'finished', current_stage: 2, stages })).toEqual(['rollback']);
    expect(rolloutActions({ state: 'rolled_back', current_stage: 2, stages })).toEqual([]);
  });

  it('reads a bundle’s app and version before upload, and tells what is not a bundle', () => {
    expect(previewBundle(bundleBytes('1.2.3'))).toEqual({ app: APP_CODE, version: '1.2.3', entry: 'index.html', files: 1 });
    expect(previewBundle(Buffer.from('{"format":"zip"}'))).toEqual({ problem: 'not_bundle' });
    expect(previewBundle(Buffer.from('not json'))).toEqual({ problem: 'not_json' });
    expect(previewBundle(Buffer.from([0xff, 0xfe, 0x7b]))).toEqual({ problem: 'not_json' });
  });

  it('draws a heartbeat gap longer than three intervals as offline', () => {
    const s = 1_000_000;
    const beats = [
      { ts: 1_000 * s, battery: 90 },
      { ts: 1_060 * s, battery: 89 },
      // 600 s of silence with a 60 s interval: offline from 1_060 + 180 s.
      { ts: 1_660 * s, battery: 70 },
    ];
    const { battery, online } = heartbeatTimeline([...beats].reverse(), 60);
    expect(online).toEqual([
      [1_000_000, 1],
      [1_060_000, 1],
      [1_240_000, 0],
      [1_660_000, 1],
    ]);
    expect(battery.map((p) => p[1])).toEqual([90, 89, null, 70]);
    expect(heartbeatTimeline(beats.slice(0, 2), 60).online.every(([, v]) => v === 1)).toBe(true);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('terminal pages of the console in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let device: TerminalClient;
  const pageErrors: string[] = [];
  let merchantId = '';
  let terminalId = '';
  let activationCode = '';
  let groupId = '';
  let appId = '';

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    device = new TerminalClient({ baseUrl: server.baseUrl });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  const apiCall = <T,>(method: string, url: string, body?: unknown): Promise<T> => consoleApi<T>(page, method, url, body);
  const choose = (testId: string, optionText: string, search?: string): Promise<void> => chooseOption(page, testId, optionText, search);
  const menu = (key: string, group: 'fleet' | 'appStore'): Promise<void> => openMenu(page, key, group);
  const screenshot = (name: string): Promise<void> => saveScreenshot(page, name);

  it('signs in and finds the terminal menu', async () => {
    await page.goto(`${server.baseUrl}/login`);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-totp').fill(currentTotp(server.adminSecret));
    await page.getByTestId('login-submit').click();
    await page.waitForURL('**/overview');
    // The fleet card on the overview: nothing registered yet.
    await poll(() => page.getByTestId('fleet-summary').textContent()).toContain('终端总数');

    const merchant = await apiCall<{ id: string }>('POST', '/api/v1/parties', {
      kind: 'business',
      name: '青山便利店',
      roles: ['merchant'],
      org_id: server.bankId,
    });
    merchantId = merchant.id;
    await menu('terminals', 'fleet');
    await page.waitForURL('**/terminals');
    await page.getByTestId('terminal-table').waitFor();
  });

  it('registers a terminal and issues an activation code, shown once', async () => {
    await page.getByTestId('terminal-add').click();
    await page.getByTestId('terminal-serial').fill(SERIAL.toLowerCase());
    await page.getByTestId('terminal-model').fill('P2 Pro');
    await choose('terminal-owner', '青山便利店', '青山');
    await page.getByTestId('terminal-lat').fill('36.067108');
    await page.getByTestId('terminal-lng').fill('120.38264');
    await page.getByTestId('terminal-submit').click();
    await page.waitForURL(/\/terminals\/[^/]+$/);
    terminalId = decodeURIComponent(page.url().split('/').pop() ?? '');
    // Serials are stored upper-case; coordinates exactly as typed (integer millionths).
    await poll(() => page.getByTestId('terminal-title').textContent()).toBe(SERIAL);
    expect(await page.getByTestId('terminal-status').first().textContent()).toBe('已登记');
    expect(await page.getByTestId('terminal-fields').textContent()).toContain('36.067108, 120.382640');

    await page.getByTestId('terminal-issue-code').click();
    await page.getByTestId('activation-code-issue').click();
    const shown = page.getByTestId('activation-code-value');
    await shown.waitFor();
    const display = ((await shown.textContent()) ?? '').trim();
    expect(display).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    activationCode = display.replace('-', '');
    expect(await page.getByTestId('activation-code-expiry').textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    await page.getByTestId('activation-code-done').click();
    await shown.waitFor({ state: 'detached' });

    // The record of issued codes never holds the code itself.
    await page.getByRole('tab', { name: '激活码记录' }).click();
    const codes = page.getByTestId('activation-code-table');
    await poll(() => codes.textContent()).toContain('未使用');
    expect(await codes.textContent()).not.toContain(display);
  });

  it('shows the device active and online after it activates with that code and heartbeats', async () => {
    await device.activate(activationCode, SERIAL, await generateDeviceKey());
    expect(device.terminalId).toBe(terminalId);
    await device.signOn();
    await device.heartbeat({ appVersions: {}, network: '4g', battery: 76, lat: 36.067108, lng: 120.38264 });

    await page.reload();
    await poll(() => page.getByTestId('terminal-status').first().textContent()).toBe('已激活');
    expect(await page.getByText('在线', { exact: true }).count()).toBeGreaterThan(0);
    await page.getByRole('tab', { name: '心跳记录' }).click();
    await poll(() => page.getByTestId('heartbeat-table').textContent()).toContain('76%');
    await page.getByTestId('heartbeat-chart').locator('canvas').first().waitFor();
  });

  it('imports a CSV and reports its bad row', async () => {
    await menu('terminals', 'fleet');
    await page.waitForURL('**/terminals');
    await page.getByTestId('terminal-import').click();
    const csv = [
      'serial,model,kind,owner_party_id,region_code,lat,lng,tags',
      `XW-CSV-0001,P2 Lite,smart_pos,${merchantId},,36.1,120.4,csv;e2e`,
      `XW-CSV-0002,Tab 8,tablet,${merchantId},,,,csv`,
      `XW-CSV-0003,Toaster,toaster,${merchantId},,,,`,
    ].join('\r\n');
    await page
      .locator('.ant-modal input[type=file]')
      .setInputFiles({ name: 'terminals.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await poll(() => page.getByTestId('import-file-name').textContent()).toBe('terminals.csv');
    await page.getByTestId('import-submit').click();
    const summary = page.getByTestId('import-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toContain('已导入 2 行，1 行有误');
    const errors = page.getByTestId('import-errors').locator('tr.ant-table-row');
    expect(await errors.count()).toBe(1);
    const row = (await errors.first().textContent()) ?? '';
    // Spreadsheet numbering: the header is row 1, so the bad record is row 4.
    expect(row).toMatch(/^4kind/);
    await screenshot('terminal-import-1280x800');
    await page.keyboard.press('Escape');
    const search = page.locator('input[data-testid="terminal-search"], [data-testid="terminal-search"] input').first();
    await search.fill('XW-CSV');
    await search.press('Enter');
    await poll(() => page.getByTestId('terminal-table').locator('tr.ant-table-row').count()).toBe(2);
  });

  it('draws the map from the coordinates', async () => {
    await menu('terminalMap', 'fleet');
    await page.waitForURL('**/terminals/map');
    await page.locator('[data-testid="terminal-map"][data-rendered="true"]').waitFor();
    await screenshot('terminal-map-1280x800');
  });

  it('creates a group with a maintenance window and puts the terminal in it', async () => {
    await menu('terminalGroups', 'fleet');
    await page.waitForURL('**/terminal-groups');
    await page.getByTestId('group-add').click();
    await page.getByTestId('group-name').fill('青山试点');
    await page.getByTestId('group-window').fill('25:00-04:00');
    await page.getByTestId('group-submit').click();
    await poll(() => page.locator('.ant-form-item-explain-error').first().textContent()).toContain('HH:MM-HH:MM');
    await page.getByTestId('group-window').fill('');
    await page.getByTestId('group-submit').click();
    await page.waitForURL(/\/terminal-groups\/[^/]+$/);
    groupId = decodeURIComponent(page.url().split('/').pop() ?? '');
    await page.getByTestId('group-add-members').click();
    await page.getByTestId('group-add-members-serials').fill(SERIAL);
    await page.getByTestId('group-add-members-submit').click();
    await poll(() => page.getByTestId('group-members').textContent()).toContain(SERIAL);
  });

  it('adds an app and publishes a version by uploading its bundle', async () => {
    await menu('apps', 'appStore');
    await page.waitForURL('**/apps');
    await page.getByTestId('app-add').click();
    await page.getByTestId('app-code').fill(APP_CODE);
    await page.getByTestId('app-name-zh').fill('测试笔记');
    await page.getByTestId('app-name-en').fill('E2E notes');
    await page.getByTestId('app-submit').click();
    await page.waitForURL(/\/apps\/[^/]+$/);
    appId = decodeURIComponent(page.url().split('/').pop() ?? '');
    await poll(() => page.getByTestId('app-title').textContent()).toBe('测试笔记');

    const bytes = bundleBytes('1.0.0');
    await page.getByTestId('app-upload').click();
    await page
      .locator('.ant-modal input[type=file]')
      .setInputFiles({ name: 'e2e-notes-1.0.0.json', mimeType: 'application/json', buffer: bytes });
    await poll(() => page.getByTestId('upload-version').textContent()).toBe('1.0.0');
    await page.getByTestId('upload-approve').check();
    await page.getByTestId('upload-submit').click();
    const digest = page.getByTestId('version-digest-1.0.0');
    await digest.waitFor();
    // The digest is over the exact bytes uploaded.
    expect(await digest.getAttribute('title')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await page.getByTestId('version-table').textContent()).toContain('已批准');

    // A newer version, not approved: terminals keep 1.0.0 until a rollout brings them 1.1.0.
    await page.getByTestId('app-upload').click();
    await page
      .locator('.ant-modal input[type=file]')
      .setInputFiles({ name: 'e2e-notes-1.1.0.json', mimeType: 'application/json', buffer: bundleBytes('1.1.0') });
    await poll(() => page.getByTestId('upload-version').textContent()).toBe('1.1.0');
    await page.getByTestId('upload-submit').click();
    await page.getByTestId('version-digest-1.1.0').waitFor();
    expect(await page.getByTestId('version-table').textContent()).toContain('未批准');
  });

  it('plans a rollout to the group, and its page follows the device’s reports live', async () => {
    // Authorise the app for the group: the convenience-store set, latest approved version (1.0.0).
    const sets = await apiCall<{ id: string; code: string }[]>('GET', '/api/v1/app-sets');
    const set = sets.find((s) => s.code === 'convenience_store')!;
    await apiCall('PUT', `/api/v1/app-sets/${set.id}/items/${appId}`, { version: null });
    await apiCall('POST', `/api/v1/app-sets/${set.id}/assignments`, { group_id: groupId });

    await menu('rollouts', 'appStore');
    await page.waitForURL('**/rollouts');
    await page.getByTestId('rollout-add').click();
    await choose('rollout-app', '测试笔记');
    await choose('rollout-version', '1.1.0');
    await choose('rollout-group', '青山试点');
    await page.getByTestId('rollout-name').fill('笔记 1.1.0 试点');
    await page.getByTestId('rollout-submit').click();
    await page.waitForURL(/\/rollouts\/[^/]+$/);
    const rolloutId = decodeURIComponent(page.url().split('/').pop() ?? '');
    await poll(() => page.getByTestId('rollout-state').getAttribute('data-state')).toBe('created');
    await page.locator('[data-testid="rollout-stage-chart"][data-rendered="true"]').waitFor();

    await page.getByTestId('rollout-approve').click();
    await page.getByTestId('rollout-confirm').click();
    await poll(() => page.getByTestId('rollout-state').getAttribute('data-state')).toBe('running');
    await page.getByTestId('rollout-live').waitFor();
    await poll(() => page.getByTestId('rollout-total-notified').textContent()).toContain('1');

    // The device finds the update in its command queue and reports back; the page is not reloaded.
    const commands = await device.commands();
    const update = commands.find((c) => c.kind === 'update_available');
    expect(update?.payload).toMatchObject({ app: APP_CODE, version: '1.1.0', rolloutId });
    await device.request('POST', '/api/v1/terminal/updates', { app: APP_CODE, version: '1.1.0', status: 'downloading', rolloutId });
    await poll(() => page.getByTestId('rollout-total-downloading').textContent()).toContain('1');
    await device.request('POST', '/api/v1/terminal/updates', { app: APP_CODE, version: '1.1.0', status: 'installed', rolloutId });
    await poll(() => page.getByTestId('rollout-total-installed').textContent()).toContain('1');
    expect(await page.getByTestId('rollout-stages').textContent()).toContain('第 1 阶段（1%）');
    await screenshot('rollout-1280x800');
  });

  it('shows the app set with its app and the group it is assigned to', async () => {
    await menu('appSets', 'appStore');
    await page.waitForURL('**/app-sets');
    await page.getByTestId('app-set-link-convenience_store').click();
    await page.waitForURL(/\/app-sets\/[^/]+$/);
    await poll(() => page.getByTestId('app-set-items').textContent()).toContain(APP_CODE);
    await poll(() => page.getByTestId('app-set-assignments').textContent()).toContain('青山试点');
    await screenshot('app-set-1280x800');
  });

  it('adds an operator for the merchant and disables it', async () => {
    await menu('terminalOperators', 'fleet');
    await page.waitForURL('**/terminal-operators');
    await choose('operator-merchant', '青山便利店', '青山');
    await page.getByTestId('operator-add').click();
    await page.getByTestId('operator-no').fill('01');
    await page.getByTestId('operator-name').fill('李收银');
    await page.getByTestId('operator-password').fill('123456');
    await page.getByTestId('operator-submit').click();
    // A run of digits is refused before it reaches the server.
    await poll(() => page.locator('.ant-form-item-explain-error').first().textContent()).toContain('连续数字');
    await page.getByTestId('operator-password').fill('cash-2026');
    await page.getByTestId('operator-submit').click();
    const row = page.getByTestId('operator-table').locator('tr.ant-table-row', { hasText: '李收银' });
    await poll(() => row.textContent()).toContain('正常');
    await page.getByTestId('operator-toggle-01').click();
    await page.locator('.ant-popconfirm:visible .ant-btn-primary').click();
    await poll(() => row.textContent()).toContain('已停用');
    expect(await page.getByTestId('operator-table').textContent()).not.toContain('cash-2026');
  });

  it('locks the terminal from its page; the device gets the lock command', async () => {
    await page.goto(`${server.baseUrl}/terminals/${encodeURIComponent(terminalId)}`);
    await poll(() => page.getByTestId('terminal-title').textContent()).toBe(SERIAL);
    await page.getByTestId('terminal-lock').click();
    await page.getByTestId('status-reason').fill('E2E 远程锁定');
    await page.getByTestId('status-confirm').click();
    await poll(() => page.getByTestId('terminal-status').first().textContent()).toBe('已锁定');
    expect(await page.getByTestId('terminal-unlock').count()).toBe(1);
    await page.getByRole('tab', { name: '指令' }).click();
    await poll(() => page.getByTestId('command-table').textContent()).toContain('锁定');
    const detail = await apiCall<{ status: string }>('GET', `/api/v1/terminals/${terminalId}`);
    expect(detail.status).toBe('locked');
    await screenshot('terminal-detail-1280x800');
  });

  it('shows an auditor the fleet and the apps without any action', async () => {
    await server.addUser('audit.fleet', 'auditor', 'Auditor-pass-2026');
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    other.setDefaultTimeout(30_000);
    try {
      const p = await other.newPage();
      p.on('pageerror', (error) => pageErrors.push(error.message));
      await p.goto(`${server.baseUrl}/login`);
      await p.getByTestId('login-username').fill('audit.fleet');
      await p.getByTestId('login-password').fill('Auditor-pass-2026');
      await p.getByTestId('login-submit').click();
      const secret = ((await p.getByTestId('enrol-secret').textContent()) ?? '').trim();
      await p.getByTestId('enrol-code').fill(currentTotp(secret));
      await p.getByTestId('enrol-submit').click();
      await p.waitForURL('**/overview');

      await p.goto(`${server.baseUrl}/terminals`);
      await p.getByTestId(`terminal-link-${SERIAL}`).waitFor();
      expect(await p.getByTestId('terminal-add').count()).toBe(0);
      expect(await p.getByTestId('terminal-import').count()).toBe(0);
      expect(await p.locator('[data-testid="terminal-table"] .ant-checkbox').count()).toBe(0);
      await p.getByTestId(`terminal-link-${SERIAL}`).click();
      await poll(() => p.getByTestId('terminal-title').textContent()).toBe(SERIAL);
      await p.getByTestId('terminal-fields').waitFor();
      for (const id of ['terminal-issue-code', 'terminal-lock', 'terminal-unlock', 'terminal-retire'])
        expect(await p.getByTestId(id).count()).toBe(0);
      await p.getByRole('tab', { name: '指令' }).click();
      await p.getByTestId('command-table').waitFor();
      expect(await p.getByTestId('command-send').count()).toBe(0);

      await p.goto(`${server.baseUrl}/apps/${encodeURIComponent(appId)}`);
      await p.getByTestId('version-digest-1.1.0').waitFor();
      expect(await p.getByTestId('app-upload').count()).toBe(0);
      expect(await p.getByTestId('version-approve-1.1.0').count()).toBe(0);
      await p.goto(`${server.baseUrl}/rollouts`);
      await p.getByTestId('rollout-table').locator('tr.ant-table-row').first().waitFor();
      expect(await p.getByTestId('rollout-add').count()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('reads the same pages in English on a tablet', async () => {
    await page.setViewportSize({ width: 800, height: 1280 });
    await page.getByTestId('lang-en').click();
    await poll(() => page.getByTestId('terminal-status').first().textContent()).toBe('Locked');
    expect(await page.getByRole('tab', { name: 'Commands' }).count()).toBe(1);
    await screenshot('terminal-detail-800x1280');
    await page.goto(`${server.baseUrl}/terminals`);
    await poll(() => page.getByTestId('terminal-table').locator('th').allTextContents()).toContain('Serial number');
    await screenshot('terminals-800x1280');
    await page.goto(`${server.baseUrl}/rollouts`);
    await poll(() => page.getByTestId('rollout-table').textContent()).toContain('Finished');
    await page.goto(`${server.baseUrl}/overview`);
    await poll(() => page.getByTestId('fleet-summary').textContent()).toContain('Locked');
    await screenshot('overview-fleet-800x1280');
    await page.getByTestId('lang-zh').click();
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(pageErrors).toEqual([]);
  });
});
