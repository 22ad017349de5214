import { createCipheriv } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_TEST_ZMK, SIM_TEST_ZMK_COMPONENTS } from '../../server/src/gateway/switch-sim/index.js';
import { actionsFor, splitPlatformState } from '../src/pages/gateway/recon/model.js';
import { HAVE_CHROMIUM, checkBrowser, launchChromium } from './support/browser.js';
import { chooseOption, consoleApi, openMenu, saveScreenshot } from './support/console-page.js';
import { ADMIN_PASSWORD, currentTotp, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * The channel-gateway pages of the staff console in real Chromium against a real server (fresh
 * SQLite, no card switch configured): the card-switch page says the link is not configured and
 * holds the zone master key ceremony with the simulator's two test components, showing the check
 * value; a conventional POS terminal of an enrolled merchant is registered with a generated master
 * key whose components are shown once, then re-keyed from typed components; a switch settlement file
 * with a sale the platform never saw is imported and its exception written off with a note; the
 * pages in English; and an auditor who sees them without any action.
 */
checkBrowser();

/** The server's XIAOWEI_ACQUIRER_ID default. */
const ACQUIRER_ID = '04581000';
const SERIAL = 'XW-POS-0001';
const TID = 'XW000001';
const MERCHANT = '青山农资店';
const SETTLEMENT_DATE = '2025-06-30';
const UNKNOWN_RRN = 'R00000000001';
const NOTE = '转接方多清算一笔，已与银联核实后核销';
/** Components typed by custodians for the re-key (32 hex each): the first two XOR to a degenerate key (equal halves). */
const REKEY_COMPONENTS = ['0123456789ABCDEF0123456789ABCDEF', 'FEDCBA9876543210FEDCBA9876543210', '112233445566778899AABBCCDDEEFF00'] as const;

/** Waits for a value on screen (vitest's default of one second is short on a busy 2-core machine). */
function poll<T>(read: () => Promise<T> | T) {
  return expect.poll(read, { timeout: 20_000 });
}

/** Key check value of a double-length TDES key: the first 3 bytes of E(key, 8 zero bytes), hex upper. */
function kcvOf(keyHex: string): string {
  const cipher = createCipheriv('des-ede-ecb', Buffer.from(keyHex, 'hex'), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.alloc(8)), cipher.final()]).subarray(0, 3).toString('hex').toUpperCase();
}

function xorHex(parts: readonly string[]): string {
  const out = Buffer.alloc(parts[0]!.length / 2);
  for (const part of parts) {
    const b = Buffer.from(part, 'hex');
    for (let i = 0; i < out.length; i++) out[i]! ^= b[i]!;
  }
  return out.toString('hex').toUpperCase();
}

/** A settlement file of the switch (docs/switch-sim.md): one SALE the platform does not know. */
function settlementFile(): string {
  const mmdd = SETTLEMENT_DATE.slice(5, 7) + SETTLEMENT_DATE.slice(8, 10);
  return [
    `H,${ACQUIRER_ID},${SETTLEMENT_DATE},${SETTLEMENT_DATE}T15:00:00.123Z`,
    `D,${UNKNOWN_RRN},SALE,2500,D,000007,${mmdd}140512,T0000001,104581000000001,621999*********0018,000002,`,
    'T,1,2500,0,2500',
    '',
  ].join('\n');
}

/** i18next answers a missing key with the key itself: none may reach the screen. */
const RAW_KEY = /\b(states|status|zmk|saf|file|exc|kind|type|action|filter|statuses|reasons|kinds)\.[A-Za-z_]+/;
const CJK = /[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]/g;

