// The import rules docs/architecture.md states, checked over every workspace's source: imports flow one way, no
// package reaches into another by relative path, and @berth/api stays pure (no Node built-ins).

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Which workspaces each workspace's source (src/) may import. Tests may also import @berth/testkit. */
const allowedImports: Record<string, readonly string[]> = {
  api: [],
  'controller-runtime': ['api'],
  apiserver: ['api'],
  controllers: ['api', 'controller-runtime'],
  'node-agent': ['api', 'controller-runtime'],
  // `berth up` runs the others in one process through their start() entry points.
  cli: ['api', 'controller-runtime', 'apiserver', 'controllers', 'node-agent'],
  // The test kit starts real servers for every package's tests.
  testkit: ['api', 'controller-runtime', 'apiserver', 'controllers', 'node-agent'],
  // The web dashboard is a browser bundle: it reaches the API server over HTTP only.
  dashboard: [],
};

const workspaces = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { workspaces: string[] })
  .workspaces;

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Module specifiers of static imports, re-exports and dynamic imports with a literal. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(pattern)) found.push((m[1] ?? m[2] ?? m[3])!);
  return found;
}

/** The workspace a path lies in, or undefined when outside every workspace. */
function workspaceOf(path: string): string | undefined {
  const rel = relative(repo, path);
  const top = rel.split(sep)[0];
  return top !== undefined && workspaces.includes(top) ? top : undefined;
}

t.test('every workspace has import rules', async (t) => {
  for (const ws of workspaces) t.ok(ws in allowedImports, `${ws} is listed in the import rules`);
});

t.test('imports flow one way between workspaces', async (t) => {
  const violations: string[] = [];
  for (const ws of workspaces) {
    for (const [folder, isTest] of [
      ['src', false],
      ['test', true],
    ] as const) {
      for (const file of sourceFiles(join(repo, ws, folder))) {
        const allowed = new Set([ws, ...(allowedImports[ws] ?? []), ...(isTest ? ['testkit'] : [])]);
        for (const spec of specifiers(readFileSync(file, 'utf8'))) {
          const where = relative(repo, file);
          let target: string | undefined;
          if (spec.startsWith('@berth/')) target = spec.slice('@berth/'.length).split('/')[0];
          else if (spec.startsWith('.')) {
            target = workspaceOf(resolve(dirname(file), spec));
            if (target !== ws) {
              violations.push(
                `${where}: '${spec}' reaches outside ${ws}/ by relative path (import the package instead)`,
              );
              continue;
            }
          }
          if (target !== undefined && !allowed.has(target))
            violations.push(`${where}: ${ws} may not import @berth/${target}`);
        }
      }
    }
  }
  t.same(violations, [], 'no import crosses the boundaries docs/architecture.md states');
});

t.test('@berth/api is pure: no Node built-ins, no I/O libraries', async (t) => {
  const impure: string[] = [];
  for (const file of sourceFiles(join(repo, 'api', 'src'))) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:') || spec.startsWith('@kubernetes/')) impure.push(`${relative(repo, file)}: ${spec}`);
    }
  }
  t.same(impure, []);
});

t.test('the checker sees a violation when there is one', async (t) => {
  t.same(
    specifiers("import { x } from '@berth/apiserver';\nexport * from './a.js';\nconst m = await import('node:fs');"),
    ['@berth/apiserver', './a.js', 'node:fs'],
  );
  t.equal(workspaceOf(join(repo, 'apiserver', 'src', 'server.ts')), 'apiserver');
  t.equal(workspaceOf(join(repo, 'bench', 'x.ts')), undefined);
});
