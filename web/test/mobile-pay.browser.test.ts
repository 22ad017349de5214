import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../server/src/identity/users.js';
import { setupPaymentsWorld, type PaymentsWorld } from '../../server/src/payments/test-support.js';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { ADMIN_PASSWORD, currentTotp, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * The customer's mobile page (/m/pay) in real Chromium at phone width against a real server:
 * sign in as a customer, pay a dynamic QR order a signed-on terminal created, see success (and
 * the terminal sees the order paid), then show a payment code that the terminal takes.
 */
checkBrowser();

const PHONE = { width: 390, height: 844 };
const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const CUSTOMER = { username: 'villager.li', password: 'Villager-pass-2026' };

interface TxnReplyLike {
  approved: boolean;
  amount: number;
  responseCode: string;
}

describe.skipIf(!HAVE_CHROMIUM)('customer mobile payments in Chromium', () => {
  let server: ConsoleServer;
  let world: PaymentsWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminToken = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startConsoleServer();
    const login = await server.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD, totp: currentTotp(server.adminSecret) } });
    adminToken = login.json<{ token: string }>().token;
    world = await setupPaymentsWorld({ app: server.app, db: server.db, secrets: server.payments.deps.secrets, bankId: server.bankId, adminToken, payments: server.payments }, { balance: 50_000 });
    await createUser(server.db, { username: CUSTOMER.username, display_name: '李大姐', role: 'customer', org_id: world.orgId, merchant_id: world.customer.partyId, password: CUSTOMER.password });

    browser = await launchChromium();
    context = await browser.newContext({ viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('signs in as a customer and shows the own account', async () => {
    await page.goto(`${server.baseUrl}/m/pay`);
    await page.getByTestId('login-username').fill(CUSTOMER.username);
    await page.getByTestId('login-password').fill(CUSTOMER.password);
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('mobile-balance').textContent()).toBe('¥500.00');
    // Still the mobile page, not the staff console.
    expect(new URL(page.url()).pathname).toBe('/m/pay');
  });

  it('pays a dynamic order the terminal created, once, and the terminal sees it paid', async () => {
    const order = await world.terminal.request<{ orderId: string; payload: string }>('POST', '/api/v1/terminal/pay/qr/orders', { clientId: 'browser-order-1', amount: 1_288 });
    await page.getByTestId('mobile-payload').fill(order.payload);
    await page.getByTestId('mobile-read').click();
    await expect.poll(() => page.getByTestId('mobile-merchant').textContent()).toContain('测试商户');
    expect(await page.getByTestId('mobile-order-amount').textContent()).toBe('¥12.88');
    await screenshot('mobile-pay-confirm');

    await page.getByTestId('mobile-confirm').click();
    await expect.poll(() => page.getByTestId('mobile-result-title').textContent()).toBe('支付成功');
    expect(await page.getByTestId('mobile-result-code').textContent()).toBe('00');
    await screenshot('mobile-pay-result');
    await expect.poll(() => page.getByTestId('mobile-balance').textContent()).toBe('¥487.12');

    const state = await world.terminal.request<{ status: string; transaction: TxnReplyLike | null }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`);
    expect(state.status).toBe('paid');
    expect(state.transaction).toMatchObject({ approved: true, amount: 1_288 });
    expect(await world.balanceOf(world.customerAccount)).toBe(50_000 - 1_288);
  });

  it('shows a one-time payment code that the terminal takes, in English too', async () => {
    await page.getByTestId('mobile-again').click();
    await page.getByTestId('lang-en').click();
    await page.getByTestId('mobile-tab-code').click();
    await page.getByTestId('mobile-code-issue').click();
    const shown = (await page.getByTestId('mobile-code').textContent()) ?? '';
    expect(shown).toMatch(/^62\d\d \d{4} \d{4} \d{6}$/);
    expect(await page.getByTestId('mobile-code-expires').textContent()).toMatch(/Expires in \d+ s/);
    await page.getByTestId('mobile-code-qr').locator('path').waitFor();
    await screenshot('mobile-pay-code-en');

    const taken = await world.terminal.request<TxnReplyLike>('POST', '/api/v1/terminal/pay/qr/scan', { clientId: 'browser-scan-1', amount: 300, code: shown.replace(/ /g, '') });
    expect(taken).toMatchObject({ approved: true, amount: 300, responseCode: '00' });
    expect(await world.balanceOf(world.customerAccount)).toBe(50_000 - 1_288 - 300);
    expect(pageErrors).toEqual([]);
  });

  it('a payment a risk rule holds for review says so: held for the bank’s review, the amount reserved', async () => {
    const rule = await server.app.inject({
      method: 'POST',
      url: '/api/v1/risk/rules',
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { org_id: world.orgId, name: '扫码大额转审核', kind: 'amount_limit', mode: 'active', outcome: 'review', params: { scope: 'merchant', max_amount: 2_000, types: ['qr_sale'] } },
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const order = await world.terminal.request<{ orderId: string; payload: string }>('POST', '/api/v1/terminal/pay/qr/orders', { clientId: 'browser-order-2', amount: 3_000 });
    await page.getByTestId('mobile-tab-pay').click();
    await page.getByTestId('mobile-payload').fill(order.payload);
    await page.getByTestId('mobile-read').click();
    await expect.poll(() => page.getByTestId('mobile-order-amount').textContent()).toBe('¥30.00');
    await page.getByTestId('mobile-confirm').click();
    await expect.poll(() => page.getByTestId('mobile-result-title').textContent()).toBe('Held for the bank’s review');
    expect(await page.getByTestId('mobile-result-code').textContent()).toBe('09');
    expect(await page.getByTestId('mobile-result-held').textContent()).toContain('reserved');
    await screenshot('mobile-pay-held-en');
    const state = await world.terminal.request<{ status: string; transaction: (TxnReplyLike & { status: string }) | null }>('GET', `/api/v1/terminal/pay/qr/orders/${order.orderId}`);
    expect(state.transaction).toMatchObject({ status: 'held', approved: false, amount: 3_000 });
    expect(pageErrors).toEqual([]);
  });
});
