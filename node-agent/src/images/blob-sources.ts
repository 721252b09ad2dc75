// Where this node's blobs came from (docker's distribution metadata): blob digest → the `registry/repository`s it
// was pulled from or pushed to, in <root>/images/blob-sources.json, so a push can ask the registry to mount a blob
// from a repository that has it instead of uploading it again. Written whole and renamed into place.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How many repositories are kept per blob, newest first. */
const keptPerBlob = 5;

export class BlobSources {
  readonly #file: string;
  /** Writes of this process go one at a time (read, change, rename). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.#file = join(root, 'images', 'blob-sources.json');
  }

  async #read(): Promise<Record<string, string[]>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.#file, 'utf8'));
      return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, string[]>) : {};
    } catch (error) {
      // Only a hint for pushes: a missing or unreadable file means "upload".
      if ((error as { code?: unknown }).code === 'ENOENT' || error instanceof SyntaxError) return {};
      throw error;
    }
  }

  /** The repositories on `registry` that `digest` came from or went to, newest first. */
  async repositories(digest: string, registry: string): Promise<string[]> {
    const prefix = `${registry}/`;
    return ((await this.#read())[digest] ?? []).filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  }

  /** Records that `digests` are in `registry/repository`. */
  add(digests: readonly string[], registry: string, repository: string): Promise<void> {
    const source = `${registry}/${repository}`;
    const next = this.#queue.then(async () => {
      const table = await this.#read();
      // A pull of an image already recorded (every warm pull) changes nothing: no write, no rename.
      if (digests.every((d) => table[d]?.[0] === source)) return;
      for (const d of digests)
        table[d] = [source, ...(table[d] ?? []).filter((s) => s !== source)].slice(0, keptPerBlob);
      await mkdir(join(this.#file, '..'), { recursive: true });
      const tmp = `${this.#file}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, JSON.stringify(table));
      await rename(tmp, this.#file);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
