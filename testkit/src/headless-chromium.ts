// Debian's chromium driven by playwright-core, headless, for the dashboard's test, its screenshots and its bench.
// The flags keep it off the network this machine does not have (background fetches, updates, sync, QUIC). It runs
// in a network namespace of its own that reaches only the given server's port on loopback, so interfaces the
// suite's other tests add and remove do not abort its page loads (ERR_NETWORK_CHANGED).

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startLoopbackNetns } from './loopback-netns.js';

/** Where the project's set-up installs chromium (hack/install-debian-deps.sh). */
export const chromiumPath = '/usr/bin/chromium';

/**
 * A headless chromium that reaches `serverUrl`'s loopback port and nothing else; loads playwright-core only when
 * called, so other tests do not pay for it. Closing the browser removes its namespace. Root.
 */
export async function launchHeadlessChromium(serverUrl: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const netns = await startLoopbackNetns([Number(new URL(serverUrl).port)]);
  // playwright starts the browser from one executable path: a script that enters the namespace first.
  const dir = await mkdtemp(join(tmpdir(), 'berth-chromium-'));
  const launcher = join(dir, 'chromium');
  await writeFile(launcher, `#!/bin/sh\nexec ${netns.enter.join(' ')} ${chromiumPath} "$@"\n`);
  await chmod(launcher, 0o755);
  const closeAll = async () => {
    await netns.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const browser = await chromium.launch({
      executablePath: launcher,
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
    browser.on('disconnected', () => void closeAll());
    return browser;
  } catch (e) {
    await closeAll();
    throw e;
  }
}
