// Test fixture: the reproducible one-layer busybox image (hack/busybox-image.sh), pushed to a test registry, and a
// two-platform index made of it (multi-platform pulls, builds and pushes).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHackScript } from './hack-script.js';
import type { Teardown } from './teardown.js';

/** Builds and pushes the busybox test image to `address`; returns its manifest digest. */
export async function pushBusybox(
  t: Teardown,
  address: string,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  // Each push gets its own OCI layout dir, so parallel test files never rewrite each other's.
  const layout = await mkdtemp(join(tmpdir(), 'berth-busybox-oci-'));
  t.teardown(() => rm(layout, { recursive: true, force: true }));
  const stdout = await runHackScript('busybox-image.sh', [address], { BERTH_BUSYBOX_OCI: layout, ...extraEnv });
  return stdout.trim().split('\n').pop() ?? '';
}

/**
 * Pushes `repository:tag` to the registry at `address` (which has pushBusybox's image) as an OCI index of two platforms: busybox's manifest as linux/amd64, and a copy whose config
 * says linux/arm64 (the same layer: it is never run). Returns the digests of the two manifests and of the index.
 */
export async function pushTwoPlatformBusybox(
  address: string,
  repository: string,
  tag: string,
): Promise<{ amd64: string; arm64: string; index: string }> {
  const v2 = `http://${address}/v2`;
  const oci = 'application/vnd.oci.image.manifest.v1+json';
  const bytes = async (path: string, accept: string) => {
    const res = await fetch(`${v2}${path}`, { headers: { accept } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const putBlob = async (blob: Buffer) => {
    const started = await fetch(`${v2}/${repository}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(started.headers.get('location') ?? '', `http://${address}`);
    location.searchParams.set('digest', sha(blob));
    const put = await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status}`);
  };
  const putManifest = async (reference: string, body: Buffer, type: string) => {
    const put = await fetch(`${v2}/${repository}/manifests/${reference}`, {
      method: 'PUT',
      body,
      headers: { 'content-type': type },
    });
    if (put.status !== 201) throw new Error(`manifest ${reference}: ${put.status} ${await put.text()}`);
  };
  const amd64Bytes = await bytes('/library/busybox/manifests/latest', oci);
  const manifest = JSON.parse(amd64Bytes.toString('utf8')) as {
    config: { digest: string; size: number };
    layers: { digest: string }[];
  };
  const config = await bytes(`/library/busybox/blobs/${manifest.config.digest}`, '*/*');
  for (const layer of manifest.layers) await putBlob(await bytes(`/library/busybox/blobs/${layer.digest}`, '*/*'));
  await putBlob(config);
  const armConfig = Buffer.from(JSON.stringify({ ...JSON.parse(config.toString('utf8')), architecture: 'arm64' }));
  await putBlob(armConfig);
  const armBytes = Buffer.from(
    JSON.stringify({ ...manifest, config: { ...manifest.config, digest: sha(armConfig), size: armConfig.length } }),
  );
  await putManifest(sha(amd64Bytes), amd64Bytes, oci);
  await putManifest(sha(armBytes), armBytes, oci);
  const entry = (b: Buffer, architecture: string) => ({
    mediaType: oci,
    digest: sha(b),
    size: b.length,
    platform: { os: 'linux', architecture },
  });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [entry(amd64Bytes, 'amd64'), entry(armBytes, 'arm64')],
    }),
  );
  await putManifest(tag, index, 'application/vnd.oci.image.index.v1+json');
  return { amd64: sha(amd64Bytes), arm64: sha(armBytes), index: sha(index) };
}
