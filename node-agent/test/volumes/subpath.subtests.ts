// The subPath resolver keeps a mount inside its volume: ".." and absolute paths are refused outright, a symlink
// pointing out of the volume is refused wherever it sits in the path, symlinks inside are followed, and missing
// directories are made (as the kubelet makes them).
import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { VolumeError } from '../../src/volumes/errors.js';
import { checkSubPath, resolveSubPath } from '../../src/volumes/subpath.js';

const top = await realpath(await mkdtemp(path.join(tmpdir(), 'berth-subpath-')));
t.teardown(() => rm(top, { recursive: true, force: true }));
const vol = path.join(top, 'vol');
const outside = path.join(top, 'outside');
await mkdir(path.join(vol, 'a', 'b'), { recursive: true });
await mkdir(outside);
await writeFile(path.join(outside, 'secret'), 'host data');
await writeFile(path.join(vol, 'a', 'file'), 'x');
await symlink(outside, path.join(vol, 'out'));
await symlink('/etc', path.join(vol, 'a', 'etc'));
await symlink('../../..', path.join(vol, 'a', 'b', 'up'));
await symlink('b', path.join(vol, 'a', 'inside'));
await symlink('/nonexistent-berth', path.join(vol, 'dangling'));

const refused = async (sub: string, code = 'SubPathEscape') => {
  const err = await resolveSubPath(vol, sub).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(VolumeError.isInstance(err), `${sub} refused with a VolumeError`);
  t.equal((err as VolumeError).code, code, `${sub}: ${(err as Error).message}`);
};

t.test('lexical checks: absolute paths and ".." components', async (t) => {
  for (const bad of ['/etc', '..', 'a/../..', 'a/..', '../x'])
    t.throws(() => checkSubPath(bad), { code: 'SubPathEscape' }, bad);
  for (const ok of ['a', 'a/b', './a', 'a/', '..a', 'a..', '.hidden', 'a/...'])
    t.doesNotThrow(() => checkSubPath(ok), ok);
  await refused('../outside');
  await refused('/etc');
});

t.test('a symlink out of the volume is refused, at the end of the path or in its middle', async () => {
  await refused('out');
  await refused('out/secret');
  await refused('a/etc');
  await refused('a/etc/passwd');
  await refused('a/b/up');
  await refused('a/b/up/outside');
});

t.test('a dangling symlink and a file in the middle of the path are refused', async () => {
  await refused('dangling', 'SubPathInvalid');
  await refused('a/file/x', 'SubPathInvalid');
});

t.test('paths inside resolve, through symlinks inside the volume', async (t) => {
  t.equal(await resolveSubPath(vol, 'a/b'), path.join(vol, 'a', 'b'));
  t.equal(await resolveSubPath(vol, 'a/inside'), path.join(vol, 'a', 'b'), 'symlink to a sibling');
  t.equal(await resolveSubPath(vol, './a/file'), path.join(vol, 'a', 'file'), 'a file');
  t.equal(await resolveSubPath(vol, ''), vol, 'empty is the root');
});

t.test('missing directories are made inside the volume', async (t) => {
  const got = await resolveSubPath(vol, 'new/deeper');
  t.equal(got, path.join(vol, 'new', 'deeper'));
  t.ok((await stat(got)).isDirectory());
  await refused('out/made-outside');
  await t.rejects(stat(path.join(outside, 'made-outside')), 'nothing was made outside through a symlink');
});