describe('console helpers of the gateway pages', () => {
  it('computes the published test ZMK’s check value from its two components', () => {
    expect(xorHex(SIM_TEST_ZMK_COMPONENTS)).toBe(SIM_TEST_ZMK);
    // The well-known KCV of 0123456789ABCDEF FEDCBA9876543210.
    expect(kcvOf(SIM_TEST_ZMK)).toBe('08D7B4');
  });

  it('offers reverse only for a sale of ours the switch is missing', () => {
    expect(actionsFor({ kind: 'missing_on_switch', type: 'SALE', platform_txn_id: 't1' })).toEqual(['write_off', 'reverse', 'accept']);
    expect(actionsFor({ kind: 'missing_on_switch', type: 'SALE', platform_txn_id: null })).toEqual(['write_off', 'accept']);
    expect(actionsFor({ kind: 'missing_on_switch', type: 'REFUND', platform_txn_id: 't1' })).toEqual(['write_off', 'accept']);
    expect(actionsFor({ kind: 'missing_on_platform', type: 'SALE', platform_txn_id: null })).toEqual(['write_off', 'accept']);
    expect(actionsFor({ kind: 'amount_mismatch', type: 'SALE', platform_txn_id: 't1' })).toEqual(['write_off', 'accept']);
  });

  it('splits the journal state the server reports into a word to translate and the rest', () => {
    expect(splitPlatformState('approved')).toEqual({ state: 'approved', rest: '', raw: 'approved' });
    expect(splitPlatformState('rejected 13')).toEqual({ state: 'rejected', rest: '13', raw: 'rejected 13' });
    expect(splitPlatformState('unknown 2025-06-30')).toEqual({ state: 'unknown', rest: '2025-06-30', raw: 'unknown 2025-06-30' });
    expect(splitPlatformState('something new')).toEqual({ state: undefined, rest: 'new', raw: 'something new' });
  });
});

