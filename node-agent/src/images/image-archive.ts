// `berth save` and `berth load` on the node: images of the content store written as an OCI image layout tarball
// (oci-layout, index.json, blobs/sha256/…, plus docker's manifest.json so `docker load`, podman and skopeo's
// docker-archive read it too), and such a tarball read back into the content store with every blob's digest checked.
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '@berth/api';
import tar from 'tar-stream';
import type { ContentStore } from '../content/content.js';
import { digestHex, isDigest } from '../content/digest.js';
import { mediaTypes, parseManifest } from '../distribution/manifest.js';
import { ImageNames } from './image-names.js';

/** A tarball that is no image layout, or names blobs it does not carry and the node does not have. */
export class ImageArchiveError extends BerthError<'IMAGE_ARCHIVE_INVALID'> {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('IMAGE_ARCHIVE_INVALID', message, options);
  }
}

/** One image of an archive: its manifest digest and the names it goes by (normalized, `docker.io/library/…`). */
export interface ArchivedImage {
  readonly digest: string;
  readonly names: readonly string[];
}

/** containerd's and docker's annotation for the full name; the OCI one often holds only the tag. */
const imageNameAnnotation = 'io.containerd.image.name';
const refNameAnnotation = 'org.opencontainers.image.ref.name';
/** index.json and manifest.json are read whole: anything larger is not one. */
const maxJsonBytes = 4 * 1024 * 1024;

/** The streamx Writable `pack.entry` returns, as far as this module uses it. */
interface EntrySink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): void;
}

/** One entry of tar-stream's extract: its header and a readable of its bytes. */
type TarEntry = AsyncIterable<Buffer> & {
  readonly header: { readonly name: string; readonly type?: string | null; readonly size?: number | null };
  resume(): unknown;
};

const blobPath = (digest: string) => `blobs/sha256/${digestHex(digest)}`;

/** docker's short form of a name (`busybox:latest`), as its manifest.json RepoTags carry. */
function familiar(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

function tagOf(name: string): string | undefined {
  const at = name.indexOf('@');
  const bare = at < 0 ? name : name.slice(0, at);
  const colon = bare.lastIndexOf(':');
  return colon > bare.lastIndexOf('/') ? bare.slice(colon + 1) : undefined;
}

/** Writes `images` (each a manifest in `content`) as an OCI layout tarball to `out`; blobs shared go once. */
export async function writeImageArchive(
  content: ContentStore,
  images: readonly ArchivedImage[],
  out: Writable,
  signal?: AbortSignal,
): Promise<void> {
  const pack = tar.pack();
  // tar-stream's streams are streamx ones: read as an async iterable rather than trusting node's pipeline with them.
  const piped = pipeline(pack as unknown as AsyncIterable<Buffer>, out, ...(signal !== undefined ? [{ signal }] : []));
  // A failed pipeline (the client left) must not leave the writes below waiting forever.
  piped.catch(() => pack.destroy());
  const mtime = new Date(0);
  const entry = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())),
    );
  const blob = async (digest: string) => {
    const info = await content.info(digest);
    if (info === undefined) throw new ImageArchiveError(`blob ${digest} is not in this node's content store`);
    const reader = await content.reader(digest);
    let sink: EntrySink | undefined;
    const done = new Promise<void>((resolve, reject) => {
      sink = pack.entry({ name: blobPath(digest), size: info.size, mode: 0o644, mtime }, (err) =>
        err ? reject(err) : resolve(),
      ) as unknown as EntrySink;
    });
    const s = sink as EntrySink;
    try {
      for await (const chunk of reader as AsyncIterable<Buffer>) {
        if (!s.write(chunk)) await drained(s, signal);
      }
    } finally {
      reader.destroy();
    }
    s.end();
    await done;
  };
  try {
    await entry('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    const written = new Set<string>();
    const index: object[] = [];
    const dockerManifest: object[] = [];
    for (const image of images) {
      const bytes = await content.readBlob(image.digest);
      const parsed = parseManifest(bytes, undefined);
      if (parsed.kind !== 'manifest') throw new ImageArchiveError(`${image.digest} is an index, not an image`);
      const { manifest } = parsed;
      for (const d of [image.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        if (written.has(d)) continue;
        await blob(d);
        written.add(d);
      }
      const descriptor = { mediaType: manifest.mediaType, digest: image.digest, size: bytes.length };
      if (image.names.length === 0) index.push(descriptor);
      for (const name of image.names) {
        const tag = tagOf(name);
        index.push({
          ...descriptor,
          annotations: { [imageNameAnnotation]: name, ...(tag !== undefined ? { [refNameAnnotation]: tag } : {}) },
        });
      }
      dockerManifest.push({
        Config: blobPath(manifest.config.digest),
        RepoTags: image.names.map(familiar),
        Layers: manifest.layers.map((l) => blobPath(l.digest)),
      });
    }
    await entry(
      'index.json',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: index })),
    );
    await entry('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
  await piped;
}

