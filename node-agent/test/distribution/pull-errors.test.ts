// Registry client against a real registry: index selection, digest checks, and the errors a user sees.
import { readFile, mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { ContentError } from '../../src/content/errors.js';
import { sha256Digest } from '../../src/content/digest.js';
import { ImageStore } from '../../src/images/image-store.js';
import { RegistryClient } from '../../src/distribution/client.js';
import { RegistryError } from '../../src/distribution/errors.js';
import { mediaTypes } from '../../src/distribution/manifest.js';
import { parseReference } from '../../src/distribution/reference.js';
import { freePort, pushBusybox, startRegistry } from '@berth/testkit';

const registry = await startRegistry(t);
const digest = await pushBusybox(t, registry.address);
const base = `http://${registry.address}/v2/library/busybox`;

async function newStore(): Promise<{ store: ImageStore; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-registry-test-'));
  const store = new ImageStore({ root });
  t.teardown(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });
  return { store, root };
}

async function uploadBlob(bytes: Buffer): Promise<string> {
  const blobDigest = sha256Digest(bytes);
  const start = await request(`${base}/blobs/uploads/`, { method: 'POST' });
  await start.body.dump();
  const location = new URL(String(start.headers.location), `http://${registry.address}`);
  location.searchParams.set('digest', blobDigest);
  const put = await request(location.href, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`blob upload: ${put.statusCode}`);
  return blobDigest;
}

