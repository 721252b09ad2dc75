// The overlay snapshotter on real overlay mounts (root) passes the Snapshotter conformance suite.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { OverlaySnapshotter } from '../../src/snapshots/overlay.js';
import { snapshotterConformance } from './snapshotter-conformance.js';

snapshotterConformance(t, 'OverlaySnapshotter', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-snapshotter-conformance-'));
  const snapshotter = new OverlaySnapshotter(root);
  t.teardown(async () => {
    // Unmount whatever a failed assertion left mounted before deleting the tree.
    for (const s of await snapshotter.list()) await snapshotter.remove(s.id).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });
  let layers = 0;
  return {
    snapshotter,
    reopen: () => new OverlaySnapshotter(root),
    async layer(files) {
      const dir = join(root, 'layers', 'sha256', String(layers++), 'fs');
      await mkdir(dir, { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
      return dir;
    },
  };
});
