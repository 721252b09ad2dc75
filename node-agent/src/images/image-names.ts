// The names of images made on this node (built, committed, tagged): reference → manifest digest, in
// <root>/images/names.json, written whole and renamed into place so a crash leaves the old or the new table.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatReference, parseReference } from '../distribution/reference.js';

export interface ImageName {
  readonly reference: string;
  readonly digest: string;
  readonly createdAt: string;
}

export class ImageNames {
  readonly #file: string;
  /** Writes of this process go one at a time (read, change, rename). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.#file = join(root, 'images', 'names.json');
  }

  /** `busybox` → `docker.io/library/busybox:latest`, as pulls name it. */
  static normalize(reference: string): string {
    return formatReference(parseReference(reference));
  }

  async list(): Promise<ImageName[]> {
    try {
      return JSON.parse(await readFile(this.#file, 'utf8')) as ImageName[];
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
  }

  async get(reference: string): Promise<ImageName | undefined> {
    const name = ImageNames.normalize(reference);
    return (await this.list()).find((n) => n.reference === name);
  }

  set(reference: string, digest: string): Promise<void> {
    const name = ImageNames.normalize(reference);
    return this.#change((names) => [
      ...names.filter((n) => n.reference !== name),
      { reference: name, digest, createdAt: new Date().toISOString() },
    ]);
  }

  /** true when the name was there. */
  async delete(reference: string): Promise<boolean> {
    const name = ImageNames.normalize(reference);
    let found = false;
    await this.#change((names) => {
      found = names.some((n) => n.reference === name);
      return names.filter((n) => n.reference !== name);
    });
    return found;
  }

  #change(edit: (names: ImageName[]) => ImageName[]): Promise<void> {
    const run = async () => {
      const next = edit(await this.list()).sort((a, b) => a.reference.localeCompare(b.reference));
      await mkdir(join(this.#file, '..'), { recursive: true });
      const tmp = `${this.#file}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, JSON.stringify(next, null, 1));
      await rename(tmp, this.#file);
    };
    const work = this.#queue.then(run, run);
    this.#queue = work.catch(() => undefined);
    return work;
  }
}
