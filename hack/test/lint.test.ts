// The linter and the formatter (Biome, configured in biome.json) over the whole repository, as CI runs them:
// a lint error or a file the formatter would change fails here, with Biome's own diagnostics in the message.

import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const biome = join(repo, 'node_modules', '.bin', 'biome');

t.test('biome ci: no lint errors, every file formatted', async (t) => {
  const run = await promisify(execFile)(biome, ['ci', '--colors=off', '--max-diagnostics=50', '.'], {
    cwd: repo,
    maxBuffer: 16 << 20,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    }),
  );
  t.equal(run.code, 0, run.code === 0 ? 'clean' : `npx biome check --write . fixes what it can:\n${run.output}`);
});