describe.skipIf(!HAVE_CHROMIUM)('channel gateway pages of the console in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let merchantId = '';
  let terminalId = '';
  let tmkKcv = '';

  beforeAll(async () => {
    server = await startConsoleServer();
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

  const apiCall = <T,>(method: string, url: string, body?: unknown): Promise<T> => consoleApi<T>(page, method, url, body);
  const menu = (key: string): Promise<void> => openMenu(page, key, 'gateway');
  const screenshot = (name: string): Promise<void> => saveScreenshot(page, name);
  const bodyText = async (): Promise<string> => page.locator('.ant-layout-content').innerText();
  /** The open dialog of this title (a closing one may still be on screen while the next opens). */
  const dialogNamed = (name: string | RegExp) => page.getByRole('dialog', { name });

  it('signs in; an enrolled merchant owns a platform terminal of kind pos', async () => {
    await page.goto(`${server.baseUrl}/login`);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-totp').fill(currentTotp(server.adminSecret));
    await page.getByTestId('login-submit').click();
    await page.waitForURL('**/overview');

    merchantId = (
      await apiCall<{ id: string }>('POST', '/api/v1/parties', { kind: 'business', name: MERCHANT, roles: ['merchant'], org_id: server.bankId })
    ).id;
    const plan = await apiCall<{ id: string }>('POST', '/api/v1/fee-plans', { name: '农资标准', rate_bp: 38 });
    await apiCall('POST', '/api/v1/merchants', { party_id: merchantId, mcc: '5411', fee_plan_id: plan.id, settlement_cycle: 'T1' });
    terminalId = (
      await apiCall<{ id: string }>('POST', '/api/v1/terminals', { serial: SERIAL, model: 'VX520', kind: 'pos', owner_party_id: merchantId })
    ).id;
  });

  it('Card switch: says no switch is configured, and the key ceremony shows the check value', async () => {
    await menu('switchLink');
    await page.waitForURL('**/gateway/switch');
    const state = page.getByTestId('switch-state');
    await poll(() => state.textContent()).toBe('未配置');
    const status = page.getByTestId('switch-status');
    expect(await status.textContent()).toContain('XIAOWEI_SWITCH_URL');
    expect(await status.textContent()).toContain(ACQUIRER_ID);
    expect(await page.getByTestId('switch-zmk-kcv-status').textContent()).toBe('—');
    expect(await page.getByTestId('switch-saf-counts').textContent()).toContain('待发送 0');
    expect(await page.getByTestId('switch-saf-table').locator('tr.ant-table-row').count()).toBe(0);

    // A component that is not 32 hex digits is refused by the form, before the server.
    await page.getByTestId('switch-zmk-1').fill(SIM_TEST_ZMK_COMPONENTS[0].slice(0, 30) + 'XY');
    await page.getByTestId('switch-zmk-submit').click();
    const card = page.getByTestId('switch-zmk');
    await poll(() => card.locator('.ant-form-item-explain-error').allTextContents()).toContain('分量为 32 位十六进制数');
    await poll(() => card.locator('.ant-form-item-explain-error').allTextContents()).toContain('必填');

    const expected = kcvOf(xorHex(SIM_TEST_ZMK_COMPONENTS));
    await page.getByTestId('switch-zmk-1').fill(SIM_TEST_ZMK_COMPONENTS[0]);
    await page.getByTestId('switch-zmk-2').fill(SIM_TEST_ZMK_COMPONENTS[1]);
    await page.getByTestId('switch-zmk-submit').click();
    await poll(() => page.getByTestId('switch-zmk-kcv').textContent()).toBe(expected);
    // The status card learns the new key's check value; the link stays unconfigured.
    await poll(() => page.getByTestId('switch-zmk-kcv-status').textContent()).toBe(expected);
    expect(await state.textContent()).toBe('未配置');
    // The components are gone from the form.
    for (const id of ['switch-zmk-1', 'switch-zmk-2', 'switch-zmk-3']) expect(await page.getByTestId(id).inputValue()).toBe('');
    const html = await page.content();
    for (const c of SIM_TEST_ZMK_COMPONENTS) expect(html).not.toContain(c);
    expect(await apiCall<{ zmk_kcv: string | null; state: string }>('GET', '/api/v1/gateway/switch')).toMatchObject({
      zmk_kcv: expected,
      state: 'not_configured',
    });
    expect(await bodyText()).not.toMatch(RAW_KEY);
    await screenshot('gateway-switch-1280x800');
  });

  it('POS terminals: registers the terminal with a generated master key whose components are shown once', async () => {
    await menu('posTerminals');
    await page.waitForURL('**/gateway/pos');
    const table = page.getByTestId('pos-table');
    await table.waitFor();
    await poll(() => table.locator('tr.ant-table-row').count()).toBe(0);

    await page.getByTestId('pos-register').click();
    const register = dialogNamed('登记POS终端');
    await chooseOption(page, 'pos-terminal-picker', SERIAL, 'XW-POS');
    await page.getByTestId('pos-tid').fill('XW01');
    await page.getByTestId('pos-register-submit').click();
    await poll(() => register.locator('.ant-form-item-explain-error').allTextContents()).toContain('终端号为 8 位字母或数字');
    await page.getByTestId('pos-tid').fill(TID);
    // Generated is the default: the host draws the key.
    expect(await register.locator('.ant-radio-button-wrapper-checked').textContent()).toBe('系统生成');
    await page.getByTestId('pos-register-submit').click();

    const c1 = page.getByTestId('pos-issued-1');
    await c1.waitFor();
    const components = [((await c1.textContent()) ?? '').trim(), ((await page.getByTestId('pos-issued-2').textContent()) ?? '').trim()];
    for (const c of components) expect(c).toMatch(/^[0-9A-F]{32}$/);
    expect(await page.getByTestId('pos-issued-kcv-1').textContent()).toBe(kcvOf(components[0]!));
    expect(await page.getByTestId('pos-issued-kcv-2').textContent()).toBe(kcvOf(components[1]!));
    tmkKcv = kcvOf(xorHex(components));
    expect(await page.getByTestId('pos-issued-tmk-kcv').textContent()).toBe(tmkKcv);
    const dialog = dialogNamed(`终端 ${TID} 的主密钥分量`);
    expect(await dialog.textContent()).toContain(TID);
    expect(await dialog.textContent()).toContain('只显示这一次');
    await screenshot('gateway-pos-components-1280x800');
    await page.getByTestId('pos-components-done').click();
    await c1.waitFor({ state: 'detached' });

    // Listed, with the serial, the merchant and the check value; the components are nowhere.
    const row = table.locator('tr.ant-table-row', { hasText: TID });
    await poll(() => row.count()).toBe(1);
    const text = (await row.textContent()) ?? '';
    for (const part of [SERIAL, tmkKcv, '未签到', '启用']) expect(text).toContain(part);
    await poll(() => row.textContent()).toContain(MERCHANT);
    const html = await page.content();
    for (const c of components) expect(html).not.toContain(c);
    const listed = await apiCall<{ items: { terminal_id: string; tid: string; mid: string; tmk_kcv: string }[] }>('GET', '/api/v1/gateway/pos-terminals');
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({ terminal_id: terminalId, tid: TID, tmk_kcv: tmkKcv });
    expect(listed.items[0]!.mid).toMatch(/^8985411\d{8}$/);
    expect(text).toContain(listed.items[0]!.mid);
    // A registered terminal is not offered again.
    await page.getByTestId('pos-register').click();
    await page.getByTestId('pos-terminal-picker').click();
    await page.locator('.ant-select-dropdown:visible .ant-empty').waitFor();
    expect(await page.locator('.ant-select-dropdown:visible .ant-select-item-option').count()).toBe(0);
    await page.keyboard.press('Escape');
    await register.locator('.ant-modal-close').click();
    await register.waitFor({ state: 'hidden' });
    await screenshot('gateway-pos-1280x800');
  });

  it('POS terminals: re-keys from two typed components, refusing a degenerate key, and shows the new check value', async () => {
    await page.getByTestId(`pos-rekey-${TID}`).click();
    const dialog = dialogNamed(`更换终端 ${TID} 的主密钥`);
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('须重新签到');
    await dialog.locator('.ant-radio-button-wrapper', { hasText: '输入分量' }).click();
    await page.getByTestId('pos-component-1').last().fill(REKEY_COMPONENTS[0]);
    await page.getByTestId('pos-component-2').last().fill(REKEY_COMPONENTS[1]);
    await page.getByTestId('pos-rekey-submit').click();
    // Their XOR has equal halves (single DES): the server refuses, the dialog stays for another try.
    await poll(() => page.locator('.ant-message-error').last().textContent()).toContain('主密钥分量无效');
    await dialog.waitFor();
    await page.getByTestId('pos-component-2').last().fill(REKEY_COMPONENTS[2]);
    await page.getByTestId('pos-rekey-submit').click();
    const expected = kcvOf(xorHex([REKEY_COMPONENTS[0], REKEY_COMPONENTS[2]]));
    expect(expected).not.toBe(tmkKcv);
    await poll(() => page.locator('.ant-message-success').last().textContent()).toContain(`主密钥已更换 · KCV ${expected}`);
    await dialog.waitFor({ state: 'hidden' });
    await poll(() => page.getByTestId('pos-table').locator('tr.ant-table-row', { hasText: TID }).textContent()).toContain(expected);
    // Typed components: nothing is shown back.
    expect(await page.getByTestId('pos-issued-1').count()).toBe(0);
    tmkKcv = expected;
  });

  it('Switch reconciliation: imports a file; a sale unknown here is written off with a note', async () => {
    await menu('switchRecon');
    await page.waitForURL('**/gateway/reconciliation');
    const files = page.getByTestId('recon-files');
    await files.waitFor();
    await poll(() => files.locator('tr.ant-table-row').count()).toBe(0);

    const csv = Buffer.from(settlementFile(), 'utf8');
    const upload = async (name: string, content: Buffer) => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('recon-import').click()]);
      await chooser.setFiles({ name, mimeType: 'text/csv', buffer: content });
    };
    // Another acquirer's file is refused, naming the line.
    await upload('99999999-20250630.csv', Buffer.from(settlementFile().replace(ACQUIRER_ID, '99999999'), 'utf8'));
    await poll(() => page.locator('.ant-message-error').count()).toBeGreaterThan(0);
    expect(await files.locator('tr.ant-table-row').count()).toBe(0);

    await upload(`${ACQUIRER_ID}-20250630.csv`, csv);
    await poll(() => page.locator('.ant-message-success').last().textContent()).toContain(`已导入 ${SETTLEMENT_DATE} 的清算文件，差错 1 笔`);
    const fileRow = files.locator('tr.ant-table-row', { hasText: SETTLEMENT_DATE });
    await poll(() => fileRow.count()).toBe(1);
    const fileText = (await fileRow.textContent()) ?? '';
    expect(fileText).toContain('¥25.00');
    expect(fileText).toContain('1 / 1');
    await poll(() => page.getByTestId('recon-file-filter').textContent()).toContain(SETTLEMENT_DATE);

    const exceptions = page.getByTestId('recon-exceptions');
    const row = exceptions.locator('tr.ant-table-row', { hasText: UNKNOWN_RRN });
    await poll(() => row.count()).toBe(1);
    const excText = (await row.textContent()) ?? '';
    for (const part of ['本行无此笔', '消费', '¥25.00', '挂账中']) expect(excText).toContain(part);
    await screenshot('gateway-recon-1280x800');

    // The same file again changes nothing.
    await upload(`${ACQUIRER_ID}-20250630.csv`, csv);
    await poll(() => page.locator('.ant-message-success').last().textContent()).toContain('此前已导入');
    await poll(() => files.locator('tr.ant-table-row').count()).toBe(1);

    await row.locator('[data-testid^="recon-resolve-"]').click();
    const dialog = dialogNamed('处理');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(UNKNOWN_RRN);
    await page.getByTestId('recon-action').click();
    // Reversing our sale is offered only for a sale the switch is missing.
    await poll(() => page.locator('.ant-select-dropdown:visible .ant-select-item-option').allTextContents()).toEqual(['核销', '接受']);
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: '核销' }).click();
    await page.getByTestId('recon-resolve-submit').click();
    // A note is required: the form says so before the server has to.
    await poll(() => dialog.locator('.ant-form-item-explain-error').allTextContents()).toEqual(['请填写说明']);
    await page.getByTestId('recon-note').fill(NOTE);
    await page.getByTestId('recon-resolve-submit').click();
    await poll(() => row.count()).toBe(0);
    await page.getByTestId('recon-status').getByText('已处理').click();
    const done = exceptions.locator('tr.ant-table-row', { hasText: UNKNOWN_RRN });
    await poll(() => done.count()).toBe(1);
    const doneText = (await done.textContent()) ?? '';
    expect(doneText).toContain('核销');
    expect(doneText).toContain(NOTE);
    expect(doneText).not.toContain('挂账中');
    expect(await page.getByTestId('recon-status').locator('.ant-segmented-item-selected').textContent()).toBe('已处理');
    expect(await done.locator('[data-testid^="recon-resolve-"]').count()).toBe(0);
    await poll(() => fileRow.textContent()).not.toContain('1 / 1');

    const resolved = await apiCall<{ items: { rrn: string; kind: string; action: string; note: string; carried: boolean; transfer_id: string | null }[] }>(
      'GET',
      '/api/v1/gateway/switch-recon/exceptions?status=resolved',
    );
    expect(resolved.items).toHaveLength(1);
    expect(resolved.items[0]).toMatchObject({ rrn: UNKNOWN_RRN, kind: 'missing_on_platform', action: 'write_off', note: NOTE, carried: false });
    expect(resolved.items[0]!.transfer_id).toMatch(/^swrecon-wo:/);
    expect(await bodyText()).not.toMatch(RAW_KEY);
    await screenshot('gateway-recon-resolved-1280x800');
  });

  it('works in English', async () => {
    await page.getByTestId('lang-en').click();
    expect(await page.getByTestId('menu-group-gateway').textContent()).toContain('Channel gateway');
    await poll(() => page.getByTestId('recon-exceptions').locator('th').allTextContents()).toContain('RRN');
    const exceptionRow = (await page.getByTestId('recon-exceptions').locator('tr.ant-table-row').first().textContent()) ?? '';
    for (const part of ['Missing here', 'Sale', 'Write off', NOTE]) expect(exceptionRow).toContain(part);
    await screenshot('gateway-recon-en-1280x800');
    // Data typed by people (the merchant's name, the note) may be Chinese; nothing else is.
    const english = async () => (await bodyText()).replaceAll(MERCHANT, '').replaceAll(NOTE, '');
    expect((await english()).match(CJK)).toBeNull();
    expect(await bodyText()).not.toMatch(RAW_KEY);

    await menu('switchLink');
    await page.waitForURL('**/gateway/switch');
    await poll(() => page.getByTestId('switch-state').textContent()).toBe('Not configured');
    expect(await page.getByTestId('switch-zmk').textContent()).toContain('Zone master key ceremony');
    expect(await page.getByTestId('switch-saf-counts').textContent()).toContain('Queued 0');
    expect((await english()).match(CJK)).toBeNull();
    expect(await bodyText()).not.toMatch(RAW_KEY);
    await page.getByTestId('switch-zmk-submit').click();
    await poll(() => page.getByTestId('switch-zmk').locator('.ant-form-item-explain-error').allTextContents()).toContain('Required');
    await screenshot('gateway-switch-en-1280x800');

    await menu('posTerminals');
    await page.waitForURL('**/gateway/pos');
    const row = page.getByTestId('pos-table').locator('tr.ant-table-row', { hasText: TID });
    await poll(() => row.textContent()).toContain('Not signed on');
    expect(await row.textContent()).toContain('Active');
    await poll(() => row.textContent()).toContain(MERCHANT);
    expect((await english()).match(CJK)).toBeNull();
    expect(await bodyText()).not.toMatch(RAW_KEY);
    await page.getByTestId('pos-register').click();
    const register = dialogNamed('Register a POS terminal');
    await register.waitFor();
    expect(await register.textContent()).toContain('Terminal master key (TMK)');
    expect((await register.innerText()).match(CJK)).toBeNull();
    await register.locator('.ant-modal-close').click();
    await register.waitFor({ state: 'hidden' });
    await screenshot('gateway-pos-en-1280x800');

    await page.getByTestId('lang-zh').click();
    await poll(() => page.getByTestId('menu-group-gateway').textContent()).toContain('渠道网关');
  });

  it('shows an auditor the gateway pages without any action', async () => {
    await server.addUser('audit.gw', 'auditor', 'Auditor-pass-2026');
    const other = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'zh-CN' });
    other.setDefaultTimeout(30_000);
    try {
      const p = await other.newPage();
      p.on('pageerror', (error) => pageErrors.push(error.message));
      await p.goto(`${server.baseUrl}/login`);
      await p.getByTestId('login-username').fill('audit.gw');
      await p.getByTestId('login-password').fill('Auditor-pass-2026');
      await p.getByTestId('login-submit').click();
      const secret = ((await p.getByTestId('enrol-secret').textContent()) ?? '').trim();
      await p.getByTestId('enrol-code').fill(currentTotp(secret));
      await p.getByTestId('enrol-submit').click();
      await p.waitForURL('**/overview');

      await p.goto(`${server.baseUrl}/gateway/switch`);
      await poll(() => p.getByTestId('switch-zmk-kcv-status').textContent()).toBe(kcvOf(SIM_TEST_ZMK));
      expect(await p.getByTestId('switch-zmk').count()).toBe(0);
      await p.goto(`${server.baseUrl}/gateway/pos`);
      await poll(() => p.getByTestId('pos-table').textContent()).toContain(tmkKcv);
      expect(await p.getByTestId('pos-register').count()).toBe(0);
      expect(await p.locator('[data-testid^="pos-rekey-"]').count()).toBe(0);
      await p.goto(`${server.baseUrl}/gateway/reconciliation`);
      await poll(() => p.getByTestId('recon-files').textContent()).toContain(SETTLEMENT_DATE);
      expect(await p.getByTestId('recon-import').count()).toBe(0);
      await p.getByTestId('recon-status').getByText('已处理').click();
      await poll(() => p.getByTestId('recon-exceptions').textContent()).toContain(NOTE);
      expect(await p.locator('[data-testid^="recon-resolve-"]').count()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('raised no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
