// The content store's interface: blobs addressed by digest, written through resumable ingests.
//
// Lifecycle of a blob: `writer({ref, digest, size})` opens (or resumes) an ingest under `ref`; bytes
// appended with `write` land in a private temp file, `offset` says how many are already there (so a
// download can continue with an HTTP Range); `commit` checks size and sha256 and makes the blob visible
// atomically, `close` keeps the partial bytes for a later resume, `abort` drops them. Until `commit`
// succeeds a blob is invisible to `info`, `reader` and `walk`. One writer per ref at a time: a second
// `writer` call for a ref that is open waits for the first to be committed or closed.
import type { Readable } from 'node:stream';

export interface Info {
  readonly digest: string;
  readonly size: number;
  readonly committedAt: Date;
}

export interface Provider {
  /** undefined when the blob is not (yet) committed. */
  info(digest: string): Promise<Info | undefined>;
  /** A stream of the committed blob; throws ContentNotFound. */
  reader(digest: string): Promise<Readable>;
  /** A small committed blob (manifest, config) read whole; throws ContentNotFound. */
  readBlob(digest: string): Promise<Buffer>;
}

export interface WriterOptions {
  /** Names the ingest; the same ref resumes the same partial download. */
  readonly ref: string;
  /** The digest the bytes must have at commit. */
  readonly digest: string;
  /** The size the bytes must have at commit; also caps how much a writer accepts. */
  readonly size?: number;
  readonly signal?: AbortSignal;
}

export interface ContentWriter {
  readonly ref: string;
  readonly digest: string;
  /** Bytes already ingested (resumed from an earlier, interrupted write plus what was written since). */
  readonly offset: number;
  /** Appends every chunk of `source`; throws ContentTooLarge past the expected size, ContentWriterClosed once ended. */
  write(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): Promise<void>;
  /** Verifies and publishes the blob; always ends the writer. Throws DigestMismatch (and drops the bytes). */
  commit(): Promise<Info>;
  /** Ends the writer and keeps the partial bytes for a resume under the same ref. */
  close(): Promise<void>;
}

export interface Ingester {
  writer(options: WriterOptions): Promise<ContentWriter>;
  /** Drops a partial ingest (no-op when there is none). */
  abort(ref: string): Promise<void>;
}

export interface Manager {
  /** true if a committed blob was removed. */
  delete(digest: string): Promise<boolean>;
  walk(visit: (info: Info) => void | Promise<void>): Promise<void>;
}

export interface ContentStore extends Provider, Ingester, Manager {}
