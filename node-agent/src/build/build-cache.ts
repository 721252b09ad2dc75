// The layer cache: a step's key (its parent's key, the instruction with variables expanded, the digest of the files
// it copies, as BuildKit and docker key theirs) → the layer it made, kept under <root>/build/cache/.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../content/content.js';
import type { LayerUnpacker } from '../unpack/unpack.js';

export interface CachedLayer {
  readonly digest: string;
  readonly diffID: string;
  readonly size: number;
  readonly mediaType: string;
}

/** The key of a step: a digest over its parts, in order. */
export function stepKey(...parts: readonly unknown[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

export class BuildCache {
  readonly #dir: string;
  readonly #content: ContentStore;
  readonly #layers: LayerUnpacker;

  constructor(root: string, content: ContentStore, layers: LayerUnpacker) {
    this.#dir = join(root, 'build', 'cache');
    this.#content = content;
    this.#layers = layers;
  }

  #file(key: string): string {
    return join(this.#dir, `${key.replace(/^sha256:/, '')}.json`);
  }

  /** The layer of `key`, only while its blob and its applied tree are both still on this node (GC may take them). */
  async get(key: string): Promise<(CachedLayer & { readonly dir: string }) | undefined> {
    let layer: CachedLayer;
    try {
      layer = JSON.parse(await readFile(this.#file(key), 'utf8')) as CachedLayer;
    } catch {
      return undefined;
    }
    const applied = await this.#layers.get(layer.digest);
    if (applied === undefined || (await this.#content.info(layer.digest)) === undefined) return undefined;
    return { ...layer, dir: applied.dir };
  }

  async set(key: string, layer: CachedLayer): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const tmp = `${this.#file(key)}.${randomBytes(4).toString('hex')}`;
    const { digest, diffID, size, mediaType } = layer;
    await writeFile(tmp, JSON.stringify({ digest, diffID, size, mediaType }));
    await rename(tmp, this.#file(key));
  }
}
