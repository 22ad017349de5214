import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../server/src/identity/users.js';
import { CASHIER, SUPERVISOR, setupPaymentsWorld, type PaymentsWorld } from '../../server/src/payments/test-support.js';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { startTerminalServer, type TerminalServer } from './support/terminal-server.js';

/**
 * The cashier app in real Chromium against the real server (fresh SQLite): a payments world
 * (merchant, fee plan, funded customer with a card and PIN, cashier 01 and supervisor 02) from
 * the merchants part's setupPaymentsWorld; staff give the merchant a tablet through the API; the
 * terminal app activates, signs on, the cashier logs in, and in the cashier app: a sale with card
 * and PIN (PIN block built in the shell under the session PIN key), its receipt, a void that asks
 * for the supervisor, a partial refund, a sale whose answer is lost (→ reversal through the
 * outbox, the server shows the sale reversed and the money back), and a balanced batch close.
 */
checkBrowser();

const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const TABLET = { width: 800, height: 1280 } as const;
/** Where Debian's zbar-tools is installed, the QR code on screen is decoded for real. */
// CI installs zbar-tools; elsewhere the decoding checks run when it is there.
const HAVE_ZBAR = process.env.CI === 'true' || spawnSync('zbarimg', ['--version']).status === 0;

interface TxnRow {
  id: string;
  type: string;
  status: string;
  client_id: string;
  terminal_id: string | null;
  amount: number;
  original_id: string | null;
}

