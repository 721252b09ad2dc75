// `berth save A B …`: the OCI layout tarballs the API exports, one per image (maybe from different nodes), written as
// one tarball as `docker save` writes it: oci-layout, each blob once, index.json and docker's manifest.json joined.
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CliError } from '../errors.js';

/** One entry of tar-stream's extract: its header and its bytes. */
type TarEntry = AsyncIterable<Buffer> & {
  readonly header: { readonly name: string; readonly type?: string | null; readonly size?: number | null };
  resume(): unknown;
};

/** The streamx Writable `pack.entry` returns, as far as this module uses it. */
interface EntrySink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): void;
}

const maxJsonBytes = 4 * 1024 * 1024;

export async function mergeArchives(sources: readonly (() => Promise<Readable>)[], out: Writable): Promise<void> {
  const pack = tar.pack();
  // tar-stream's streams are streamx ones: read as an async iterable rather than trusting node's pipeline with them.
  const piped = pipeline(pack as unknown as AsyncIterable<Buffer>, out);
  piped.catch(() => pack.destroy());
  const mtime = new Date(0);
  const small = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())),
    );
  const seen = new Set<string>();
  const manifests: unknown[] = [];
  const dockerManifest: unknown[] = [];
  try {
    await small('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    for (const open of sources) {
      const source = await open();
      const extract = tar.extract();
      const feeding = (async () => {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once('drain', () => resolve()));
        }
        (extract as unknown as { end(): void }).end();
      })();
      feeding.catch((err: unknown) => extract.destroy(err instanceof Error ? err : new Error(String(err))));
      for await (const e of extract as unknown as AsyncIterable<TarEntry>) {
        const name = e.header.name.replace(/^\.\//, '');
        if (/^blobs\/sha256\/[a-f0-9]{64}$/.test(name) && e.header.type === 'file') {
          if (seen.has(name)) {
            e.resume();
            continue;
          }
          seen.add(name);
          await copyEntry(pack, name, e.header.size ?? 0, mtime, e);
        } else if (name === 'index.json' || name === 'manifest.json') {
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const c of e) {
            size += c.length;
            if (size > maxJsonBytes) throw new CliError('BERTH_CLI_API', `the exported ${name} is too large`);
            chunks.push(c);
          }
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          if (name === 'index.json') manifests.push(...((parsed as { manifests?: unknown[] }).manifests ?? []));
          else if (Array.isArray(parsed)) dockerManifest.push(...(parsed as unknown[]));
        } else e.resume();
      }
      await feeding;
    }
    await small(
      'index.json',
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
      ),
    );
    await small('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
  await piped;
}

async function copyEntry(pack: tar.Pack, name: string, size: number, mtime: Date, from: TarEntry): Promise<void> {
  let sink: EntrySink | undefined;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ name, size, mode: 0o644, mtime }, (err) =>
      err ? reject(err) : resolve(),
    ) as unknown as EntrySink;
  });
  const s = sink as EntrySink;
  for await (const chunk of from) {
    if (!s.write(chunk)) await new Promise<void>((resolve) => s.once('drain', () => resolve()));
  }
  s.end();
  await done;
}
