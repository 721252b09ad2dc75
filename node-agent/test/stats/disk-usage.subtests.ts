// What `GET /stats/disk` reports, on a data root laid out as the agent lays it out: an image found among the
// content's blobs (a layer blob beside it is not taken for a manifest), its unpacked layer's recorded size, a writable
// layer walked (a hard link counted once, a symbolic link as itself), a named Volume's data and a build cache entry.

import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Info } from '../../src/content/content.js';
import { diskUsage, treeBytes } from '../../src/stats/disk-usage.js';

const root = await mkdtemp(path.join(tmpdir(), 'berth-disk-usage-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const hex = (c: string) => c.repeat(64);
const layer = `sha256:${hex('a')}`;
const config = `sha256:${hex('c')}`;
const manifest = `sha256:${hex('d')}`;
const blobs = new Map<string, Buffer>([
  [
    manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 100 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 1000 }],
      }),
    ),
  ],
  [
    config,
    Buffer.from(JSON.stringify({ created: '2024-05-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [layer] } })),
  ],
  [layer, Buffer.from([0x1f, 0x8b, 0x08, 0x00])],
]);
const content = {
  walk: async (visit: (info: Info) => void | Promise<void>) => {
    for (const [digest, b] of blobs) await visit({ digest, size: b.length, committedAt: new Date() });
  },
  readBlob: async (digest: string) => blobs.get(digest) ?? Buffer.alloc(0),
};

t.test('images, layers, writable layers, volumes and the build cache', async (t) => {
  await mkdir(path.join(root, 'layers', 'sha256', hex('a'), 'fs'), { recursive: true });
  await writeFile(
    path.join(root, 'layers', 'sha256', hex('a'), 'diffid'),
    JSON.stringify({ diffID: layer, size: 2_129_920 }),
  );
  // Being unpacked: no diffid yet, not reported.
  await mkdir(path.join(root, 'layers', 'sha256', hex('b')), { recursive: true });
  const upper = path.join(root, 'containers', 'uid-1', 'upper');
  await mkdir(path.join(upper, 'etc'), { recursive: true });
  await writeFile(path.join(upper, 'big'), Buffer.alloc(300_000));
  await link(path.join(upper, 'big'), path.join(upper, 'etc', 'same-big'));
  await symlink('/nowhere/at/all', path.join(upper, 'dangling'));
  // A container that never wrote: its upper dir is empty.
  await mkdir(path.join(root, 'containers', 'uid-2', 'upper'), { recursive: true });
  const data = path.join(root, 'volumes', 'default', 'store', '_data');
  await mkdir(data, { recursive: true });
  await writeFile(path.join(data, 'f'), Buffer.alloc(50_000));
  await mkdir(path.join(root, 'build', 'cache'), { recursive: true });
  await writeFile(
    path.join(root, 'build', 'cache', `${hex('e')}.json`),
    JSON.stringify({ digest: `sha256:${hex('f')}`, diffID: 'x', size: 4096, mediaType: 'm' }),
  );

  const report = await diskUsage({
    root,
    content,
    names: { list: async () => [{ reference: 'example.test/app:1', digest: manifest, createdAt: '' }] },
  });
  t.same(report.images, [
    { digest: manifest, config, names: ['example.test/app:1'], layers: [layer], created: '2024-05-01T00:00:00Z' },
  ]);
  t.same(report.layers, [{ digest: layer, bytes: 2_129_920 }], 'the recorded uncompressed size');
  t.same(
    [...report.containers].sort((a, b) => a.uid.localeCompare(b.uid)),
    [
      { uid: 'uid-1', bytes: 300_000 + '/nowhere/at/all'.length },
      { uid: 'uid-2', bytes: 0 },
    ],
    'the hard link once, the symbolic link as its own length',
  );
  t.same(report.volumes, [{ namespace: 'default', name: 'store', bytes: 50_000 }]);
  t.same(report.buildCache, [{ layer: `sha256:${hex('f')}`, bytes: 4096 }]);
  t.match(report.time, /^\d{4}-\d\d-\d\dT/);
});

t.test('treeBytes of what is not there is 0; of a file, its size', async (t) => {
  t.equal(await treeBytes(path.join(root, 'missing')), 0);
  const file = path.join(root, 'one');
  await writeFile(file, 'abc');
  t.equal(await treeBytes(file), 3);
});