interface IndexEntry {
  readonly digest: string;
  readonly mediaType: string;
  readonly annotations: Readonly<Record<string, string>>;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImageArchiveError(`${what} is not JSON`, { cause: err });
  }
}

function indexEntries(bytes: Buffer): IndexEntry[] {
  const index = parseJson(bytes, 'index.json') as { manifests?: unknown };
  if (!Array.isArray(index.manifests)) throw new ImageArchiveError('index.json has no manifests list');
  return index.manifests.map((m: unknown) => {
    const d = m as { digest?: unknown; mediaType?: unknown; annotations?: unknown };
    if (typeof d.digest !== 'string' || !isDigest(d.digest))
      throw new ImageArchiveError('index.json lists a manifest without a sha256 digest');
    const annotations =
      typeof d.annotations === 'object' && d.annotations !== null
        ? Object.fromEntries(
            Object.entries(d.annotations as Record<string, unknown>).filter(
              (e): e is [string, string] => typeof e[1] === 'string',
            ),
          )
        : {};
    return { digest: d.digest, mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', annotations };
  });
}

/** A name from an index entry: containerd's full name, or the OCI ref name when it is a whole reference. */
function entryName(entry: IndexEntry): string | undefined {
  const candidates = [entry.annotations[imageNameAnnotation], entry.annotations[refNameAnnotation]];
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    // A bare tag (`latest`) names nothing by itself.
    if (!c.includes('/') && !c.includes(':')) continue;
    try {
      return ImageNames.normalize(c);
    } catch {
      // Not a reference: skipped.
    }
  }
  return undefined;
}

/**
 * Reads an OCI layout tarball from `source` into `content`: each `blobs/sha256/…` is committed only if its bytes
 * have that digest, and every image index.json lists must be whole afterwards (its config and layers here).
 * Docker's manifest.json adds the RepoTags of images whose config it names.
 */