describe.skipIf(!HAVE_CHROMIUM)('cashier app in Chromium', () => {
  let server: TerminalServer;
  let world: PaymentsWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let app: FrameLocator;
  const pageErrors: string[] = [];
  let terminalId = '';
  let serial = '';
  let opening = 0;
  let firstSaleId = '';
  let customerToken = '';

  /** A call of the customer's mobile API (bearer session of a `customer` user). */
  async function customer<T>(url: string, body: unknown): Promise<T> {
    const res = await fetch(`${server.baseUrl}/api/v1${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${url} → ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  const rows = () =>
    (server.db as unknown as Kysely<{ pay_transactions: TxnRow }>)
      .selectFrom('pay_transactions')
      .selectAll()
      .where('terminal_id', '=', terminalId)
      .execute();

  beforeAll(async () => {
    server = await startTerminalServer();
    world = await setupPaymentsWorld({
      app: server.app,
      db: server.db,
      secrets: server.secrets,
      bankId: server.bankId,
      adminToken: server.adminToken,
      payments: server.payments,
    });
    opening = await world.balanceOf(world.customerAccount);

    // Staff give the merchant a tablet with the convenience-store apps (as in the console).
    serial = `XWC${Date.now() % 1_000_000_000}`;
    terminalId = (
      await server.api<{ id: string }>('POST', '/api/v1/terminals', {
        serial,
        model: 'Sunmi T2',
        kind: 'tablet',
        owner_party_id: world.merchant.partyId,
      })
    ).id;
    const groupId = (await server.api<{ id: string }>('POST', '/api/v1/terminal-groups', { org_id: server.bankId, name: '收银测试组' })).id;
    await server.api('POST', `/api/v1/terminal-groups/${groupId}/members`, { terminal_ids: [terminalId] });
    const sets = await server.api<{ id: string; code: string }[] | { items: { id: string; code: string }[] }>('GET', '/api/v1/app-sets');
    const store = (Array.isArray(sets) ? sets : sets.items).find((s) => s.code === 'convenience_store');
    if (!store) throw new Error('no convenience_store app set');
    await server.api('POST', `/api/v1/app-sets/${store.id}/assignments`, { group_id: groupId });

    browser = await launchChromium();
    // Without a service worker in the way, Playwright sees (and can cut) the shell's requests.
    context = await browser.newContext({ viewport: TABLET, locale: 'zh-CN', serviceWorkers: 'block' });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `cashier-${name}.png`) });

  async function typeAmount(yuan: string): Promise<void> {
    for (const key of yuan) await app.getByTestId(`amount-key-${key}`).click();
    await app.getByTestId('amount-ok').click();
  }

  async function cardAndPin(): Promise<void> {
    await app.getByTestId('card-pan').fill(world.card.pan);
    await app.getByTestId('card-expiry').fill(world.card.expiry);
    await app.getByTestId('card-ok').click();
    for (const digit of world.card.pin) await app.getByTestId(`pin-key-${digit}`).click();
    expect(await app.getByTestId('pin-dots').getAttribute('data-count')).toBe(String(world.card.pin.length));
  }

  async function sale(yuan: string): Promise<string> {
    await app.getByTestId('cashier-sale').click();
    await typeAmount(yuan);
    await cardAndPin();
    await app.getByTestId('pin-ok').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    expect(await result.getAttribute('data-code')).toBe('00');
    return (await result.getAttribute('data-txn-id'))!;
  }

  async function openFromList(id: string): Promise<void> {
    await app.getByTestId('cashier-list').click();
    await app.getByTestId(`txn-${id}`).click();
    await app.getByTestId('txn-detail').waitFor();
  }

  it('activates, signs on, logs the cashier in and opens the cashier app', async () => {
    await page.goto(`${server.baseUrl}/terminal/`);
    await page.getByTestId('activation-serial').fill(serial);
    const issued = await server.api<{ code: string }>('POST', `/api/v1/terminals/${terminalId}/activation-codes`, {});
    await page.getByTestId('activation-code').fill(issued.code);
    await page.getByTestId('activation-submit').click();
    await page.getByTestId('operator-no').fill(CASHIER.operatorNo);
    await page.getByTestId('operator-password').fill(CASHIER.password);
    await page.getByTestId('operator-submit').click();
    await page.getByTestId('launcher').waitFor();
    await expect.poll(() => page.getByTestId('app-tile-cashier').getAttribute('data-state')).toBe('ready');
    await page.getByTestId('app-tile-cashier').click();
    app = page.frameLocator('[data-testid="app-frame-cashier"]');
    await expect.poll(() => app.getByTestId('cashier-operator').getAttribute('data-role')).toBe('cashier');
    await shot('home');
  });

  it('sells with card and PIN: approved, with the response text; the receipt shows the last 4 digits only', async () => {
    await app.getByTestId('cashier-sale').click();
    await typeAmount('123.45');
    await cardAndPin();
    await shot('pin');
    await app.getByTestId('pin-ok').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    expect(await app.getByTestId('cashier-result-text').textContent()).toContain('交易成功');
    firstSaleId = (await result.getAttribute('data-txn-id'))!;
    await shot('approved');
    expect(await world.balanceOf(world.customerAccount)).toBe(opening - 12345);

    await app.getByTestId('cashier-receipt').click();
    const receipt = (await app.getByTestId('receipt-customer').textContent())!;
    expect(receipt).toContain(world.card.last4);
    expect(receipt).toContain('123.45');
    expect(receipt).not.toContain(world.card.pan);
    expect(receipt).not.toContain(world.card.pan.slice(0, 6));
    const sms = await app.getByTestId('receipt-sms').inputValue();
    expect(sms).toContain(world.card.last4);
    expect(sms).toContain('¥123.45');
    expect(sms).not.toContain(world.card.pan);
    await shot('receipt');
    // Printing goes through the shell (a sandboxed frame may not print): plain text, 58 mm.
    await app.getByTestId('receipt-print').click();
    await expect.poll(() => page.locator('#xw-print').textContent()).toContain(world.card.last4);
    const printed = (await page.locator('#xw-print').textContent())!;
    expect(printed).toContain('商户存根');
    expect(printed).toContain('持卡人存根');
    expect(printed).not.toContain(world.card.pan);
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#xw-print').isVisible()).toBe(true);
    expect(await page.getByTestId('app-frame-cashier').isVisible()).toBe(false);
    await shot('receipt-print');
    await page.emulateMedia({ media: 'screen' });
    await app.getByTestId('receipt-done').click();
    // Neither the PIN nor the PAN was left anywhere the shell keeps things.
    const stored = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('xiaowei-terminal');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(new Error(String(r.error)));
      });
      const all = await new Promise<unknown[]>((resolve) => {
        const r = db.transaction('kv').objectStore('kv').getAll();
        r.onsuccess = () => resolve(r.result as unknown[]);
      });
      return JSON.stringify(all) + JSON.stringify(localStorage);
    });
    expect(stored).not.toContain(world.card.pan);
    expect(stored).not.toContain(world.card.pin);
  });

  it('a wrong PIN is declined with the bank’s response text, and no money moves', async () => {
    const before = await world.balanceOf(world.customerAccount);
    await app.getByTestId('cashier-sale').click();
    await typeAmount('9.99');
    await app.getByTestId('card-pan').fill(world.card.pan);
    await app.getByTestId('card-expiry').fill(world.card.expiry);
    await app.getByTestId('card-ok').click();
    const wrong = world.card.pin === '111111' ? '222222' : '111111';
    for (const digit of wrong) await app.getByTestId(`pin-key-${digit}`).click();
    await app.getByTestId('pin-ok').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('false');
    expect(await result.getAttribute('data-code')).toBe('55');
    expect(await app.getByTestId('cashier-result-text').textContent()).toContain('密码错误');
    await shot('declined');
    await app.getByTestId('cashier-done').click();
    expect(await world.balanceOf(world.customerAccount)).toBe(before);
  });

  it('voids the sale: the cashier is asked for the supervisor, who signs on and voids', async () => {
    await openFromList(firstSaleId);
    await app.getByTestId('action-void').click();
    await app.getByTestId('supervisor').waitFor();
    await app.getByTestId('supervisor-no').fill(SUPERVISOR.operatorNo);
    await app.getByTestId('supervisor-password').fill('wrong-password');
    await app.getByTestId('supervisor-submit').click();
    await app.getByTestId('supervisor-error').waitFor();
    await app.getByTestId('supervisor-password').fill(SUPERVISOR.password);
    await app.getByTestId('supervisor-submit').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    await app.getByTestId('cashier-done').click();
    expect(await app.getByTestId('cashier-operator').getAttribute('data-role')).toBe('supervisor');
    const voided = (await rows()).find((r) => r.id === firstSaleId);
    expect(voided?.status).toBe('voided');
    expect(await world.balanceOf(world.customerAccount)).toBe(opening);
  });

  it('refunds part of another sale', async () => {
    const id = await sale('50');
    await app.getByTestId('cashier-done').click();
    await openFromList(id);
    await app.getByTestId('action-refund').click();
    await typeAmount('20');
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    await app.getByTestId('cashier-done').click();
    const refund = (await rows()).find((r) => r.type === 'refund');
    expect(refund).toMatchObject({ original_id: id, amount: 2000, status: 'approved' });
    expect(await world.balanceOf(world.customerAccount)).toBe(opening - 3000);
  });

  it('a sale whose answer is lost is reversed through the outbox and shown as cancelled', async () => {
    // The request reaches the server (which approves it); the terminal never sees the answer.
    let cut = 0;
    await page.route('**/api/v1/terminal/pay/sale', async (route) => {
      cut += 1;
      await route.fetch().catch(() => undefined);
      await route.abort('connectionreset');
    });
    await app.getByTestId('cashier-sale').click();
    await typeAmount('8.8');
    await cardAndPin();
    await app.getByTestId('pin-ok').click();
    const cancelled = app.getByTestId('cashier-cancelled');
    await cancelled.waitFor();
    await shot('cancelled');
    await page.unroute('**/api/v1/terminal/pay/sale');
    expect(cut).toBe(1);
    const clientId = (await cancelled.getAttribute('data-client-id'))!;
    await expect
      .poll(async () => (await rows()).find((r) => r.type === 'sale' && r.client_id === clientId)?.status, { timeout: 30_000 })
      .toBe('reversed');
    const reversals = server.seen.filter((s) => s.method === 'POST' && s.url.startsWith('/api/v1/terminal/pay/reversal'));
    expect(reversals).toHaveLength(1);
    expect(reversals[0]!.idempotencyKey).not.toBeNull();
    expect(await world.balanceOf(world.customerAccount)).toBe(opening - 3000);
    await app.getByTestId('cashier-done').click();
  });

  it('shows a dynamic QR code; the customer pays it on the mobile API and the cashier sees it paid', async () => {
    const username = `cust-${Date.now()}`;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await createUser(server.db as any, {
      username,
      display_name: username,
      role: 'customer',
      org_id: world.orgId,
      merchant_id: world.customer.partyId,
      password: 'Passw0rd-for-tests',
    });
    const login = await fetch(`${server.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'Passw0rd-for-tests' }),
    });
    customerToken = ((await login.json()) as { token: string }).token;

    await app.getByTestId('cashier-qr').click();
    await typeAmount('12');
    const screen = app.getByTestId('qr-screen');
    await screen.waitFor();
    const payload = await app.getByTestId('qr-payload').inputValue();
    expect(payload).toMatch(/^000201/);
    if (HAVE_ZBAR) {
      const file = path.join(SCREENSHOTS, 'cashier-qr-code.png');
      await app.getByTestId('qr-svg').screenshot({ path: file });
      expect(execFileSync('zbarimg', ['-q', '--raw', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()).toBe(
        payload,
      );
    }
    await shot('qr');
    const paid = await customer<{ approved: boolean }>('/pay/qr/pay', {
      clientId: `m-${Date.now()}`,
      payload,
      accountId: world.customerAccount,
    });
    expect(paid.approved).toBe(true);
    const result = app.getByTestId('cashier-result');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-approved')).toBe('true');
    expect(await app.getByTestId('cashier-result-text').textContent()).toContain('00');
    await app.getByTestId('cashier-done').click();
  });

  it('collects with the customer’s one-time payment code', async () => {
    const { code } = await customer<{ code: string }>('/pay/codes', { accountId: world.customerAccount });
    await app.getByTestId('cashier-scan').click();
    await typeAmount('4.5');
    await app.getByTestId('scan-code').fill(code);
    await app.getByTestId('scan-ok').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    await app.getByTestId('cashier-done').click();
  });

  it('pre-authorises with card and PIN, then completes from the day’s list', async () => {
    await app.getByTestId('cashier-preauth').click();
    await typeAmount('100');
    await cardAndPin();
    await app.getByTestId('pin-ok').click();
    const result = app.getByTestId('cashier-result');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    const preauthId = (await result.getAttribute('data-txn-id'))!;
    await app.getByTestId('cashier-done').click();
    await openFromList(preauthId);
    await app.getByTestId('action-completion').click();
    await typeAmount('105');
    await result.waitFor();
    expect(await result.getAttribute('data-approved')).toBe('true');
    await app.getByTestId('cashier-done').click();
    expect((await rows()).find((r) => r.id === preauthId)?.status).toBe('completed');
  });

  it('closes the batch with the terminal’s own totals: balanced', async () => {
    await app.getByTestId('cashier-batch').click();
    const local = app.getByTestId('batch-local');
    await local.waitFor();
    // Sale 1 voided, sale 2 standing, the lost sale reversed (never journalled), one refund;
    // the QR sale, the code sale and the completion (the pre-auth itself is no sale).
    expect(await local.getAttribute('data-sale-count')).toBe('4');
    expect(await local.getAttribute('data-sale-amount')).toBe(String(5000 + 1200 + 450 + 10500));
    expect(await local.getAttribute('data-refund-count')).toBe('1');
    expect(await local.getAttribute('data-refund-amount')).toBe('2000');
    expect(await app.getByTestId('batch-host').getAttribute('data-sale-amount')).toBe(String(5000 + 1200 + 450 + 10500));
    await shot('batch');
    await app.getByTestId('batch-close').click();
    const result = app.getByTestId('batch-result');
    await result.waitFor();
    expect(await result.getAttribute('data-result')).toBe('balanced');
    await shot('batch-closed');
    expect(await result.getAttribute('data-uploaded')).toBe('false');
  });

  it('a batch whose terminal totals differ closes as mismatch and uploads the terminal’s lines', async () => {
    await app.getByTestId('batch-next').click();
    await app.getByTestId('batch-back').click();
    const id = await sale('7');
    await app.getByTestId('cashier-done').click();
    // The terminal lost its record of that sale (storage wiped, say): its totals are now short.
    await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('xiaowei-terminal');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(new Error(String(r.error)));
      });
      await new Promise<void>((resolve) => {
        const tx = db.transaction('kv', 'readwrite');
        const store = tx.objectStore('kv');
        const get = store.get('app-data:cashier:journal');
        get.onsuccess = () => {
          const journal = get.result as { batchNo: number; txns: unknown[] };
          store.put({ ...journal, txns: [] }, 'app-data:cashier:journal');
        };
        tx.oncomplete = () => resolve();
      });
    });
    await app.getByTestId('cashier-batch').click();
    await expect.poll(() => app.getByTestId('batch-local').getAttribute('data-sale-count')).toBe('0');
    expect(await app.getByTestId('batch-host').getAttribute('data-sale-amount')).toBe('700');
    await app.getByTestId('batch-close').click();
    const result = app.getByTestId('batch-result');
    await result.waitFor();
    expect(await result.getAttribute('data-result')).toBe('mismatch');
    await expect.poll(() => result.getAttribute('data-uploaded')).toBe('true');
    await shot('batch-mismatch');
    expect((await rows()).find((r) => r.id === id)?.status).toBe('approved');
    expect(pageErrors).toEqual([]);
  });
});
