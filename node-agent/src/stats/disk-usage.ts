// What this node's disk holds, measured when asked (GET /stats/disk on the agent socket, which the API server
// relays as metrics.berth.dev NodeDiskUsage for `berth system df`): the images and their unpacked layers, each
// Container's writable layer, each named Volume's data, the build cache's entries. Measured on demand and never
// written to the API, so no object's resourceVersion moves for it.

import { lstat, opendir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../content/content.js';
import { parseConfig, parseManifest } from '../distribution/manifest.js';
import type { ImageNames } from '../images/image-names.js';

export interface DiskUsageImage {
  /** The manifest's digest. */
  readonly digest: string;
  /** Its config's digest (docker's IMAGE ID). */
  readonly config: string;
  /** What this node calls it (built, tagged, committed); pulled images are named by the API's objects. */
  readonly names: readonly string[];
  /** Its layers' blob digests, base first. */
  readonly layers: readonly string[];
  readonly created?: string;
}

export interface DiskUsageReport {
  readonly time: string;
  readonly images: readonly DiskUsageImage[];
  /** Every unpacked layer: its blob digest and its uncompressed size (what docker counts as an image's size). */
  readonly layers: readonly { readonly digest: string; readonly bytes: number }[];
  /** Writable layers by the Container's uid. */
  readonly containers: readonly { readonly uid: string; readonly bytes: number }[];
  readonly volumes: readonly { readonly namespace: string; readonly name: string; readonly bytes: number }[];
  /** Build steps cached, each with the layer it made. */
  readonly buildCache: readonly { readonly layer: string; readonly bytes: number }[];
}

export interface DiskUsageSources {
  /** The agent's data root (<root>/layers, containers, volumes, build/cache). */
  readonly root: string;
  readonly content: Pick<ContentStore, 'walk' | 'readBlob'>;
  readonly names: Pick<ImageNames, 'list'>;
}

/** Manifests are small; a blob bigger than this is a layer and is not read. */
const manifestMaxBytes = 4 * 1024 * 1024;

/** The entries of a directory; none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  try {
    const names: string[] = [];
    for await (const d of await opendir(dir)) names.push(d.name);
    return names;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Bytes of the files under `dir`, as docker sizes a writable layer: each file's size once (hard links counted
 * once), not following symbolic links and not crossing into another filesystem mounted below it.
 */
export async function treeBytes(dir: string): Promise<number> {
  let top: Awaited<ReturnType<typeof lstat>>;
  try {
    top = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  if (!top.isDirectory()) return top.size;
  const seen = new Set<bigint | number>();
  let bytes = 0;
  const stack = [dir];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const name of await entries(next)) {
      const path = join(next, name);
      // Gone between the listing and the stat: a running container's files change under the walk.
      const s = await lstat(path).catch(() => undefined);
      if (s === undefined || s.dev !== top.dev) continue;
      if (s.isDirectory()) stack.push(path);
      else if (s.nlink <= 1) bytes += s.size;
      else if (!seen.has(s.ino)) {
        seen.add(s.ino);
        bytes += s.size;
      }
    }
  }
  return bytes;
}

async function images(sources: DiskUsageSources): Promise<DiskUsageImage[]> {
  const named = new Map<string, string[]>();
  for (const n of await sources.names.list()) named.set(n.digest, [...(named.get(n.digest) ?? []), n.reference]);
  const candidates: string[] = [];
  await sources.content.walk((info) => {
    if (info.size <= manifestMaxBytes) candidates.push(info.digest);
  });
  const found: DiskUsageImage[] = [];
  for (const digest of candidates) {
    let parsed: ReturnType<typeof parseManifest>;
    try {
      parsed = parseManifest(await sources.content.readBlob(digest), undefined);
    } catch {
      continue; // a config, a small layer, or removed since the walk
    }
    if (parsed.kind !== 'manifest') continue;
    const { manifest } = parsed;
    const created = await sources.content
      .readBlob(manifest.config.digest)
      .then((b) => parseConfig(b).created)
      .catch(() => undefined);
    found.push({
      digest,
      config: manifest.config.digest,
      names: named.get(digest) ?? [],
      layers: manifest.layers.map((l) => l.digest),
      ...(typeof created === 'string' ? { created } : {}),
    });
  }
  return found;
}

/** Unpacked layers, sized from what the unpacker recorded (the tar's length), not by walking them. */
async function layers(root: string): Promise<DiskUsageReport['layers']> {
  const dir = join(root, 'layers', 'sha256');
  const out: { digest: string; bytes: number }[] = [];
  for (const hex of await entries(dir)) {
    const meta = await readFile(join(dir, hex, 'diffid'), 'utf8').catch(() => undefined);
    if (meta === undefined) continue; // still being unpacked
    const size = (JSON.parse(meta) as { size?: unknown }).size;
    out.push({ digest: `sha256:${hex}`, bytes: typeof size === 'number' ? size : 0 });
  }
  return out;
}

async function buildCache(root: string): Promise<DiskUsageReport['buildCache']> {
  const dir = join(root, 'build', 'cache');
  const out: { layer: string; bytes: number }[] = [];
  for (const file of await entries(dir)) {
    if (!file.endsWith('.json')) continue;
    const entry = await readFile(join(dir, file), 'utf8')
      .then((text) => JSON.parse(text) as { digest?: unknown; size?: unknown })
      .catch(() => undefined);
    if (entry === undefined || typeof entry.digest !== 'string') continue;
    out.push({ layer: entry.digest, bytes: typeof entry.size === 'number' ? entry.size : 0 });
  }
  return out;
}

export async function diskUsage(sources: DiskUsageSources): Promise<DiskUsageReport> {
  const { root } = sources;
  const containers = await Promise.all(
    (await entries(join(root, 'containers'))).map(async (uid) => ({
      uid,
      bytes: await treeBytes(join(root, 'containers', uid, 'upper')),
    })),
  );
  const volumes: { namespace: string; name: string; bytes: number }[] = [];
  for (const namespace of await entries(join(root, 'volumes')))
    for (const name of await entries(join(root, 'volumes', namespace)))
      volumes.push({ namespace, name, bytes: await treeBytes(join(root, 'volumes', namespace, name, '_data')) });
  return {
    time: new Date().toISOString(),
    images: await images(sources),
    layers: await layers(root),
    containers,
    volumes,
    buildCache: await buildCache(root),
  };
}