export async function readImageArchive(
  content: ContentStore,
  source: Readable,
  signal?: AbortSignal,
): Promise<ArchivedImage[]> {
  const extract = tar.extract();
  let index: Buffer | undefined;
  let dockerManifest: Buffer | undefined;
  let layout = false;
  const work = (async () => {
    for await (const e of extract as unknown as AsyncIterable<TarEntry>) {
      const name = e.header.name.replace(/^\.\//, '');
      const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      if (blob !== null && e.header.type === 'file') {
        const digest = `sha256:${blob[1] ?? ''}`;
        if ((await content.info(digest)) !== undefined) {
          e.resume();
          continue;
        }
        // Its own ref: two loads of one blob do not share (or abort) each other's partial bytes.
        const ref = `load-${randomBytes(6).toString('hex')}-${digest}`;
        const writer = await content.writer({
          ref,
          digest,
          size: e.header.size ?? 0,
          ...(signal !== undefined ? { signal } : {}),
        });
        try {
          await writer.write(e, signal);
          await writer.commit();
        } catch (err) {
          await writer.close();
          await content.abort(ref);
          throw err;
        }
        continue;
      }
      if (name === 'index.json' || name === 'manifest.json' || name === 'oci-layout') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of e) {
          size += c.length;
          if (size > maxJsonBytes) throw new ImageArchiveError(`${name} is larger than ${maxJsonBytes} bytes`);
          chunks.push(c);
        }
        if (name === 'index.json') index = Buffer.concat(chunks);
        else if (name === 'manifest.json') dockerManifest = Buffer.concat(chunks);
        else layout = true;
        continue;
      }
      e.resume();
    }
  })();
  // Once the archive is refused, the rest of the upload is read and dropped, not cut off: destroying an HTTP request
  // still arriving resets its connection, and the client would get that instead of the refusal.
  let refused = false;
  const refusal = work.then(
    () => undefined,
    () => {
      refused = true;
    },
  );
  // Fed by hand with backpressure (extract is a streamx Writable); a failure upstream ends it too.
  const feeding = (async () => {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      if (refused) continue;
      if (!extract.write(chunk))
        await Promise.race([new Promise<void>((resolve) => extract.once('drain', () => resolve())), refusal]);
    }
    if (!refused) (extract as unknown as { end(): void }).end();
  })();
  feeding.catch((err: unknown) => extract.destroy(err instanceof Error ? err : new Error(String(err))));
  try {
    await Promise.all([feeding, work]);
  } catch (err) {
    if (ImageArchiveError.isInstance(err) || signal?.aborted === true) throw err;
    // A blob whose bytes are not its digest is the archive's fault too (DigestMismatch says which).
    const what = BerthError.isInstance(err) ? '' : 'the archive is not a tar of an image layout: ';
    throw new ImageArchiveError(`${what}${(err as Error).message}`, { cause: err });
  }
  if (index === undefined || !layout)
    throw new ImageArchiveError('the archive is no OCI image layout (it needs oci-layout and index.json)');
  const repoTags = new Map<string, string[]>();
  if (dockerManifest !== undefined) {
    const list = parseJson(dockerManifest, 'manifest.json');
    for (const m of Array.isArray(list) ? (list as { Config?: unknown; RepoTags?: unknown }[]) : []) {
      if (typeof m.Config !== 'string' || !Array.isArray(m.RepoTags)) continue;
      const hex = /blobs\/sha256\/([a-f0-9]{64})$/.exec(m.Config)?.[1] ?? /^([a-f0-9]{64})\.json$/.exec(m.Config)?.[1];
      if (hex !== undefined)
        repoTags.set(
          `sha256:${hex}`,
          m.RepoTags.filter((t) => typeof t === 'string'),
        );
    }
  }
  const images = new Map<string, Set<string>>();
  for (const entry of indexEntries(index)) {
    if (entry.mediaType === mediaTypes.ociIndex || entry.mediaType === mediaTypes.dockerList)
      throw new ImageArchiveError(`${entry.digest} is a multi-platform index; load one platform's image`);
    if ((await content.info(entry.digest)) === undefined)
      throw new ImageArchiveError(`index.json lists ${entry.digest}, which the archive does not carry`);
    const parsed = parseManifest(await content.readBlob(entry.digest), entry.mediaType);
    if (parsed.kind !== 'manifest') throw new ImageArchiveError(`${entry.digest} is not an image manifest`);
    const { manifest } = parsed;
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      if ((await content.info(d)) === undefined)
        throw new ImageArchiveError(`image ${entry.digest} needs blob ${d}, which the archive does not carry`);
    }
    const names = images.get(entry.digest) ?? new Set<string>();
    images.set(entry.digest, names);
    const name = entryName(entry);
    if (name !== undefined) names.add(name);
    for (const tag of repoTags.get(manifest.config.digest) ?? []) {
      try {
        names.add(ImageNames.normalize(tag));
      } catch {
        // Not a reference: skipped.
      }
    }
  }
  return [...images].map(([digest, names]) => ({ digest, names: [...names] }));
}

/** Waits for a full entry to drain; a client gone (the signal) ends the wait instead of leaving it forever. */
function drained(sink: EntrySink, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    sink.once('drain', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
