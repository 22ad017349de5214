import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium); nothing here ever downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);

/**
 * Without Chromium the browser suite is skipped with a loud warning, unless
 * XIAOWEI_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
 */
export function checkBrowser(): void {
  if (HAVE_CHROMIUM) return;
  const message = `${CHROMIUM} not found: install it with \`apt-get install -y chromium\``;
  if (process.env.XIAOWEI_REQUIRE_BROWSER === '1') throw new Error(`XIAOWEI_REQUIRE_BROWSER=1 but ${message}`);
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!!  BROWSER TESTS SKIPPED: ${message}\n!!  Set XIAOWEI_REQUIRE_BROWSER=1 to make this a failure.\n${bar}\n`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
