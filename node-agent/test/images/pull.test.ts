// Pulling the busybox image from a real loopback registry: layers unpacked once, cached pulls download nothing.
import { createHash } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ImageStore } from '../../src/images/image-store.js';
import { OverlaySnapshotter } from '../../src/snapshots/overlay.js';
import type { PullProgress } from '../../src/images/images.js';
import { pushBusybox, startRegistry } from '@berth/testkit';

const registry = await startRegistry(t);
const digest = await pushBusybox(t, registry.address);
const image = `${registry.address}/library/busybox:latest`;

async function newStore(): Promise<{ store: ImageStore; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-images-test-'));
  const store = new ImageStore({ root });
  t.teardown(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });
  return { store, root };
}

t.test('pull by tag gives the pushed digest, the config and an unpacked layer', async (t) => {
  const { store, root } = await newStore();
  const events: PullProgress[] = [];
  const pulled = await store.pull(image, { onProgress: (e) => events.push(e) });
  t.equal(pulled.digest, digest);
  t.equal(pulled.reference, image);
  t.same(pulled.config.config?.Cmd, ['sh']);
  t.match(pulled.config.config?.Env?.[0], /^PATH=/);
  t.equal(pulled.layers.length, 1);
  const layer = pulled.layers[0]!;
  t.equal(layer.dir, join(root, 'layers', 'sha256', layer.digest.slice(7), 'fs'));
  t.equal(layer.diffID, pulled.config.rootfs.diff_ids[0]);
  t.ok((await stat(join(layer.dir, 'bin', 'busybox'))).isFile(), 'busybox binary unpacked');
  t.equal(await readlink(join(layer.dir, 'bin', 'sh')), '/bin/busybox', 'applet symlinks kept verbatim');
  t.match(await readFile(join(layer.dir, 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/);
  t.equal(pulled.downloadedBytes, layer.size, 'the layer was downloaded once');
  t.ok(
    (await stat(join(root, 'content', 'blobs', 'sha256', layer.digest.slice(7)))).isFile(),
    'layer blob in the content store',
  );
  t.ok(
    (await stat(join(root, 'content', 'blobs', 'sha256', digest.slice(7)))).isFile(),
    'manifest in the content store',
  );
  t.same(
    events.map((e) => (e.kind === 'layer' ? e.phase : e.kind)),
    ['resolved', 'downloading', 'downloaded', 'unpacked'],
  );
});

t.test('pull by digest', async (t) => {
  const { store } = await newStore();
  const pulled = await store.pull(`${registry.address}/library/busybox@${digest}`);
  t.equal(pulled.digest, digest);
  t.equal(pulled.layers.length, 1);
});

t.test('concurrent pulls of one image share one download and one unpack', async (t) => {
  const { store } = await newStore();
  const [a, b] = await Promise.all([store.pull(image), store.pull(image)]);
  t.equal(a.layers[0]!.dir, b.layers[0]!.dir);
  t.equal(a.downloadedBytes + b.downloadedBytes, a.layers[0]!.size, 'layer bytes fetched once in total');
  t.ok((await stat(join(a.layers[0]!.dir, 'bin', 'busybox'))).isFile());
});

t.test(
  'many concurrent first pulls of one image all succeed (manifest and config writers queue, none aborts another)',
  async (t) => {
    const { store } = await newStore();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.pull(image)));
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => String(r.reason));
    t.same(failures, []);
  },
);

t.test('two containers from one image share its unpacked layers', async (t) => {
  const { store, root } = await newStore();
  const snapshotter = new OverlaySnapshotter(root);
  t.teardown(async () => {
    await snapshotter.remove('a');
    await snapshotter.remove('b');
  });
  const first = await store.pull(image);
  const second = await store.pull(image);
  t.equal(second.downloadedBytes, 0);
  const lowers = (p: typeof first) => p.layers.map((l) => l.dir).reverse();
  t.same(lowers(second), lowers(first), 'same layer directories');
  const a = await snapshotter.prepare('a', lowers(first));
  const b = await snapshotter.prepare('b', lowers(second));
  t.ok((await stat(join(a.rootfs, 'bin', 'busybox'))).isFile());
  t.ok((await stat(join(b.rootfs, 'bin', 'busybox'))).isFile());
  await writeFile(join(a.rootfs, 'etc', 'only-in-a'), 'x');
  await t.rejects(access(join(b.rootfs, 'etc', 'only-in-a')), 'b does not see a’s file');
  await t.rejects(access(join(first.layers[0]!.dir, 'etc', 'only-in-a')), 'the shared layer is untouched');
  await snapshotter.remove('a');
  t.ok((await stat(join(first.layers[0]!.dir, 'bin', 'busybox'))).isFile(), 'layer stays after a container is removed');
});

