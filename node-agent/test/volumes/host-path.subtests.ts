// hostPath volumes: refused unless the node allows a directory, and then only paths that resolve under it, with
// the kubelet's `type` checks (DirectoryOrCreate, FileOrCreate make what is missing; Directory, File must exist).
import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hostPathSource } from '../../src/volumes/host-path.js';

const top = await realpath(await mkdtemp(path.join(tmpdir(), 'berth-hostpath-')));
t.teardown(() => rm(top, { recursive: true, force: true }));
const allowed = path.join(top, 'allowed');
await mkdir(allowed);
await writeFile(path.join(allowed, 'file'), 'x');
await symlink('/etc', path.join(allowed, 'etc-link'));

t.test('off by default: no allowed directory refuses every hostPath', async (t) => {
  await t.rejects(hostPathSource('/etc', 'Directory', []), { code: 'HostPathNotAllowed', message: /off on this node/ });
  await t.rejects(hostPathSource(allowed, 'Directory', []), { code: 'HostPathNotAllowed' });
});

t.test('only under an allowed directory, symlinks followed', async (t) => {
  t.equal(await hostPathSource(allowed, 'Directory', [allowed]), allowed);
  await t.rejects(hostPathSource('/etc', '', [allowed]), { code: 'HostPathNotAllowed', message: /not under/ });
  await t.rejects(hostPathSource(path.join(allowed, 'etc-link'), '', [allowed]), {
    code: 'HostPathNotAllowed',
    message: /resolves to \/etc/,
  });
  await t.rejects(hostPathSource(`${allowed}/../outside`, 'DirectoryOrCreate', [allowed]), {
    code: 'HostPathNotAllowed',
  });
  await t.rejects(stat(path.join(top, 'outside')), 'nothing made outside');
  await t.rejects(
    hostPathSource(`${allowed}-sibling`, 'DirectoryOrCreate', [allowed]),
    { code: 'HostPathNotAllowed' },
    'a prefix of the name is not a parent',
  );
});

t.test('OrCreate makes nothing through a symlink that leads outside', async (t) => {
  const outside = path.join(top, 'outside-target');
  await mkdir(outside);
  await symlink(outside, path.join(allowed, 'out-link'));
  await t.rejects(hostPathSource(path.join(allowed, 'out-link', 'd', 'e'), 'DirectoryOrCreate', [allowed]), {
    code: 'HostPathNotAllowed',
  });
  await t.rejects(stat(path.join(outside, 'd')), 'no directory made outside');
  await t.rejects(hostPathSource(path.join(allowed, 'out-link', 'f'), 'FileOrCreate', [allowed]), {
    code: 'HostPathNotAllowed',
  });
  await t.rejects(stat(path.join(outside, 'f')), 'no file made outside');
});

t.test('types', async (t) => {
  t.ok(
    (await stat(await hostPathSource(path.join(allowed, 'made', 'dir'), 'DirectoryOrCreate', [allowed]))).isDirectory(),
  );
  t.ok((await stat(await hostPathSource(path.join(allowed, 'made', 'f'), 'FileOrCreate', [allowed]))).isFile());
  await t.rejects(hostPathSource(path.join(allowed, 'missing'), 'Directory', [allowed]), { code: 'HostPathInvalid' });
  await t.rejects(hostPathSource(path.join(allowed, 'file'), 'Directory', [allowed]), {
    code: 'HostPathInvalid',
    message: /not a directory/,
  });
  await t.rejects(hostPathSource(allowed, 'File', [allowed]), { code: 'HostPathInvalid', message: /not a file/ });
});

t.test('a dangling symlink is HostPathInvalid, not a raw ENOENT', async (t) => {
  await symlink(path.join(allowed, 'nowhere'), path.join(allowed, 'dangling'));
  await t.rejects(hostPathSource(path.join(allowed, 'dangling'), '', [allowed]), {
    code: 'HostPathInvalid',
    message: /does not exist/,
  });
});
