// A content store on the local filesystem: <root>/blobs/sha256/<hex>, partial downloads in <root>/ingest/.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentStore, ContentWriter, Info, WriterOptions } from './content.js';
import { digestHex } from './digest.js';
import { ContentNotFound, ContentTooLarge, ContentWriterClosed, DigestMismatch } from './errors.js';

/**
 * Implements ContentStore. `root` is the store's own folder (the agent passes `<dataRoot>/content`).
 * Blobs are written once and never changed, so readers need no locks; writers are serialised per ref
 * inside this process (one agent owns a data root).
 */
export class LocalContentStore implements ContentStore {
  readonly #root: string;
  readonly #locks = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.#root = root;
  }

  blobPath(digest: string): string {
    return join(this.#root, 'blobs', 'sha256', digestHex(digest));
  }

  #ingestDir(ref: string): string {
    // Hashing the ref gives a safe, fixed-length folder name whatever the ref holds.
    return join(this.#root, 'ingest', createHash('sha256').update(ref).digest('hex'));
  }

  async info(digest: string): Promise<Info | undefined> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size, committedAt: s.mtime };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async reader(digest: string): Promise<Readable> {
    const path = this.blobPath(digest);
    // Open before returning so a missing blob fails here, typed, not later as a stream error.
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw isNotFound(error) ? new ContentNotFound(digest) : error;
    });
    // The stream owns the handle and closes it when done or destroyed.
    return handle.createReadStream();
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (error) {
      throw isNotFound(error) ? new ContentNotFound(digest) : error;
    }
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await unlink(this.blobPath(digest));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async walk(visit: (info: Info) => void | Promise<void>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(join(this.#root, 'blobs', 'sha256'));
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const name of names.sort()) {
      const info = await this.info(`sha256:${name}`).catch(() => undefined);
      if (info !== undefined) await visit(info);
    }
  }

  async abort(ref: string): Promise<void> {
    await rm(this.#ingestDir(ref), { recursive: true, force: true });
  }

  async writer(options: WriterOptions): Promise<ContentWriter> {
    digestHex(options.digest);
    const release = await this.#lock(options.ref, options.signal);
    try {
      const dir = this.#ingestDir(options.ref);
      await mkdir(dir, { recursive: true });
      await mkdir(join(this.#root, 'blobs', 'sha256'), { recursive: true });
      const dataPath = join(dir, 'data');
      // A ref reused for another digest must not resume the old bytes.
      const digestPath = join(dir, 'digest');
      const previous = await readFile(digestPath, 'utf8').catch(() => undefined);
      if (previous !== options.digest) {
        await rm(dataPath, { force: true });
        await writeFile(digestPath, options.digest);
      }
      const hash = createHash('sha256');
      let offset = 0;
      // Resume: re-hash what an earlier attempt left, so the final digest covers every byte.
      try {
        for await (const chunk of createReadStream(dataPath) as AsyncIterable<Buffer>) {
          hash.update(chunk);
          offset += chunk.length;
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (options.size !== undefined && offset > options.size) {
        await rm(dataPath, { force: true });
        hash.destroy();
        return this.#newWriter(options, dir, createHash('sha256'), 0, release);
      }
      return this.#newWriter(options, dir, hash, offset, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  async #newWriter(
    options: WriterOptions,
    dir: string,
    hash: Hash,
    offset: number,
    release: () => void,
  ): Promise<ContentWriter> {
    const handle = await open(join(dir, 'data'), 'a');
    return new LocalWriter(this, options, dir, handle, hash, offset, release);
  }

  async #lock(ref: string, signal: AbortSignal | undefined): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const held = this.#locks.get(ref);
      if (held === undefined) break;
      if (signal === undefined) await held;
      else await untilDoneOrAborted(held, signal);
    }
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.#locks.set(ref, done);
    return () => {
      if (this.#locks.get(ref) === done) this.#locks.delete(ref);
      release();
    };
  }
}

class LocalWriter implements ContentWriter {
  #offset: number;
  #ended = false;

  constructor(
    readonly store: LocalContentStore,
    readonly options: WriterOptions,
    readonly dir: string,
    readonly handle: FileHandle,
    readonly hash: Hash,
    offset: number,
    readonly release: () => void,
  ) {
    this.#offset = offset;
  }

  get ref(): string {
    return this.options.ref;
  }
  get digest(): string {
    return this.options.digest;
  }
  get offset(): number {
    return this.#offset;
  }

  async write(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
    if (this.#ended) throw new ContentWriterClosed(this.ref);
    const limit = this.options.size;
    for await (const chunk of source) {
      signal?.throwIfAborted();
      if (limit !== undefined && this.#offset + chunk.length > limit) {
        // Hostile or broken server: never keep more than was promised.
        await this.#end(true);
        throw new ContentTooLarge(this.digest, limit);
      }
      this.hash.update(chunk);
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
      this.#offset += chunk.length;
    }
  }

  async commit(): Promise<Info> {
    if (this.#ended) throw new ContentWriterClosed(this.ref);
    const actual = `sha256:${this.hash.digest('hex')}`;
    const size = this.#offset;
    const expectedSize = this.options.size;
    if (actual !== this.digest || (expectedSize !== undefined && size !== expectedSize)) {
      await this.#end(true);
      throw new DigestMismatch(this.digest, actual, 'blob', expectedSize, size);
    }
    try {
      // fsync before rename: a blob that is visible must also be whole after a crash.
      await this.handle.sync();
      await this.handle.close();
      const target = this.store.blobPath(this.digest);
      await rename(join(this.dir, 'data'), target);
      await rm(this.dir, { recursive: true, force: true });
      const s = await stat(target);
      return { digest: this.digest, size: s.size, committedAt: s.mtime };
    } finally {
      this.#ended = true;
      this.release();
    }
  }

  async close(): Promise<void> {
    await this.#end(false);
  }

  async #end(drop: boolean): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    try {
      await this.handle.close().catch(() => {});
      if (drop) await rm(this.dir, { recursive: true, force: true });
    } finally {
      this.release();
    }
  }
}

async function untilDoneOrAborted(done: Promise<void>, signal: AbortSignal): Promise<void> {
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}
