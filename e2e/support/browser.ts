import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { repoRoot } from './system.js';

export const ARTIFACTS_DIR = path.join(repoRoot, 'test-results', 'screenshots');

let chosen: Promise<{ path: string; source: string }> | undefined;
/**
 * The browser the page tests drive: CHROMIUM_PATH when set, else a system Chromium when one is
 * installed, else the Chromium build shipped inside the `@sparticuz/chromium` npm package (unpacked
 * on first use), so `npm test` needs nothing beyond its own install. Printed once per test process.
 */
export function chromiumExecutable(): Promise<{ path: string; source: string }> {
  chosen ??= (async () => {
    const fromEnv = process.env.CHROMIUM_PATH;
    let found: { path: string; source: string };
    if (fromEnv) {
      if (!fs.existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
      found = { path: fromEnv, source: 'CHROMIUM_PATH' };
    } else if (fs.existsSync('/usr/bin/chromium')) {
      found = { path: '/usr/bin/chromium', source: 'system' };
    } else {
      const { default: packaged } = await import('@sparticuz/chromium');
      found = { path: await packaged.executablePath(), source: '@sparticuz/chromium' };
    }
    console.log(`browser tests: Chromium from ${found.source} (${found.path})`);
    return found;
  })();
  return chosen;
}

/**
 * Chromium, headless, with the flags that work as root on a machine without network (Playwright
 * gives every launch a fresh temporary profile). The packaged build's own suggested flags are not
 * used: they turn off web security, which the CORS tests rely on.
 */
export async function launchBrowser(): Promise<{ browser: Browser; context: BrowserContext; close(): Promise<void> }> {
  const executable = await chromiumExecutable();
  const browser = await chromium.launch({
    executablePath: executable.path,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  return {
    browser,
    context,
    async close() {
      await context.close().catch(() => {});
      await browser.close().catch(() => {});
    },
  };
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, `${name}.png`);
}
