// The Snapshotter contract as a test suite (as containerd's core/snapshots/testsuite): every implementation runs
// it. It walks the lifecycle snapshots.ts documents: prepare gives a container a writable rootfs over read-only
// layers (top first), writes land in its upper dir, prepare again adopts, remove drops the changes and keeps the layers.
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { SnapshotError } from '../../src/snapshots/errors.js';
import type { Snapshotter } from '../../src/snapshots/snapshots.js';

/** What the suite needs from an implementation: made fresh for each subtest, cleaned up by its teardown. */
export interface SnapshotterFixture {
  readonly snapshotter: Snapshotter;
  /** A second instance on the same data root (an agent restarted). */
  reopen(): Snapshotter;
  /** A read-only layer directory holding `files` (path → content). */
  layer(files: Readonly<Record<string, string>>): Promise<string>;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return SnapshotError.isInstance(error) ? error.code : `not a SnapshotError: ${String(error)}`;
}

export function snapshotterConformance(
  t: Test,
  name: string,
  makeFixture: (t: Test) => Promise<SnapshotterFixture>,
): void {
  t.test(`${name}: prepare stacks the layers top first and the snapshot is mounted and listed`, async (t) => {
    const f = await makeFixture(t);
    const base = await f.layer({ 'etc/hostname': 'base', 'etc/base-only': 'b' });
    const top = await f.layer({ 'etc/hostname': 'top', 'top-only': 't' });
    t.equal(await f.snapshotter.isMounted('sc-stack'), false, 'nothing before prepare');
    const snap = await f.snapshotter.prepare('sc-stack', [top, base]);
    t.equal(snap.id, 'sc-stack');
    t.equal(new Set([snap.rootfs, snap.upper, snap.work]).size, 3, 'rootfs, upper and work are three places');
    t.equal(await readFile(join(snap.rootfs, 'etc', 'hostname'), 'utf8'), 'top', 'the first layer wins');
    t.equal(await readFile(join(snap.rootfs, 'etc', 'base-only'), 'utf8'), 'b', 'lower layers show through');
    t.equal(await readFile(join(snap.rootfs, 'top-only'), 'utf8'), 't');
    t.equal(await f.snapshotter.isMounted('sc-stack'), true);
    t.same(
      (await f.snapshotter.list()).map((s) => s.id),
      ['sc-stack'],
    );
    t.same(await f.snapshotter.list(), [snap], 'list reports the same paths prepare did');
  });

  t.test(`${name}: writes land in the snapshot's upper dir; layers and other snapshots do not see them`, async (t) => {
    const f = await makeFixture(t);
    const layer = await f.layer({ 'etc/hostname': 'image' });
    const a = await f.snapshotter.prepare('sc-write-a', [layer]);
    const b = await f.snapshotter.prepare('sc-write-b', [layer]);
    await writeFile(join(a.rootfs, 'etc', 'hostname'), 'changed by a');
    await writeFile(join(a.rootfs, 'scratch'), 'a only');
    t.equal(await readFile(join(a.upper, 'scratch'), 'utf8'), 'a only', "the write is in a's upper dir");
    t.equal(await readFile(join(layer, 'etc', 'hostname'), 'utf8'), 'image', 'the layer is untouched');
    t.equal(await readFile(join(b.rootfs, 'etc', 'hostname'), 'utf8'), 'image', "b does not see a's change");
    t.equal(await exists(join(b.rootfs, 'scratch')), false);
  });

  t.test(`${name}: prepare again adopts the snapshot, changes kept, from a new instance too`, async (t) => {
    const f = await makeFixture(t);
    const layer = await f.layer({ file: 'x' });
    const first = await f.snapshotter.prepare('sc-adopt', [layer]);
    await writeFile(join(first.rootfs, 'kept'), 'yes');
    const again = await f.snapshotter.prepare('sc-adopt', [layer]);
    t.same(again, first, 'the same snapshot');
    t.equal(await readFile(join(again.rootfs, 'kept'), 'utf8'), 'yes', 'its changes are kept');
    const restarted = f.reopen();
    t.same(
      (await restarted.list()).map((s) => s.id),
      ['sc-adopt'],
      'a new instance lists it',
    );
    t.equal(await restarted.isMounted('sc-adopt'), true);
    const adopted = await restarted.prepare('sc-adopt', [layer]);
    t.equal(await readFile(join(adopted.rootfs, 'kept'), 'utf8'), 'yes', 'and adopts it as it is');
  });

  t.test(`${name}: remove drops the snapshot and its changes, keeps the layers and other snapshots`, async (t) => {
    const f = await makeFixture(t);
    const layer = await f.layer({ 'etc/hostname': 'image' });
    const gone = await f.snapshotter.prepare('sc-remove', [layer]);
    const stays = await f.snapshotter.prepare('sc-stays', [layer]);
    await writeFile(join(gone.rootfs, 'scratch'), 'lost');
    await f.snapshotter.remove('sc-remove');
    t.equal(await f.snapshotter.isMounted('sc-remove'), false);
    t.same(
      (await f.snapshotter.list()).map((s) => s.id),
      ['sc-stays'],
    );
    for (const path of [gone.rootfs, gone.upper, gone.work]) t.equal(await exists(path), false, `${path} is gone`);
    t.equal(await readFile(join(layer, 'etc', 'hostname'), 'utf8'), 'image', 'the layer stays');
    t.equal(await readFile(join(stays.rootfs, 'etc', 'hostname'), 'utf8'), 'image', 'the other snapshot stays');
    const fresh = await f.snapshotter.prepare('sc-remove', [layer]);
    t.equal(await exists(join(fresh.rootfs, 'scratch')), false, 'preparing the id again starts clean');
    await f.snapshotter.remove('sc-remove');
    await f.snapshotter.remove('sc-remove');
    await f.snapshotter.remove('sc-never-prepared');
    t.pass('removing twice, or what never existed, is not an error');
  });

  t.test(`${name}: an image without layers gets an empty, writable rootfs`, async (t) => {
    const f = await makeFixture(t);
    const snap = await f.snapshotter.prepare('sc-empty', []);
    t.same(await readdir(snap.rootfs), []);
    await mkdir(join(snap.rootfs, 'etc'));
    await writeFile(join(snap.rootfs, 'etc', 'new'), 'n');
    t.equal(await readFile(join(snap.upper, 'etc', 'new'), 'utf8'), 'n');
  });

  t.test(`${name}: an id that cannot name a snapshot is refused with INVALID_SNAPSHOT_ID`, async (t) => {
    const f = await makeFixture(t);
    const layer = await f.layer({ file: 'x' });
    for (const bad of ['../escape', 'a/b', '', '.hidden']) {
      t.equal(
        await codeOf(f.snapshotter.prepare(bad, [layer])),
        'INVALID_SNAPSHOT_ID',
        `prepare ${JSON.stringify(bad)}`,
      );
      t.equal(await codeOf(f.snapshotter.remove(bad)), 'INVALID_SNAPSHOT_ID', `remove ${JSON.stringify(bad)}`);
    }
    t.same(await f.snapshotter.list(), [], 'nothing was prepared');
    t.equal(await exists(join(dirname(layer), 'escape')), false);
  });
}
