import type { Kysely } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwitchTables } from '../../server/src/gateway/switch/tables.js';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { openMenu, saveScreenshot } from './support/console-page.js';
import { ADMIN_PASSWORD, currentTotp, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * The card-switch page's store-and-forward exceptions in real Chromium against a real server (fresh
 * SQLite, no switch configured): an advice the switch refused for good and one raised for too many
 * attempts show in the status counts and under the "exceptions" filter; staff close one with a note
 * (the dialog needs the note) and send the other again; in zh-CN, then in English.
 */
checkBrowser();

const NOTE = '已与银联线下核对，冲正作废';

function poll<T>(read: () => Promise<T> | T) {
  return expect.poll(read, { timeout: 20_000 });
}

describe.skipIf(!HAVE_CHROMIUM)('card switch store-and-forward exceptions in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const refused = 'SAFREFUSED0001';
  const retries = 'SAFRETRIES0001';

  beforeAll(async () => {
    server = await startConsoleServer();
    // Two advices as the forwarder leaves them (no switch here): refused '12' for good, and still queued after 10 '91's.
    const db = server.db as unknown as Kysely<SwitchTables>;
    const now = Date.now() * 1000;
    const row = (id: string, extra: Partial<SwitchTables['gw_saf']>): SwitchTables['gw_saf'] => ({
      id,
      txn_id: `txn-${id}`,
      kind: 'reversal',
      original_txn_id: `sale-${id}`,
      rrn: id.slice(-12),
      reason: '17',
      amount: 2_500,
      state: 'queued',
      attempts: 1,
      next_attempt_at: now + 3_600_000_000,
      response_code: null,
      settlement_date: null,
      last_error: null,
      created_at: now,
      updated_at: now,
      acknowledged_at: null,
      exception: null,
      exception_at: null,
      note: null,
      closed_by: null,
      closed_at: null,
      ...extra,
    });
    await db
      .insertInto('gw_saf')
      .values([
        row(refused, { state: 'failed', response_code: '12', last_error: 'code_12', exception: 'refused', exception_at: now }),
        row(retries, { attempts: 10, response_code: '91', last_error: 'code_91', exception: 'retries', exception_at: now }),
      ])
      .execute();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('shows the exceptions, closes one with a note and queues the other again', async () => {
    await page.goto(`${server.baseUrl}/login`);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-totp').fill(currentTotp(server.adminSecret));
    await page.getByTestId('login-submit').click();
    await page.waitForURL('**/overview');

    await openMenu(page, 'switchLink', 'gateway');
    await page.waitForURL('**/gateway/switch');
    await poll(() => page.getByTestId('switch-saf-exceptions').textContent()).toBe('被永久拒绝 1 · 多次重发失败 1');
    expect(await page.getByTestId('switch-saf-counts').textContent()).toContain('被拒（已停发） 1');
    expect(await page.getByTestId('switch-status').textContent()).toContain('有 2 笔冲正或退货通知需要处理');

    await page.getByTestId('switch-saf-filter').getByText('待处理异常').click();
    const table = page.getByTestId('switch-saf-table');
    await poll(() => table.locator('tr.ant-table-row').count()).toBe(2);
    expect(await page.getByTestId(`switch-saf-exception-${refused}`).textContent()).toBe('被永久拒绝');
    expect(await page.getByTestId(`switch-saf-exception-${retries}`).textContent()).toBe('多次重发失败');
    await saveScreenshot(page, 'gateway-switch-saf-exceptions-1280x800');

    // Close the refused one: OK stays disabled until there is a note.
    await page.getByTestId(`switch-saf-close-${refused}`).click();
    const dialog = page.getByRole('dialog', { name: '关闭存储转发异常' });
    expect(await dialog.getByTestId('switch-saf-close-ok').isDisabled()).toBe(true);
    await dialog.getByTestId('switch-saf-close-note').fill(NOTE);
    await dialog.getByTestId('switch-saf-close-ok').click();
    await poll(() => table.locator('tr.ant-table-row').count()).toBe(1);
    await poll(() => page.getByTestId('switch-saf-exceptions').textContent()).toBe('被永久拒绝 0 · 多次重发失败 1');

    // Send the other again: no switch here, so it stays queued, due now.
    await page.getByTestId(`switch-saf-retry-${retries}`).click();
    await poll(() => table.locator('tr.ant-table-row').count()).toBe(0);
    await page.getByTestId('switch-saf-filter').getByText('已关闭').click();
    await poll(() => table.textContent()).toContain(NOTE);

    const auditDb = server.db as unknown as Kysely<{ audit_log: { action: string; outcome: string } }>;
    const audit = await auditDb
      .selectFrom('audit_log')
      .select(['action', 'outcome'])
      .where('action', 'like', 'gateway.switch_saf_%')
      .execute();
    const actions = audit.map((a) => `${a.action} ${a.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['gateway.switch_saf_close ok', 'gateway.switch_saf_retry ok']));

    // English.
    await page.getByTestId('lang-en').click();
    await poll(() => page.getByTestId('switch-saf-exceptions').textContent()).toBe('Refused for good 0 · Too many attempts 0');
    expect(pageErrors).toEqual([]);
  });
});
