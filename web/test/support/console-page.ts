import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** Where browser tests leave their screenshots (for people, not for assertions). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

/** Same origin, with the page's session cookie: what the console itself would send. Throws on an HTTP error. */
export async function consoleApi<T>(page: Page, method: string, url: string, body?: unknown): Promise<T> {
  const reply = await page.evaluate(
    async ([m, u, b]) => {
      const res = await fetch(u, {
        method: m,
        credentials: 'same-origin',
        headers: b === undefined ? {} : { 'content-type': 'application/json' },
        body: b,
      });
      return { status: res.status, json: (await res.json()) as unknown };
    },
    [method, url, body === undefined ? undefined : JSON.stringify(body)] as const,
  );
  if (reply.status >= 400) throw new Error(`${method} ${url} → ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply.json as T;
}

/** Opens an Ant Design Select, types to search when asked, and picks the option with this text. */
export async function chooseOption(page: Page, testId: string, optionText: string, search?: string): Promise<void> {
  await page.getByTestId(testId).click();
  if (search) await page.keyboard.type(search);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: optionText }).first().click();
}

/** Clicks a menu entry, opening its sub-menu first when it is closed. */
export async function openMenu(page: Page, key: string, group: string): Promise<void> {
  const item = page.getByTestId(`menu-${key}`);
  if (!(await item.isVisible())) await page.getByTestId(`menu-group-${group}`).locator('.ant-menu-submenu-title').click();
  await item.click();
}

export async function saveScreenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}
