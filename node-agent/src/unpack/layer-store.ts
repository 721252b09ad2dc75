// Applied layers on disk, once per digest: <dataRoot>/layers/sha256/<hex>/{fs,diffid}.
//
// Keyed by the layer's blob (compressed) digest, which is known from the manifest before any download,
// so a cached layer costs no blob fetch at all; `diffid` holds the uncompressed digest for checks against
// the image config. A layer is unpacked into <dataRoot>/layers/tmp/<random>/ and renamed into place only
// once complete, so a crash never leaves a half layer that looks done.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestHex } from '../content/digest.js';
import { DigestMismatch } from '../content/errors.js';
import { applyLayer } from './extract-layer.js';
import type { AppliedLayer, LayerUnpacker, UnpackOptions } from './unpack.js';

/** Implements LayerUnpacker on the local filesystem. */
export class LayerStore implements LayerUnpacker {
  readonly #root: string;
  readonly #inflight = new Map<string, Promise<AppliedLayer>>();

  /** `dataRoot` is the agent's data root; layers go under its `layers/`. */
  constructor(dataRoot: string) {
    this.#root = join(dataRoot, 'layers');
  }

  #dir(digest: string): string {
    return join(this.#root, 'sha256', digestHex(digest));
  }

  async get(digest: string): Promise<AppliedLayer | undefined> {
    const dir = this.#dir(digest);
    try {
      const meta = JSON.parse(await readFile(join(dir, 'diffid'), 'utf8')) as { diffID: string; size: number };
      return { digest, diffID: meta.diffID, size: meta.size, dir: join(dir, 'fs') };
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  unpack(digest: string, open: () => Promise<Readable>, options: UnpackOptions = {}): Promise<AppliedLayer> {
    digestHex(digest);
    const running = this.#inflight.get(digest);
    if (running !== undefined) return running;
    const work = this.#unpack(digest, open, options).finally(() => this.#inflight.delete(digest));
    this.#inflight.set(digest, work);
    return work;
  }

  async #unpack(digest: string, open: () => Promise<Readable>, options: UnpackOptions): Promise<AppliedLayer> {
    const existing = await this.get(digest);
    if (existing !== undefined) return existing;
    const tmp = join(this.#root, 'tmp', `${digestHex(digest).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    await mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const source = await open();
      const result = await applyLayer(source, join(tmp, 'fs'), options.signal ? { signal: options.signal } : {});
      const diffID = typeof options.diffID === 'function' ? await options.diffID() : options.diffID;
      if (diffID !== undefined && diffID !== result.diffID) {
        throw new DigestMismatch(diffID, result.diffID, `layer ${digest} uncompressed (diffID)`);
      }
      await options.beforePublish?.();
      await writeFile(join(tmp, 'diffid'), JSON.stringify({ diffID: result.diffID, size: result.size }));
      await mkdir(join(this.#root, 'sha256'), { recursive: true });
      const dir = this.#dir(digest);
      try {
        await rename(tmp, dir);
      } catch (error) {
        // Another process finished the same layer first: theirs is as good as ours.
        const code = (error as { code?: unknown }).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
      return { digest, diffID: result.diffID, size: result.size, dir: join(dir, 'fs') };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async remove(digest: string): Promise<void> {
    const dir = this.#dir(digest);
    // Rename away first so a crash mid-delete leaves no half layer under the real name.
    const doomed = join(this.#root, 'tmp', `rm-${randomBytes(6).toString('hex')}`);
    await mkdir(join(this.#root, 'tmp'), { recursive: true });
    try {
      await rename(dir, doomed);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return;
      throw error;
    }
    await rm(doomed, { recursive: true, force: true });
  }
}
