// Pulls images by composing the registry client, the content store and the layer unpacker.
import { join } from 'node:path';
import { LocalContentStore } from '../content/local-store.js';
import { PassThrough, type Readable } from 'node:stream';
import { InvalidArgumentError } from '@berth/api';
import type { ContentStore, ContentWriter } from '../content/content.js';
import { RegistryClient, type RegistryClientOptions, type RequestOptions } from '../distribution/client.js';
import { ContentError, DigestMismatch } from '../content/errors.js';
import { ImageNotFound, RegistryProtocolError, RegistryUnreachable } from '../distribution/errors.js';
import { pushImage, type PushOptions, type PushResult } from '../distribution/push.js';
import {
  parseConfig,
  parseManifest,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
} from '../distribution/manifest.js';
import { formatReference, parseReference, type Reference } from '../distribution/reference.js';
import type { Remote } from '../distribution/distribution.js';
import { sha256Digest } from '../content/digest.js';
import { LayerStore } from '../unpack/layer-store.js';
import { BlobSources } from './blob-sources.js';
import { ImageNames } from './image-names.js';
import type { AppliedLayer, LayerUnpacker, UnpackOptions } from '../unpack/unpack.js';
import type { ImageService, PulledImage, PulledLayer, PullOptions } from './images.js';

export interface ImageStoreOptions {
  /** The agent's data root (content/ and layers/ go below it). @default /var/lib/berth/node */
  readonly root?: string;
  /** TLS and timeouts of the registry client this store creates (ignored when `remote` is given). */
  readonly registry?: RegistryClientOptions;
  /** A remote to use instead of creating a RegistryClient (closed by the caller). */
  readonly remote?: Remote;
  /** Layers downloaded at once per pull. @default 3 */
  readonly concurrency?: number;
}

/** The diffID a layer must unpack to, or how to learn it (the image config may still be downloading). */
type DiffIDSource = NonNullable<UnpackOptions['diffID']>;

/** Implements ImageService on the local content store and layer store. */
export class ImageStore implements ImageService {
  readonly content: ContentStore;
  readonly layers: LayerUnpacker;
  /** Names of images made on this node (builds, commits, tags). */
  readonly names: ImageNames;
  readonly #sources: BlobSources;
  readonly #remote: Remote;
  readonly #ownsRemote: boolean;
  readonly #concurrency: number;

  constructor(options: ImageStoreOptions = {}) {
    const root = options.root ?? '/var/lib/berth/node';
    const concurrency = options.concurrency ?? 3;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new InvalidArgumentError(`ImageStore option concurrency must be a positive integer, got ${concurrency}`);
    this.content = new LocalContentStore(join(root, 'content'));
    this.layers = new LayerStore(root);
    this.names = new ImageNames(root);
    this.#sources = new BlobSources(root);
    this.#remote = options.remote ?? new RegistryClient(options.registry ?? {});
    this.#ownsRemote = options.remote === undefined;
    this.#concurrency = concurrency;
  }

