// The built `berth` CLI (what `npx berth` runs) for tests that spawn it: a start costs a third of one under tsx,
// which matters when a test runs berth dozens of times on a loaded machine. A build older than its source fails
// the test instead of testing old code.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root. */
export const repo = new URL('../..', import.meta.url).pathname;

/** The built CLI's entry point. */
export const berthMain = join(repo, 'cli/dist/main.js');

/** Newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Throws unless every workspace the CLI loads was built after its source last changed. */
export function assertBuilt(): void {
  for (const ws of ['api', 'controller-runtime', 'apiserver', 'controllers', 'node-agent', 'cli']) {
    let built = 0;
    try {
      built = statSync(join(repo, ws, 'dist/.tsbuildinfo')).mtimeMs;
    } catch {
      // never built
    }
    if (built < newestSource(join(repo, ws, 'src')))
      throw new Error(`${ws}/dist is older than ${ws}/src: run \`npx tsc -b\` (npm test does) before this test`);
  }
}