/** Pushes busybox's manifest with its config's diff_ids replaced, under `tag`; returns the reference. */
async function pushWithDiffIDs(tag: string, diffIDs: (original: string) => string[]): Promise<string> {
  const v2 = `http://${registry.address}/v2/library/busybox`;
  const oci = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = JSON.parse(
    Buffer.from(
      await (await fetch(`${v2}/manifests/${digest}`, { headers: { accept: oci } })).arrayBuffer(),
    ).toString(),
  ) as { config: { digest: string; size: number } };
  const config = JSON.parse(await (await fetch(`${v2}/blobs/${manifest.config.digest}`)).text()) as {
    rootfs: { diff_ids: string[] };
  };
  const doctored = Buffer.from(
    JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: diffIDs(config.rootfs.diff_ids[0] ?? '') } }),
  );
  const configDigest = `sha256:${createHash('sha256').update(doctored).digest('hex')}`;
  const upload = await fetch(`${v2}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(upload.headers.get('location') ?? '', `http://${registry.address}`);
  location.searchParams.set('digest', configDigest);
  t.equal((await fetch(location, { method: 'PUT', body: doctored })).status, 201, 'config pushed');
  const put = await fetch(`${v2}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': oci },
    body: JSON.stringify({ ...manifest, config: { ...manifest.config, digest: configDigest, size: doctored.length } }),
  });
  t.equal(put.status, 201, 'manifest pushed');
  return `${registry.address}/library/busybox:${tag}`;
}

t.test(
  'a config that disagrees with the layers fails the pull and publishes no layer, though config and layers download at once',
  async (t) => {
    const { store, root } = await newStore();
    const wrong = await pushWithDiffIDs('wrong-diffid', () => [`sha256:${'0'.repeat(64)}`]);
    await t.rejects(store.pull(wrong), { name: 'DigestMismatch' }, 'the layer unpacks to another diffID');
    t.same(await readdir(join(root, 'layers', 'sha256')).catch(() => []), [], 'no layer published');
    const inconsistent = await pushWithDiffIDs('two-diffids', (original) => [original, original]);
    await t.rejects(store.pull(inconsistent), { name: 'RegistryProtocolError', message: /inconsistent/ });
    t.same(await readdir(join(root, 'layers', 'sha256')).catch(() => []), [], 'still no layer published');
    t.equal((await store.pull(image)).digest, digest, 'the true image still pulls');
  },
);

t.test('an aborted pull stops with the abort reason and publishes nothing', async (t) => {
  const { store, root } = await newStore();
  const controller = new AbortController();
  const reason = new Error('container deleted');
  const pulling = store.pull(image, {
    signal: controller.signal,
    onProgress: (e) => {
      if (e.kind === 'resolved') controller.abort(reason);
    },
  });
  await t.rejects(pulling, reason);
  const layerDirs = await readdir(join(root, 'layers', 'sha256')).catch(() => []);
  t.same(layerDirs, [], 'no layer published');
});

t.test(
  'a push to another repository of the registry mounts the blobs a pull brought instead of uploading them',
  async (t) => {
    const { store } = await newStore();
    const pulled = await store.pull(image);
    const target = `${registry.address}/demo/mounted:1`;
    const pulledRef = `${registry.address}/library/busybox@${pulled.digest}`;
    const pushed = await store.push(pulledRef, target);
    t.same(
      { mounted: pushed.mounted, uploaded: pushed.uploaded, skipped: pushed.skipped },
      { mounted: pulled.layers.length + 1, uploaded: 0, skipped: 0 },
      'the config and every layer mounted from library/busybox',
    );
    const { store: fresh } = await newStore();
    t.equal((await fresh.pull(target)).digest, pulled.digest, 'the mounted image pulls from its new repository');
    t.same((await store.push(pulledRef, target)).skipped, pulled.layers.length + 1, 'a second push finds them there');
  },
);

t.test('a second pull of a cached image downloads no blob', async (t) => {
  const { store } = await newStore();
  const first = await store.pull(image);
  // Take the layer and config out of the registry: a pull that still tried to fetch them would fail.
  const layerDigest = first.layers[0]!.digest;
  const manifest = JSON.parse(await readFile(registry.blobDataPath(digest), 'utf8')) as {
    config: { digest: string };
  };
  const removed: [string, Buffer][] = [];
  for (const blob of [layerDigest, manifest.config.digest]) {
    const path = registry.blobDataPath(blob);
    removed.push([path, await readFile(path)]);
    await unlink(path);
  }
  t.teardown(async () => {
    for (const [path, bytes] of removed) await writeFile(path, bytes);
  });
  const events: PullProgress[] = [];
  const second = await store.pull(image, { onProgress: (e) => events.push(e) });
  t.equal(second.downloadedBytes, 0);
  t.equal(second.layers[0]!.dir, first.layers[0]!.dir, 'same unpacked layer');
  t.same(
    events.map((e) => (e.kind === 'layer' ? e.phase : e.kind)),
    ['resolved', 'cached'],
  );
  // By digest, a stored manifest needs no registry at all.
  await registry.stop();
  await t.rejects(fetch(`http://${registry.address}/v2/`), 'registry is down');
  const offline = await store.pull(`${registry.address}/library/busybox@${digest}`);
  t.equal(offline.layers[0]!.dir, first.layers[0]!.dir);
});