  async close(): Promise<void> {
    if (this.#ownsRemote) await this.#remote.close();
  }

  async pull(reference: string, options: PullOptions = {}): Promise<PulledImage> {
    const ref = parseReference(reference);
    const request: RequestOptions = {
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const { digest, manifest, stored } = await this.#manifest(ref, options, request);
    options.onProgress?.({ kind: 'resolved', digest, layers: manifest.layers.length });
    // The manifest is stored, the config fetched and the layers fetched and unpacked all at once, as skopeo and
    // containerd do: one after another, the first layer byte came 7–22 % into a busybox pull. A layer's diffID is
    // checked once the config is in, before the layer is published.
    const configured = this.#config(ref, manifest, request).then((config) => {
      if (config.rootfs.diff_ids.length !== manifest.layers.length) {
        throw new RegistryProtocolError(
          `image ${formatReference(ref)} is inconsistent: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in its config`,
        );
      }
      return config;
    });
    // Without a config the layers cannot be checked or used: its failure stops their downloads too.
    const configFailed = new AbortController();
    configured.catch(() => configFailed.abort());
    const layerRequest: RequestOptions = {
      ...request,
      signal: options.signal ? AbortSignal.any([options.signal, configFailed.signal]) : configFailed.signal,
    };
    let downloadedBytes = 0;
    const layersDone = mapBounded(manifest.layers, this.#concurrency, async (layer, i): Promise<PulledLayer> => {
      const expectedDiffID = async (): Promise<string> => (await configured).rootfs.diff_ids[i] as string;
      let applied = await this.layers.get(layer.digest);
      if (applied !== undefined) {
        options.onProgress?.({ kind: 'layer', digest: layer.digest, phase: 'cached' });
      } else {
        const fetched = await this.#fetchLayer(ref, layer, expectedDiffID, options, layerRequest);
        // Not `x += await …`: that reads x before the await and loses the other layers' bytes.
        downloadedBytes += fetched.downloaded;
        applied = fetched.applied;
        options.onProgress?.({ kind: 'layer', digest: layer.digest, phase: 'unpacked' });
      }
      const diffID = await expectedDiffID();
      if (applied.diffID !== diffID)
        throw new RegistryProtocolError(
          `layer ${layer.digest} of ${formatReference(ref)} unpacks to ${applied.diffID}, but the config lists ${diffID}`,
        );
      return { digest: layer.digest, diffID, size: layer.size, dir: applied.dir };
    });
    // Everything settles before the pull answers (no download goes on behind a failed pull); the config's own
    // failure is the cause when there is one, since the layers then fail for want of it.
    const [storedResult, configResult, layersResult] = await Promise.allSettled([stored, configured, layersDone]);
    for (const result of [configResult, storedResult, layersResult])
      if (result.status === 'rejected') throw result.reason;
    const config = await configured;
    const layers = await layersDone;
    await this.#sources.add(
      [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
      ref.registry,
      ref.repository,
    );
    return { reference: formatReference(ref), digest, config, layers, downloadedBytes };
  }

  /**
   * An image this node holds without asking a registry: a local name (built, committed, tagged here), a bare
   * manifest digest (`sha256:…`) or `…@sha256:…`, whose manifest, config and layers are all in the stores.
   */
  async local(reference: string): Promise<PulledImage | undefined> {
    let digest: string | undefined;
    let name = reference;
    if (/^sha256:[a-f0-9]{64}$/.test(reference)) digest = reference;
    else {
      let ref: Reference;
      try {
        ref = parseReference(reference);
      } catch {
        return undefined;
      }
      name = formatReference(ref);
      digest = ref.digest ?? (await this.names.get(reference))?.digest;
    }
    if (digest === undefined || (await this.content.info(digest)) === undefined) return undefined;
    const parsed = parseManifest(await this.content.readBlob(digest), undefined);
    if (parsed.kind !== 'manifest') return undefined;
    const { manifest } = parsed;
    if ((await this.content.info(manifest.config.digest)) === undefined) return undefined;
    const config = parseConfig(await this.content.readBlob(manifest.config.digest));
    const layers: PulledLayer[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const diffID = config.rootfs.diff_ids[i] as string;
      let applied = await this.layers.get(layer.digest);
      if (applied === undefined) {
        if ((await this.content.info(layer.digest)) === undefined) return undefined;
        applied = await this.#unpack(layer, diffID, {});
      }
      layers.push({ digest: layer.digest, diffID, size: layer.size, dir: applied.dir });
    }
    return { reference: name, digest, config, layers, downloadedBytes: 0 };
  }

  /**
   * Pushes the image `source` (a local name or digest, of a manifest or a multi-platform index) to `target` (a
   * registry reference); HEAD skips blobs it has.
   */
  async push(source: string, target: string, options: PushOptions = {}): Promise<PushResult> {
    const digest = (await this.local(source))?.digest ?? (await this.localIndex(source));
    if (digest === undefined)
      throw new ImageNotFound(`image ${source} is not on this node: build, pull or tag it first`);
    const ref = parseReference(target);
    const pushed = await pushImage(this.content, digest, ref, {
      mountFrom: (digest) => this.#sources.repositories(digest, ref.registry),
      ...options,
    });
    const manifest = parseManifest(await this.content.readBlob(digest), undefined);
    if (manifest.kind === 'manifest')
      await this.#sources.add(
        [manifest.manifest.config.digest, ...manifest.manifest.layers.map((l) => l.digest)],
        ref.registry,
        ref.repository,
      );
    return pushed;
  }

  /** The digest of an image index (a pull keeps a multi-platform base's) that `reference` names here, if any. */
  async localIndex(reference: string): Promise<string | undefined> {
    let digest: string | undefined;
    try {
      digest = /^sha256:[a-f0-9]{64}$/.test(reference)
        ? reference
        : (parseReference(reference).digest ?? (await this.names.get(reference))?.digest);
    } catch {
      return undefined;
    }
    if (digest === undefined || (await this.content.info(digest)) === undefined) return undefined;
    return parseManifest(await this.content.readBlob(digest), undefined).kind === 'index' ? digest : undefined;
  }

  /** Stores an image made here (its layers already in the stores): config and manifest, as OCI. */
  async storeImage(
    config: object,
    layers: readonly Descriptor[],
  ): Promise<{ digest: string; configDigest: string; size: number; manifest: ImageManifest }> {
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = sha256Digest(configBytes);
    await this.storeBytes(configDigest, configBytes);
    const manifest: ImageManifest = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, ...manifest }));
    const digest = sha256Digest(manifestBytes);
    await this.storeBytes(digest, manifestBytes);
    const size = configBytes.length + layers.reduce((sum, l) => sum + l.size, 0);
    return { digest, configDigest, size, manifest };
  }

  /**
   * By digest and already stored: no network at all. Otherwise ask the registry (a tag may have moved). `stored`
   * settles once the manifest (and index) bytes are committed, which the pull need not wait for to go on.
   */
  async #manifest(
    ref: Reference,
    options: PullOptions,
    request: RequestOptions,
  ): Promise<{ digest: string; manifest: ImageManifest; stored: Promise<void> }> {
    if (ref.digest !== undefined && (await this.content.info(ref.digest)) !== undefined) {
      const parsed = parseManifest(await this.content.readBlob(ref.digest), undefined);
      if (parsed.kind === 'manifest')
        return { digest: ref.digest, manifest: parsed.manifest, stored: Promise.resolve() };
    }
    const resolved = await this.#remote.resolve(ref, {
      ...request,
      ...(options.platform ? { platform: options.platform } : {}),
    });
    const index = resolved.index;
    const stored = Promise.all([
      this.storeBytes(resolved.digest, resolved.manifestBytes),
      index !== undefined ? this.storeBytes(index.digest, index.bytes) : undefined,
    ]).then(() => undefined);
    // Awaited by the pull; until then a failure must not count as unhandled.
    stored.catch(() => {});
    return { digest: resolved.digest, manifest: resolved.manifest, stored };
  }

  async #config(ref: Reference, manifest: ImageManifest, request: RequestOptions): Promise<ImageConfig> {
    if ((await this.content.info(manifest.config.digest)) !== undefined)
      return parseConfig(await this.content.readBlob(manifest.config.digest));
    const bytes = await this.#remote.readBlob(ref, manifest.config, request);
    await this.storeBytes(manifest.config.digest, bytes);
    return parseConfig(bytes);
  }

  /** Commits a small blob (a manifest, a config) unless it is there already. */
  async storeBytes(digest: string, bytes: Buffer): Promise<void> {
    if ((await this.content.info(digest)) !== undefined) return;
    const writer = await this.content.writer({ ref: digest, digest, size: bytes.length });
    if ((await this.content.info(digest)) !== undefined) {
      // A concurrent pull committed it while this one waited for the ref: done. (Aborting here would delete the
      // ingest dir under the next waiter.)
      await writer.close();
      return;
    }
    if (writer.offset > 0) {
      // A stale partial from an interrupted run: start clean.
      await writer.close();
      await this.content.abort(digest);
      return this.storeBytes(digest, bytes);
    }
    await writer.write([bytes]);
    await writer.commit();
  }

  /**
   * Makes the layer present: a stored blob is unpacked from the store; a fresh download is unpacked while
   * it streams in (and published only after the blob's digest checks out at commit); a partial one is
   * resumed with a Range request, committed, then unpacked. Returns the applied layer and bytes fetched.
   */
  async #fetchLayer(
    ref: Reference,
    layer: Descriptor,
    diffID: DiffIDSource,
    options: PullOptions,
    request: RequestOptions,
  ): Promise<{ applied: AppliedLayer; downloaded: number }> {
    if ((await this.content.info(layer.digest)) !== undefined)
      return { applied: await this.#unpack(layer, diffID, options), downloaded: 0 };
    // The ref is the digest: concurrent pulls of one layer queue on it and the second finds it committed.
    const writer = await this.content.writer({
      ref: layer.digest,
      digest: layer.digest,
      size: layer.size,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      if ((await this.content.info(layer.digest)) !== undefined) {
        await writer.close();
        return { applied: await this.#unpack(layer, diffID, options), downloaded: 0 };
      }
      const resumeFrom = writer.offset;
      options.onProgress?.({ kind: 'layer', digest: layer.digest, phase: 'downloading', bytes: resumeFrom });
      const { body, offset } = await this.#remote.fetchBlob(ref, layer, { ...request, offset: resumeFrom });
      if (offset !== resumeFrom) {
        // The registry ignored Range: drop the partial and take the whole blob.
        body.destroy();
        await writer.close();
        await this.content.abort(layer.digest);
        return this.#fetchLayer(ref, layer, diffID, options, request);
      }
      if (resumeFrom === 0) return await this.#streamLayer(ref, layer, diffID, writer, body, options);
      try {
        await writer.write(body, options.signal);
      } catch (error) {
        body.destroy();
        throw this.#downloadError(ref, layer, writer, error, options);
      }
      const downloaded = writer.offset - resumeFrom;
      await writer.commit();
      options.onProgress?.({ kind: 'layer', digest: layer.digest, phase: 'downloaded', bytes: downloaded });
      return { applied: await this.#unpack(layer, diffID, options), downloaded };
    } catch (error) {
      // Keeps partial bytes for a resume (close is a no-op for a writer that committed or failed commit),
      // but not bytes that unpacked to the wrong diffID.
      await writer.close();
      if (DigestMismatch.isInstance(error)) await this.content.abort(layer.digest);
      throw error;
    }
  }

  /** Download and unpack at once: each chunk goes to the ingest file and to the unpacker. */
  async #streamLayer(
    ref: Reference,
    layer: Descriptor,
    diffID: DiffIDSource,
    writer: ContentWriter,
    body: Readable,
    options: PullOptions,
  ): Promise<{ applied: AppliedLayer; downloaded: number }> {
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    let feedError: unknown;
    const feed = (async (): Promise<void> => {
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          await writer.write([chunk], options.signal);
          // A destroyed pass (unpack failed, or the layer was unpacked by someone else) just stops getting bytes.
          if (!pass.destroyed && !pass.write(chunk)) await drainedOrClosed(pass);
        }
        pass.end();
      } catch (error) {
        feedError = this.#downloadError(ref, layer, writer, error, options);
        pass.destroy(feedError instanceof Error ? feedError : undefined);
        throw feedError;
      }
      // Commit (fsync + rename) as soon as the bytes are in, while unpacking goes on: an fsync after
      // the unpack would have to flush all of its metadata from the filesystem journal too.
      await writer.commit();
    })();
    feed.catch(() => {});
    let applied: AppliedLayer;
    try {
      applied = await this.layers.unpack(layer.digest, async () => pass, {
        diffID,
        ...(options.signal ? { signal: options.signal } : {}),
        // Published only once the blob's digest has checked out.
        beforePublish: () => feed,
      });
    } catch (error) {
      // A failed download shows downstream as a broken tar: report the download's own error.
      if (feedError !== undefined) throw feedError;
      if (options.signal?.aborted === true) {
        body.destroy();
        throw error;
      }
      // Corrupt bytes usually break gzip or tar before the digest can be checked: finish the download
      // and let the digest speak, since "the registry sent bad bytes" is the true cause.
      pass.destroy();
      await feed.catch((feedFailure: unknown) => {
        if (DigestMismatch.isInstance(feedFailure)) throw feedFailure;
      });
      throw error;
    }
    // Unpacked by a concurrent pull without our bytes: the download still completes and commits.
    pass.destroy();
    await feed;
    options.onProgress?.({ kind: 'layer', digest: layer.digest, phase: 'downloaded', bytes: layer.size });
    return { applied, downloaded: layer.size };
  }

  #downloadError(
    ref: Reference,
    layer: Descriptor,
    writer: ContentWriter,
    error: unknown,
    options: PullOptions,
  ): unknown {
    if (ContentError.isInstance(error) || options.signal?.aborted === true) return error;
    // A connection dropped mid-body: the bytes so far stay in the ingest for a resume.
    return new RegistryUnreachable(
      `download of layer ${layer.digest} from registry ${ref.registry} was interrupted after ${writer.offset} of ${layer.size} bytes: ${(error as Error).message}`,
      { cause: error },
    );
  }

  async #unpack(layer: Descriptor, diffID: DiffIDSource, options: PullOptions): Promise<AppliedLayer> {
    try {
      return await this.layers.unpack(layer.digest, () => this.content.reader(layer.digest), {
        diffID,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      // A stored blob that unpacks wrong is dropped, so the next pull fetches it again instead of failing forever.
      if (DigestMismatch.isInstance(error)) await this.content.delete(layer.digest);
      throw error;
    }
  }
}

function drainedOrClosed(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Runs `work` over `items` with at most `limit` at once; results keep the input order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
