// The overlay snapshotter on real overlay mounts: layer stacking with whiteouts, sharing, re-adoption, removal.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import tar from 'tar-stream';
import { OverlaySnapshotter } from '../../src/snapshots/overlay.js';
import { LayerStore } from '../../src/unpack/layer-store.js';

const execFileAsync = promisify(execFile);

const root = await mkdtemp(join(tmpdir(), 'berth-snapshots-test-'));
const snapshotter = new OverlaySnapshotter(root);
const used = new Set<string>();
t.teardown(async () => {
  // Unmount whatever a failed assertion left mounted before deleting the tree.
  for (const id of used) await snapshotter.remove(id).catch(() => {});
  await rm(root, { recursive: true, force: true });
});

async function layer(entries: { name: string; type?: 'file' | 'directory'; body?: string }[]): Promise<string> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries)
    pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644 }, e.body ?? '');
  pack.finalize();
  await done;
  const blob = gzipSync(Buffer.concat(chunks));
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const applied = await new LayerStore(root).unpack(digest, async () => Readable.from([blob]));
  return applied.dir;
}

const base = await layer([
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hostname', body: 'base' },
  { name: 'etc/removed', body: 'gone soon' },
  { name: 'cache/', type: 'directory' },
  { name: 'cache/old', body: 'old' },
]);
const top = await layer([
  { name: 'etc/.wh.removed' },
  { name: 'cache/', type: 'directory' },
  { name: 'cache/.wh..wh..opq' },
  { name: 'cache/new', body: 'new' },
  { name: 'etc/hostname', body: 'top' },
]);

async function mountCount(path: string): Promise<number> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((l) => l.split(' ')[4] === path).length;
}

t.test('layers stack as lowerdirs: top wins, whiteouts hide, opaque dirs replace', async (t) => {
  used.add('c1');
  const snap = await snapshotter.prepare('c1', [top, base]);
  t.equal(snap.rootfs, join(root, 'containers', 'c1', 'rootfs'));
  t.equal(await readFile(join(snap.rootfs, 'etc', 'hostname'), 'utf8'), 'top');
  t.same((await readdir(join(snap.rootfs, 'etc'))).sort(), ['hostname'], 'whiteout hides etc/removed');
  t.same(await readdir(join(snap.rootfs, 'cache')), ['new'], 'opaque dir hides the lower cache/old');
});

t.test('two containers share layers; writes land in each one’s upper dir', async (t) => {
  used.add('c2');
  const c1 = await snapshotter.prepare('c1', [top, base]);
  const c2 = await snapshotter.prepare('c2', [top, base]);
  await writeFile(join(c1.rootfs, 'etc', 'hostname'), 'changed by c1');
  await writeFile(join(c1.rootfs, 'scratch'), 'c1 only');
  t.equal(await readFile(join(c2.rootfs, 'etc', 'hostname'), 'utf8'), 'top', 'c2 does not see c1’s change');
  await t.rejects(access(join(c2.rootfs, 'scratch')));
  t.equal(await readFile(join(top, 'etc', 'hostname'), 'utf8'), 'top', 'layer untouched');
  t.equal(await readFile(join(c1.upper, 'scratch'), 'utf8'), 'c1 only', 'write landed in c1’s upper dir');
});

t.test('prepare is idempotent and a new snapshotter re-adopts existing mounts', async (t) => {
  const again = await snapshotter.prepare('c1', [top, base]);
  t.equal(await mountCount(again.rootfs), 1, 'not mounted twice');
  t.equal(await readFile(join(again.rootfs, 'scratch'), 'utf8'), 'c1 only', 'same mount, changes kept');
  const restarted = new OverlaySnapshotter(root);
  t.same((await restarted.list()).map((s) => s.id).sort(), ['c1', 'c2']);
  t.equal(await restarted.isMounted('c1'), true);
});

t.test('remove unmounts and deletes the container’s changes, keeps layers and other containers', async (t) => {
  await mkdir(join(root, 'containers', 'c1', 'runtime-owned'), { recursive: true });
  await snapshotter.remove('c1');
  t.equal(await snapshotter.isMounted('c1'), false);
  t.same(
    await readdir(join(root, 'containers', 'c1')),
    ['runtime-owned'],
    'upper, work, rootfs gone; other files left to the runtime',
  );
  t.equal(await readFile(join(base, 'etc', 'hostname'), 'utf8'), 'base', 'layers stay');
  t.equal(
    await readFile(join(root, 'containers', 'c2', 'rootfs', 'etc', 'hostname'), 'utf8'),
    'top',
    'c2 still mounted',
  );
  await snapshotter.remove('c1');
  t.pass('removing twice is fine');
  await snapshotter.remove('c2');
  t.equal(await snapshotter.isMounted('c2'), false);
});

t.test('an image with many layers still mounts (lowerdir list longer than a page)', async (t) => {
  const dirs: string[] = [];
  for (let i = 0; i < 120; i++) {
    const dir = join(root, 'layers', 'sha256', createHash('sha256').update(String(i)).digest('hex'), 'fs');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}`), String(i));
    dirs.push(dir);
  }
  used.add('many');
  const snap = await snapshotter.prepare('many', dirs.reverse());
  t.equal((await readdir(snap.rootfs)).length, 120);
  t.equal(await readFile(join(snap.rootfs, 'f0'), 'utf8'), '0');
  await snapshotter.remove('many');
});

t.test('bad ids are refused', async (t) => {
  await t.rejects(snapshotter.prepare('../escape', [base]), { code: 'INVALID_SNAPSHOT_ID' });
  const { stdout } = await execFileAsync('findmnt', ['-rn', '-o', 'TARGET']);
  t.notMatch(stdout, root, 'nothing of this test left mounted');
});
