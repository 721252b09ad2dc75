// Image garbage collection as the kubelet's: when the data root's filesystem is fuller than `highThresholdPercent`,
// blobs no image in use references are removed (with their applied layers), oldest first, until it is below
// `lowThresholdPercent`; `force` removes every unreferenced one (a prune). In use: the manifests the caller names
// (images named on this node, images its Containers and Image objects use), and everything they reference.
import { statfs } from 'node:fs/promises';
import type { Info } from '../content/content.js';
import { parseManifest } from '../distribution/manifest.js';
import type { ImageStore } from './image-store.js';

export interface ImageGcOptions {
  /** @default 85 (kubelet's imageGCHighThresholdPercent) */
  readonly highThresholdPercent?: number;
  /** @default 80 (kubelet's imageGCLowThresholdPercent) */
  readonly lowThresholdPercent?: number;
  /** Blobs younger than this are kept: a pull or build in flight has not named them yet. @default 600000 (10 min) */
  readonly minAgeMs?: number;
  /** Remove every unreferenced blob, whatever the disk usage. @default false */
  readonly force?: boolean;
}

export interface ImageGcResult {
  readonly removed: readonly string[];
  readonly freedBytes: number;
}

async function usedPercent(path: string): Promise<number> {
  const s = await statfs(path);
  return s.blocks === 0 ? 0 : (100 * (s.blocks - s.bavail)) / s.blocks;
}

/** `roots`: manifest digests in use. Unknown or missing roots are skipped. */
export async function collectImageGarbage(
  store: ImageStore,
  root: string,
  roots: Iterable<string>,
  options: ImageGcOptions = {},
): Promise<ImageGcResult> {
  const high = options.highThresholdPercent ?? 85;
  const low = options.lowThresholdPercent ?? 80;
  if (options.force !== true && (await usedPercent(root)) < high) return { removed: [], freedBytes: 0 };
  const keep = new Set<string>();
  // An index's manifests are roots too: their configs and layers are what a multi-platform image holds.
  const pending = [...roots];
  for (let digest = pending.pop(); digest !== undefined; digest = pending.pop()) {
    if (keep.has(digest) || (await store.content.info(digest)) === undefined) continue;
    keep.add(digest);
    const parsed = parseManifest(await store.content.readBlob(digest), undefined);
    if (parsed.kind === 'index') pending.push(...parsed.index.manifests.map((m) => m.digest));
    else for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) keep.add(d.digest);
  }
  const candidates: Info[] = [];
  const cutoff = Date.now() - (options.minAgeMs ?? 600_000);
  await store.content.walk((info) => {
    if (!keep.has(info.digest) && info.committedAt.getTime() <= cutoff) candidates.push(info);
  });
  // Oldest first: berth keeps no per-image last-use time yet, so the time a blob arrived stands in for it.
  candidates.sort((a, b) => a.committedAt.getTime() - b.committedAt.getTime());
  const removed: string[] = [];
  let freedBytes = 0;
  for (const info of candidates) {
    if (options.force !== true && (await usedPercent(root)) < low) break;
    await store.layers.remove(info.digest);
    if (await store.content.delete(info.digest)) {
      removed.push(info.digest);
      freedBytes += info.size;
    }
  }
  return { removed, freedBytes };
}
