// The CLI's own version, from its package.json (the same relative path from src/ and dist/): for the User-Agent,
// `berth version` and `berth --version`.

import { readFileSync } from 'node:fs';

export function clientVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') return pkg.version;
  } catch {
    // a broken install still talks to the server
  }
  return '0.0.0';
}
