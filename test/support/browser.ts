/**
 * Headless Chromium for browser tests: Debian's `chromium` package driven by
 * playwright-core (no browser download). CI installs it (`.ci/run`,
 * scripts/install-test-deps.sh); on a machine without it the test fails with
 * the command to run, it does not skip.
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
 * // ...
 * await browser.close();
 */
import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser; `AUTOLOOP_CHROMIUM` overrides it. */
export const CHROMIUM_PATH = process.env.AUTOLOOP_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches headless Chromium, or throws saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the dashboard's browser test needs it. ` +
        'Install it with `sudo apt-get install chromium` (Debian/Ubuntu), or run `sudo scripts/install-test-deps.sh` ' +
        '(CI does this in .ci/run); or point AUTOLOOP_CHROMIUM at another Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 30_000 });
}

/** Collects the page's console errors and warnings, page errors and CSP violations as lines (a test asserts none). */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}
