// What the agent's Image endpoints do on this node: an Image's build log, its image exported as an OCI layout
// tarball, a tarball imported (its blobs checked, its names given here, its layers unpacked).
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import type { Image } from '@berth/api';
import type { BuildLogs } from '../build/build-log.js';
import type { ObjectCache } from '../cluster/mutation-cache.js';
import type { ImageEndpoints } from '../streaming/image-endpoint.js';
import { StreamingError } from '../streaming/status.js';
import { type ArchivedImage, ImageArchiveError, readImageArchive, writeImageArchive } from './image-archive.js';
import { ImageNames } from './image-names.js';
import type { ImageStore } from './image-store.js';

export class ImageTransfer implements ImageEndpoints {
  readonly #images: ImageStore;
  readonly #cache: ObjectCache<Image>;
  readonly #logs: BuildLogs;
  readonly #waitMs: number;

  /** `waitMs`: how long a build log request waits for an Image this node has not seen yet. @default 15000 */
  constructor(images: ImageStore, cache: ObjectCache<Image>, logs: BuildLogs, waitMs = 15_000) {
    this.#images = images;
    this.#cache = cache;
    this.#logs = logs;
    this.#waitMs = waitMs;
  }

  async buildLog(namespace: string, name: string, generation: number | undefined, signal: AbortSignal) {
    // The API server routes here once the Image is bound to this node, which this node's cache may not show yet.
    let image = this.#cache.get(namespace, name);
    for (const until = Date.now() + this.#waitMs; image === undefined && Date.now() < until && !signal.aborted; ) {
      await sleep(100, undefined, { signal }).catch(() => undefined);
      image = this.#cache.get(namespace, name);
    }
    if (image === undefined) return undefined;
    const uid = image.metadata.uid ?? '';
    const g = generation ?? image.metadata.generation ?? 0;
    const file = this.#logs.path(uid, g);
    // Ended once written and no longer being written: before its build starts here, a follow waits for it.
    const ended = async () =>
      !this.#logs.isActive(uid, g) &&
      (await access(file).then(
        () => true,
        () => false,
      ));
    return { file, ended };
  }

  async exportImage(namespace: string, name: string): Promise<(out: Writable, signal: AbortSignal) => Promise<void>> {
    const image = this.#cache.get(namespace, name);
    if (image === undefined) throw new StreamingError('NotFound', `images.berth.dev "${name}" not found`);
    const digest = image.status?.digest;
    const local =
      (digest !== undefined ? await this.#images.local(digest) : undefined) ??
      (await this.#images.local(image.spec.image));
    if (local === undefined)
      throw new StreamingError('NotFound', `image ${image.spec.image} is not on this node: pull or build it first`);
    const archived: ArchivedImage = { digest: local.digest, names: [ImageNames.normalize(image.spec.image)] };
    return (out, signal) => writeImageArchive(this.#images.content, [archived], out, signal);
  }

  async importArchive(source: Readable, signal: AbortSignal): Promise<{ images: readonly ArchivedImage[] }> {
    let images: ArchivedImage[];
    try {
      images = await readImageArchive(this.#images.content, source, signal);
    } catch (err) {
      if (ImageArchiveError.isInstance(err)) throw new StreamingError('BadRequest', err.message, { cause: err });
      throw err;
    }
    for (const image of images) {
      // Unpacked now (each layer checked against its diff_id), so a run after the load starts at once.
      if ((await this.#images.local(image.digest)) === undefined)
        throw new StreamingError('BadRequest', `the archive's image ${image.digest} is incomplete`);
      for (const n of image.names) await this.#images.names.set(n, image.digest);
    }
    return { images };
  }
}
