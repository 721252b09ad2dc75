// Debian's chromium driven by playwright-core, headless, for the dashboard's test, its screenshots and its bench.
// The flags keep it off the network this machine does not have (background fetches, updates, sync, QUIC).

import type { Browser } from 'playwright-core';

/** Where the project's set-up installs chromium (hack/install-debian-deps.sh). */
export const chromiumPath = '/usr/bin/chromium';

/** A headless chromium; loads playwright-core only when called, so other tests do not pay for it. */
export async function launchHeadlessChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
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