async function putManifest(ref: string, mediaType: string, bytes: Buffer): Promise<string> {
  const res = await request(`${base}/manifests/${ref}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': mediaType },
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`manifest put ${ref}: ${res.statusCode} ${text}`);
  return sha256Digest(bytes);
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const amd64Manifest = await readFile(registry.blobDataPath(digest));
const amd64 = JSON.parse(amd64Manifest.toString()) as {
  config: { digest: string; size: number };
  layers: { digest: string; size: number; mediaType: string }[];
};

t.test('reference parsing', async (t) => {
  t.same(parseReference('busybox'), { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' });
  t.same(parseReference(`127.0.0.1:5000/library/busybox@${digest}`), {
    registry: '127.0.0.1:5000',
    repository: 'library/busybox',
    digest,
  });
  t.same(parseReference('localhost/a/b:v1'), { registry: 'localhost', repository: 'a/b', tag: 'v1' });
  t.same(parseReference('[::1]:5000/x:y'), { registry: '[::1]:5000', repository: 'x', tag: 'y' });
  for (const bad of ['', 'UPPER/case', 'a/b@sha256:short', 'a:b:c', 'host:5000/../etc']) {
    t.equal(
      ((await errorOf(Promise.resolve().then(() => parseReference(bad)))) as RegistryError).code,
      'INVALID_REFERENCE',
      bad,
    );
  }
});

t.test('an OCI index resolves to its linux/amd64 manifest', async (t) => {
  // An arm64 sibling: same layer, config saying arm64.
  const armConfig = Buffer.from(
    JSON.stringify({
      architecture: 'arm64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
    }),
  );
  const armConfigDigest = await uploadBlob(armConfig);
  const armManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: armConfigDigest, size: armConfig.length },
      layers: amd64.layers,
    }),
  );
  const armDigest = await putManifest('arm64', mediaTypes.ociManifest, armManifest);
  const entry = (d: string, size: number, architecture: string) => ({
    mediaType: mediaTypes.ociManifest,
    digest: d,
    size,
    platform: { os: 'linux', architecture },
  });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [entry(armDigest, armManifest.length, 'arm64'), entry(digest, amd64Manifest.length, 'amd64')],
    }),
  );
  const indexDigest = await putManifest('multi', mediaTypes.ociIndex, index);
  const armOnly = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [entry(armDigest, armManifest.length, 'arm64')],
    }),
  );
  await putManifest('armonly', mediaTypes.ociIndex, armOnly);

  const client = new RegistryClient();
  t.teardown(() => client.close());
  const resolved = await client.resolve(parseReference(`${registry.address}/library/busybox:multi`));
  t.equal(resolved.digest, digest, 'picked the amd64 manifest');
  t.equal(resolved.index?.digest, indexDigest);

  const { store } = await newStore();
  const pulled = await store.pull(`${registry.address}/library/busybox:multi`);
  t.equal(pulled.digest, digest);
  t.same(pulled.config.config?.Cmd, ['sh']);

  const error = await errorOf(store.pull(`${registry.address}/library/busybox:armonly`));
  t.ok(RegistryError.isInstance(error));
  t.equal((error as RegistryError).code, 'NO_MATCHING_PLATFORM');
  t.match((error as Error).message, /no linux\/amd64 variant \(offers: linux\/arm64\)/);
});

t.test('unknown tag and unknown repository are ImageNotFound with a clear message', async (t) => {
  const { store } = await newStore();
  const tag = await errorOf(store.pull(`${registry.address}/library/busybox:nope`));
  t.equal((tag as RegistryError).code, 'IMAGE_NOT_FOUND');
  t.match((tag as Error).message, `has no tag nope in library/busybox`);
  const repo = await errorOf(store.pull(`${registry.address}/library/missing:latest`));
  t.equal((repo as RegistryError).code, 'IMAGE_NOT_FOUND');
  t.match((repo as Error).message, /repository library\/missing does not exist/);
  const byDigest = await errorOf(store.pull(`${registry.address}/library/busybox@sha256:${'0'.repeat(64)}`));
  t.equal((byDigest as RegistryError).code, 'IMAGE_NOT_FOUND');
});

t.test('an unreachable registry is RegistryUnreachable', async (t) => {
  const { store } = await newStore();
  const port = await freePort();
  const error = await errorOf(store.pull(`127.0.0.1:${port}/library/busybox:latest`));
  t.ok(RegistryError.isInstance(error));
  t.equal((error as RegistryError).code, 'REGISTRY_UNREACHABLE');
  t.match((error as Error).message, `cannot reach registry 127.0.0.1:${port}: ECONNREFUSED`);
});

t.test('a tampered layer blob is a DigestMismatch and nothing is kept', async (t) => {
  const { store, root } = await newStore();
  const layerPath = registry.blobDataPath(amd64.layers[0]!.digest);
  const original = await readFile(layerPath);
  t.teardown(() => writeFile(layerPath, original));
  const tampered = Buffer.from(original);
  tampered[tampered.length - 100] = (tampered[tampered.length - 100]! + 1) % 256;
  await writeFile(layerPath, tampered);
  const error = await errorOf(store.pull(`${registry.address}/library/busybox:latest`));
  t.ok(ContentError.isInstance(error));
  t.equal((error as ContentError).code, 'DIGEST_MISMATCH');
  t.match((error as Error).message, `expected ${amd64.layers[0]!.digest}`);
  t.equal(await store.content.info(amd64.layers[0]!.digest), undefined, 'no blob committed');
  t.equal(await store.layers.get(amd64.layers[0]!.digest), undefined, 'no layer unpacked');
  t.same(await readdir(join(root, 'content', 'ingest')), [], 'bad bytes not kept for a resume');
  await writeFile(layerPath, original);
  const pulled = await store.pull(`${registry.address}/library/busybox:latest`);
  t.equal(pulled.digest, digest, 'pull works once the registry is fixed');
});

t.test('a tampered manifest is a DigestMismatch', async (t) => {
  const { store } = await newStore();
  const path = registry.blobDataPath(digest);
  const original = await readFile(path);
  t.teardown(() => writeFile(path, original));
  await writeFile(path, Buffer.from(original.toString().replace('"schemaVersion":2', '"schemaVersion": 2')));
  const error = await errorOf(store.pull(`${registry.address}/library/busybox:latest`));
  t.equal((error as ContentError).code, 'DIGEST_MISMATCH');
  t.match((error as Error).message, /manifest of .* digest mismatch/);
});

t.test('a partial download resumes with a Range request', async (t) => {
  const { store } = await newStore();
  const layer = amd64.layers[0]!;
  const blob = await readFile(registry.blobDataPath(layer.digest));
  const writer = await store.content.writer({ ref: layer.digest, digest: layer.digest, size: layer.size });
  await writer.write([blob.subarray(0, 1000)]);
  await writer.close();
  const pulled = await store.pull(`${registry.address}/library/busybox:latest`);
  t.equal(pulled.downloadedBytes, layer.size - 1000, 'only the missing bytes were fetched');
  t.equal((await store.content.info(layer.digest))?.size, layer.size);
});
