// Writes a layer: tar entries → an uncompressed digest (diffID) → gzip → a blob committed to the content store,
// then applied once into the layer store, so the next step and every Container stack it like a pulled layer.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ContentStore } from '../content/content.js';
import type { LayerUnpacker } from '../unpack/unpack.js';

export const layerMediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';

interface Common {
  /** Path in the image, no leading slash. */
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
  /** Extended attributes (security.capability, user.*), written as pax records. */
  readonly xattrs?: ReadonlyMap<string, Buffer>;
}

export type LayerEntry =
  | (Common & { readonly kind: 'file'; readonly size: number; readonly source: string })
  | (Common & { readonly kind: 'bytes'; readonly data: Buffer })
  | (Common & { readonly kind: 'directory' })
  | (Common & { readonly kind: 'symlink' | 'hardlink'; readonly linkname: string })
  /** `name` is the marker itself: `dir/.wh.deleted` or `dir/.wh..wh..opq`. */
  | { readonly kind: 'whiteout'; readonly name: string; readonly mtime: Date };

export interface WrittenLayer {
  readonly digest: string;
  readonly diffID: string;
  /** Compressed size. */
  readonly size: number;
  readonly mediaType: string;
  /** The applied layer, a lowerdir. */
  readonly dir: string;
}

export interface LayerWriterOptions {
  readonly content: ContentStore;
  readonly layers: LayerUnpacker;
  /** Scratch space on the same filesystem as the content store. */
  readonly tmpDir: string;
  /** Clamp every mtime to this (SOURCE_DATE_EPOCH), for reproducible layers. */
  readonly sourceDateEpoch?: Date;
  readonly signal?: AbortSignal;
}

function header(entry: LayerEntry, epoch: Date | undefined): Partial<tar.Header> & { name: string } {
  const mtime = epoch !== undefined && entry.mtime > epoch ? epoch : entry.mtime;
  if (entry.kind === 'whiteout') return { name: entry.name, type: 'file', size: 0, mode: 0o644, mtime, uid: 0, gid: 0 };
  const base = {
    name: entry.name,
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    mtime,
    ...(entry.xattrs !== undefined && entry.xattrs.size > 0 ? { pax: paxXattrs(entry.xattrs) } : {}),
  };
  switch (entry.kind) {
    case 'file':
      return { ...base, type: 'file', size: entry.size };
    case 'bytes':
      return { ...base, type: 'file', size: entry.data.length };
    case 'directory':
      return { ...base, name: `${entry.name}/`, type: 'directory' };
    case 'symlink':
      return { ...base, type: 'symlink', linkname: entry.linkname };
    case 'hardlink':
      return { ...base, type: 'link', linkname: entry.linkname };
  }
}

/**
 * xattrs as pax records: `SCHILY.xattr.NAME` (what docker and containerd read) carries the raw value, and
 * `LIBARCHIVE.xattr.NAME` (bsdtar's, base64) carries it too, because tar-stream writes and reads pax values as
 * UTF-8 text: a binary value (a capability set with a byte ≥ 0x80) survives only in the base64 record, so
 * SCHILY gets only values that are valid UTF-8.
 */
function paxXattrs(xattrs: ReadonlyMap<string, Buffer>): Record<string, string> {
  const pax: Record<string, string> = {};
  for (const [name, value] of xattrs) {
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) pax[`SCHILY.xattr.${name}`] = text;
    pax[`LIBARCHIVE.xattr.${encodeURIComponent(name)}`] = value.toString('base64');
  }
  return pax;
}

async function addEntry(pack: tar.Pack, entry: LayerEntry, epoch: Date | undefined): Promise<void> {
  const h = header(entry, epoch) as tar.Header;
  if (entry.kind === 'file') {
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
      pipeline(createReadStream(entry.source), sink).catch(reject);
    });
    return;
  }
  const data = entry.kind === 'bytes' ? entry.data : undefined;
  await new Promise<void>((resolve, reject) => {
    if (data !== undefined) pack.entry(h, data, (err) => (err ? reject(err) : resolve()));
    else (pack.entry(h, (err) => (err ? reject(err) : resolve())) as unknown as { end(): void }).end();
  });
}

/** Packs `entries` into a gzip layer blob, commits it and applies it. */
export async function writeLayer(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  options: LayerWriterOptions,
): Promise<WrittenLayer> {
  await mkdir(options.tmpDir, { recursive: true });
  const file = join(options.tmpDir, `layer-${randomBytes(6).toString('hex')}.tar.gz`);
  try {
    const pack = tar.pack();
    const diff = createHash('sha256');
    const blob = createHash('sha256');
    const producing = (async () => {
      try {
        for await (const entry of entries) await addEntry(pack, entry, options.sourceDateEpoch);
        pack.finalize();
      } catch (err) {
        pack.destroy(err as Error);
        throw err;
      }
    })();
    producing.catch(() => undefined);
    await pipeline(
      pack as unknown as AsyncIterable<Buffer>,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          diff.update(chunk);
          yield chunk;
        }
      },
      // Level 6 is gzip's default; mtime 0 in the gzip header keeps the blob reproducible.
      createGzip({ level: 6 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          blob.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file),
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    await producing;
    const digest = `sha256:${blob.digest('hex')}`;
    const diffID = `sha256:${diff.digest('hex')}`;
    const size = (await stat(file)).size;
    if ((await options.content.info(digest)) === undefined) {
      const ref = `build-${digest}`;
      let writer = await options.content.writer({ ref, digest, size });
      if (writer.offset > 0) {
        // A partial ingest left by an interrupted build: the bytes are all here, start clean.
        await writer.close();
        await options.content.abort(ref);
        writer = await options.content.writer({ ref, digest, size });
      }
      await writer.write(createReadStream(file) as AsyncIterable<Uint8Array>);
      await writer.commit();
    }
    const applied = await options.layers.unpack(digest, () => options.content.reader(digest), { diffID });
    return { digest, diffID, size, mediaType: layerMediaType, dir: applied.dir };
  } finally {
    await rm(file, { force: true });
  }
}
