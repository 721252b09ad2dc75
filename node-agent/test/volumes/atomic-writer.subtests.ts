// The atomic writer: one version directory behind `..data`, visible names as symlinks into it, a new version
// swapped in by one rename, keys added and removed, nothing rewritten when nothing changed.
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { writeAtomically } from '../../src/volumes/atomic-writer.js';

const dir = await mkdtemp(path.join(tmpdir(), 'berth-atomic-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('first write, unchanged write, update with an added and a removed key', async (t) => {
  t.equal(
    await writeAtomically(dir, {
      a: { data: '1', mode: 0o644 },
      b: { data: '2', mode: 0o600 },
      '..evil': { data: 'x', mode: 0o644 },
    }),
    true,
  );
  const v1 = await readlink(path.join(dir, '..data'));
  t.match(v1, /^\.\.\d{4}-/);
  t.equal(await readlink(path.join(dir, 'a')), '..data/a');
  t.equal(await readFile(path.join(dir, 'b'), 'utf8'), '2');
  t.equal((await lstat(path.join(dir, v1, 'b'))).mode & 0o777, 0o600);
  t.same((await readdir(dir)).sort(), ['..data', v1, 'a', 'b'].sort(), 'a name starting with .. is not projected');

  t.equal(
    await writeAtomically(dir, { a: { data: '1', mode: 0o644 }, b: { data: '2', mode: 0o600 } }),
    false,
    'same data: nothing written',
  );
  t.equal(await readlink(path.join(dir, '..data')), v1);

  t.equal(await writeAtomically(dir, { a: { data: '10', mode: 0o644 }, c: { data: '3', mode: 0o644 } }), true);
  const v2 = await readlink(path.join(dir, '..data'));
  t.not(v2, v1);
  t.equal(await readFile(path.join(dir, 'a'), 'utf8'), '10');
  t.equal(await readFile(path.join(dir, 'c'), 'utf8'), '3');
  t.same((await readdir(dir)).sort(), ['..data', v2, 'a', 'c'].sort(), 'the removed key and the old version are gone');
});
