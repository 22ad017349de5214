import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { ADMIN_PASSWORD, currentTotp, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * The staff console in real Chromium against a real server (in this process, fresh SQLite):
 * sign-in with TOTP, a party, an account, a cash deposit typed in yuan, the statement, the
 * language switch, and a second submit of the same transfer form that must not pay twice.
 */
checkBrowser();

const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, tablet: { width: 800, height: 1280 } } as const;

describe.skipIf(!HAVE_CHROMIUM)('staff console in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'zh-CN' });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  /** Picks an option of an Ant Design Select by its visible text. */
  async function choose(testId: string, optionText: string): Promise<void> {
    await page.getByTestId(testId).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: optionText }).first().click();
  }

  async function apiJson<T>(url: string): Promise<T> {
    // Same origin, with the page's session cookie: what the console itself would see.
    return page.evaluate(async (u) => {
      const res = await fetch(u, { credentials: 'same-origin' });
      return (await res.json()) as unknown;
    }, url) as Promise<T>;
  }

  async function screenshot(name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
  }

  let accountId = '';

  it('signs in with password and a one-time code, after a wrong password', async () => {
    await page.goto(`${server.baseUrl}/`);
    await page.waitForURL('**/login');
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill('wrong-password-1');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toContain('用户名或密码错误');

    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-totp').fill(currentTotp(server.adminSecret));
    await page.getByTestId('login-submit').click();

    await page.waitForURL('**/overview');
    await page.getByTestId('kpi-accounts').waitFor();
    // The bank's six internal accounts (settlement, cash, fee income, suspense, switch and core clearing).
    expect(await page.getByTestId('kpi-accounts').textContent()).toContain('6');
    await page.getByTestId('daily-chart').locator('canvas').first().waitFor();
    await page.getByTestId('balances-table').waitFor();
    expect(await page.getByTestId('balances-table').textContent()).toContain('库存现金');
  });

  it('adds a branch under the bank and shows it in the organisation tree', async () => {
    await page.getByTestId('menu-organisations').click();
    await page.waitForURL('**/organisations');
    await page.getByTestId('org-add').click();
    await page.getByTestId('org-parent').click();
    await page.locator('.ant-select-tree-node-content-wrapper', { hasText: '青岛农村商业银行' }).click();
    await page.getByTestId('org-code').fill('QD-LS');
    await page.getByTestId('org-name').fill('崂山支行');
    await page.getByTestId('org-name-en').fill('Laoshan Branch');
    await page.getByTestId('org-submit').click();
    const branchRow = page.getByTestId('org-table').locator('tr.ant-table-row', { hasText: '崂山支行' });
    await branchRow.waitFor();
    expect(await branchRow.textContent()).toContain('支行');
    // Nested one level under the bank, whose row comes first.
    expect(await branchRow.getAttribute('class')).toContain('ant-table-row-level-1');
    expect(await page.getByTestId('org-table').locator('tr.ant-table-row').first().textContent()).toContain('青岛农村商业银行');
  });

  it('registers a party and opens a customer deposit account (2001) for it', async () => {
    await page.getByTestId('menu-parties').click();
    await page.waitForURL('**/parties');
    await page.getByTestId('party-add').click();
    await page.getByTestId('party-name').fill('王小明');
    await page.getByTestId('party-phone').fill('13800138000');
    await page.getByTestId('party-submit').click();
    await page.waitForURL(/\/parties\/[^/]+$/);
    await expect.poll(() => page.getByTestId('party-title').textContent()).toBe('王小明');

    await page.getByTestId('open-account').click();
    expect(await page.getByTestId('open-account-code').textContent()).toContain('2001');
    await page.getByTestId('open-account-submit').click();
    const link = page.locator('[data-testid^="account-link-"]').first();
    await link.waitFor();
    accountId = (await link.textContent()) ?? '';
    expect(accountId).not.toBe('');
    const table = await page.getByTestId('account-table').textContent();
    expect(table).toContain('个人存款账户');
    expect(table).toContain('¥0.00');
  });

  it('deposits 123.45 yuan in cash as 12345 fen, once, however often the form is submitted', async () => {
    await page.getByTestId('menu-transfers').click();
    await page.getByTestId('transfer-create').click();
    await page.waitForURL('**/transfers/new');
    await page.getByTestId('transfer-debit').fill('bank:cash');
    await page.getByTestId('transfer-credit').fill(accountId);
    await page.getByTestId('transfer-amount').fill('123.45');
    await expect.poll(() => page.getByTestId('transfer-amount-preview').textContent()).toBe('¥123.45');
    await choose('transfer-code', '现金存入');
    await page.getByTestId('transfer-reference').fill('E2E cash deposit');

    // A double click, then a deliberate second submit of the same form.
    await page.getByTestId('transfer-submit').dblclick();
    const result = page.getByTestId('transfer-result');
    await result.waitFor();
    expect(await result.getAttribute('data-replayed')).toBe('false');
    expect(await page.getByTestId('transfer-result-amount').textContent()).toBe('¥123.45');
    const firstId = await page.getByTestId('transfer-result-id').textContent();

    await page.getByTestId('transfer-submit').click();
    await expect.poll(() => result.getAttribute('data-replayed')).toBe('true');
    expect(await page.getByTestId('transfer-result-id').textContent()).toBe(firstId);

    const transfers = await apiJson<{ items: { id: string; amount: number; code: number }[] }>(
      `/api/v1/transfers?account_id=${encodeURIComponent(accountId)}&limit=50`,
    );
    expect(transfers.items).toHaveLength(1);
    expect(transfers.items[0]).toMatchObject({ id: firstId, amount: 12345, code: 2 });
  });

  it('shows the deposit on the account statement, newest first', async () => {
    await page.getByTestId('transfer-result-credit-link').click();
    await page.waitForURL(`**/accounts/${encodeURIComponent(accountId)}`);
    await expect.poll(() => page.getByTestId('account-balance').textContent()).toBe('¥123.45');
    const rows = page.getByTestId('statement-table').locator('tr.statement-row');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const row = (await rows.first().textContent()) ?? '';
    expect(row).toContain('¥123.45');
    expect(row).toContain('现金存入');
    expect(row).toContain('E2E cash deposit');
    await screenshot('statement-1280x800');
    await page.setViewportSize(VIEWPORTS.tablet);
    await screenshot('statement-800x1280');
    await page.setViewportSize(VIEWPORTS.desktop);
  });

  it('switches to English and back, and remembers the choice', async () => {
    await page.getByTestId('lang-en').click();
    await expect.poll(() => page.getByTestId('statement-table').locator('th').allTextContents()).toContain('Balance after');
    expect(await page.getByTestId('menu-accounts').textContent()).toContain('Accounts');
    expect(await page.getByTestId('statement-table').textContent()).toContain('Cash deposit');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en-US');

    await page.reload();
    await expect.poll(() => page.getByTestId('menu-accounts').textContent()).toContain('Accounts');
    await page.getByTestId('lang-zh').click();
    await expect.poll(() => page.getByTestId('statement-table').locator('th').allTextContents()).toContain('交易后余额');
    expect(await page.getByTestId('menu-accounts').textContent()).toContain('账户');
  });

  it('draws the overview with the deposit counted', async () => {
    await page.getByTestId('menu-overview').click();
    await page.waitForURL('**/overview');
    await expect.poll(() => page.getByTestId('kpi-amount').textContent()).toContain('¥123.45');
    expect(await page.getByTestId('kpi-transfers').textContent()).toContain('1');
    await page.getByTestId('daily-chart').locator('canvas').first().waitFor();
    await screenshot('overview-1280x800');
    await page.setViewportSize(VIEWPORTS.tablet);
    await screenshot('overview-800x1280');
    await page.setViewportSize(VIEWPORTS.desktop);
  });

  it('enrols an auditor in TOTP at first sign-in', async () => {
    await server.addUser('audit.one', 'auditor', 'Auditor-pass-2026');
    const other = await browser.newContext({ viewport: VIEWPORTS.tablet, locale: 'en-US' });
    try {
      const p = await other.newPage();
      await p.goto(`${server.baseUrl}/login`);
      await p.getByTestId('login-username').fill('audit.one');
      await p.getByTestId('login-password').fill('Auditor-pass-2026');
      await p.getByTestId('login-submit').click();
      const secret = ((await p.getByTestId('enrol-secret').textContent()) ?? '').trim();
      expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
      expect(await p.getByTestId('enrol-url').textContent()).toContain('otpauth://totp/');
      await p.getByTestId('enrol-code').fill(currentTotp(secret));
      await p.getByTestId('enrol-submit').click();
      await p.waitForURL('**/overview');
      // An auditor reads but does not write: no transfer form in reach.
      expect(await p.getByTestId('menu-audit').count()).toBe(1);
      await p.goto(`${server.baseUrl}/transfers/new`);
      await p.locator('.ant-result-403').waitFor();
    } finally {
      await other.close();
    }
  });

  it('logs out', async () => {
    await page.getByTestId('logout').click();
    await page.waitForURL('**/login');
    const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
    expect(me).toBe(401);
    expect(pageErrors).toEqual([]);
  });
});
