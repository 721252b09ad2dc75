// A build context on disk: its files minus what `.dockerignore` excludes (matched by @balena/dockerignore, docker's
// own rules), the sources a COPY or ADD names (globs by picomatch), and the content digest the layer cache keys on.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import dockerignore from '@balena/dockerignore';
import picomatch from 'picomatch';
import { BuildError } from './errors.js';

// The package is CommonJS (`module.exports = factory`) typed as an ES default export: at run time the default
// import is the factory itself.
const ignore = dockerignore as unknown as typeof dockerignore.default;

export interface SourceEntry {
  /** Path inside the source root, '/'-separated, no leading slash. */
  readonly rel: string;
  readonly abs: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtime: Date;
  readonly linkname?: string;
}

/** Files of a source tree (a context, or another stage's root), walked once. */
export class SourceTree {
  readonly root: string;
  readonly entries: ReadonlyMap<string, SourceEntry>;

  private constructor(root: string, entries: Map<string, SourceEntry>) {
    this.root = root;
    this.entries = entries;
  }

  /**
   * Walks `root`; `ignoreFile` names a .dockerignore to honour (its own name and the Dockerfile's are always sent,
   * as docker does). Throws CONTEXT_TOO_LARGE past `maxBytes`.
   */
  static async walk(
    root: string,
    options: { readonly dockerignore?: boolean; readonly keep?: readonly string[]; readonly maxBytes?: number } = {},
  ): Promise<SourceTree> {
    let ignored: (path: string) => boolean = () => false;
    if (options.dockerignore === true) {
      const text = await readFile(join(root, '.dockerignore'), 'utf8').catch(() => '');
      const patterns = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
      const matcher = ignore({ ignorecase: false }).add(patterns);
      const keep = new Set(options.keep ?? []);
      ignored = (p) => !keep.has(p) && matcher.ignores(p);
    }
    const entries = new Map<string, SourceEntry>();
    let total = 0;
    const visit = async (rel: string): Promise<void> => {
      const abs = rel === '' ? root : join(root, rel);
      for (const name of (await readdir(abs)).sort()) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        if (ignored(childRel)) continue;
        const childAbs = join(abs, name);
        const st = await lstat(childAbs);
        const base = { rel: childRel, abs: childAbs, mode: st.mode & 0o7777, mtime: st.mtime };
        if (st.isDirectory()) {
          entries.set(childRel, { ...base, type: 'directory', size: 0 });
          await visit(childRel);
        } else if (st.isSymbolicLink()) {
          entries.set(childRel, { ...base, type: 'symlink', size: 0, linkname: await readlink(childAbs) });
        } else if (st.isFile()) {
          total += st.size;
          if (options.maxBytes !== undefined && total > options.maxBytes)
            throw new BuildError('CONTEXT_TOO_LARGE', `the build context is larger than ${options.maxBytes} bytes`);
          entries.set(childRel, { ...base, type: 'file', size: st.size });
        }
      }
    };
    await visit('');
    return new SourceTree(root, entries);
  }

  /**
   * The entries a COPY source names: one path or a glob, relative to the root (a leading '/' is the root too).
   * A directory brings everything below it. Throws COPY_OUTSIDE_CONTEXT or COPY_SOURCE_MISSING.
   */
  select(
    source: string,
    line: number,
  ): { readonly matched: SourceEntry[]; readonly below: Map<string, SourceEntry[]> } {
    const clean = posix.normalize(`/${source}`).slice(1).replace(/\/+$/, '');
    if (posix.normalize(source).startsWith('../') || source === '..')
      throw new BuildError('COPY_OUTSIDE_CONTEXT', `COPY source ${source} is outside the build context`, { line });
    let matched: SourceEntry[];
    if (clean === '' || clean === '.') {
      matched = [{ rel: '', abs: this.root, type: 'directory', mode: 0o755, size: 0, mtime: new Date(0) }];
    } else if (picomatch.scan(clean).isGlob) {
      const isMatch = picomatch(clean, { dot: true });
      matched = [...this.entries.values()].filter((e) => isMatch(e.rel));
    } else {
      const e = this.entries.get(clean);
      matched = e === undefined ? [] : [e];
    }
    if (matched.length === 0)
      throw new BuildError('COPY_SOURCE_MISSING', `COPY source ${source}: no such file or directory in the context`, {
        line,
      });
    const below = new Map<string, SourceEntry[]>();
    for (const m of matched) {
      if (m.type !== 'directory') continue;
      const prefix = m.rel === '' ? '' : `${m.rel}/`;
      below.set(
        m.rel,
        [...this.entries.values()].filter((e) => e.rel.startsWith(prefix) && e.rel !== m.rel),
      );
    }
    return { matched, below };
  }
}

/** sha256 of a file's bytes, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
