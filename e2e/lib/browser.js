// Launches Debian's Chromium through playwright-core. Playwright's own browser download does
// not work on our machines, so the executable is the system one (scripts/test installs it).
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The Chromium under test: CHROMIUM_PATH, else Debian's. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Flags for a quiet, sandboxed-by-the-machine headless Chromium: without the networking flags
 * it keeps trying to reach Google's hosts, which this machine's closed network refuses.
 */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The viewport every page is shown in, screenshots included. */
export const viewport = { width: 1280, height: 800 };

/**
 * Starts Chromium with a fresh, empty user-data-dir. Contexts made with newContext() are
 * separate browsers as far as cookies go (two "devices" of one user).
 */
export async function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: apt-get install -y chromium (scripts/test does this)`);
  }
  // Playwright refuses --user-data-dir with launch(); it makes its own fresh temporary profile
  // directory for each launch and deletes it on close. The directory below is Chromium's
  // crash-dump and cache scratch space, so nothing is written outside a directory we delete.
  const scratch = await mkdtemp(path.join(tmpdir(), 'portier-chromium-'));
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, `--disk-cache-dir=${path.join(scratch, 'cache')}`, `--crash-dumps-dir=${path.join(scratch, 'crash')}`],
    timeout: 30_000,
  });
  return {
    browser,
    /**
     * A new browser context (own cookies) at baseURL; locale sets Accept-Language and
     * navigator.language (for example 'nl-NL').
     */
    async newContext({ baseURL, locale = 'en-GB', ...rest } = {}) {
      const context = await browser.newContext({ baseURL, locale, viewport, timezoneId: 'UTC', ...rest });
      context.setDefaultTimeout(15_000);
      context.setDefaultNavigationTimeout(15_000);
      return context;
    },
    async close() {
      await browser.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
