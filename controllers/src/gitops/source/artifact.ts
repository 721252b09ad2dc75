// The artifact of a source: the tree of one commit as a directory under the controller's data dir, minus the
// spec's ignore patterns (gitignore syntax, through the `ignore` package), named by the digest of its content
// so that the same tree is stored once and a Sync reading it never sees a half-written one (rename is atomic).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ignore from 'ignore';
import { GitOpsError } from '../errors.js';
import { checkoutTree } from './git.js';

export interface Artifact {
  /** `sha256:<hex>` over every file's path and content. */
  readonly digest: string;
  /** Relative to the data dir. */
  readonly path: string;
  readonly size: number;
}

/**
 * Builds the artifact of `commit` from the clone into `<dataDir>/<artifactsDir>/<digest>`, reusing one that is
 * already there. Fails (and leaves nothing behind) when the tree is larger than `maxBytes`.
 */
export async function buildArtifact(options: {
  readonly dataDir: string;
  readonly artifactsDir: string;
  readonly clone: string;
  readonly commit: string;
  readonly ignore: string | undefined;
  readonly maxBytes: number;
  readonly signal: AbortSignal;
}): Promise<Artifact> {
  const parent = join(options.dataDir, options.artifactsDir);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, '.tmp-'));
  try {
    await checkoutTree(options.clone, options.commit, tmp, options.signal);
    await unlink(join(tmp, '.git-index'));
    const ig = ignore().add(options.ignore ?? '');
    const files = (await walk(tmp)).sort();
    const hash = createHash('sha256');
    let size = 0;
    for (const file of files) {
      const rel = relative(tmp, file).split(sep).join('/');
      if (ig.ignores(rel)) {
        await rm(file);
        continue;
      }
      const content = await readFile(file);
      size += content.length;
      if (size > options.maxBytes)
        throw new GitOpsError(
          'BERTH_GITOPS_ARTIFACT',
          `the tree of ${options.commit} is larger than the limit of ${options.maxBytes} bytes (at ${rel})`,
        );
      hash.update(`${rel}\0${createHash('sha256').update(content).digest('hex')}\n`);
    }
    await removeEmptyDirs(tmp);
    const hex = hash.digest('hex');
    const name = hex.slice(0, 32);
    const final = join(parent, name);
    const exists = await stat(final).then(
      () => true,
      () => false,
    );
    if (exists) await rm(tmp, { recursive: true, force: true });
    else await rename(tmp, final);
    return { digest: `sha256:${hex}`, path: relative(options.dataDir, final), size };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes every artifact of the source but those named in `keep` (paths relative to the data dir). */
export async function pruneArtifacts(dataDir: string, artifactsDir: string, keep: readonly string[]): Promise<void> {
  const parent = join(dataDir, artifactsDir);
  const names = await readdir(parent).catch(() => [] as string[]);
  const kept = new Set(keep.map((k) => join(dataDir, k)));
  for (const name of names) {
    if (name.startsWith('.tmp-')) continue;
    const dir = join(parent, name);
    if (!kept.has(dir)) await rm(dir, { recursive: true, force: true });
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    // A symlink could point outside the artifact (a Sync would then read the controller's own files): dropped.
    else if (entry.isSymbolicLink()) await rm(path);
    else out.push(path);
  }
  return out;
}

/** Directories left empty by ignore patterns go too, so they are not part of what a Sync sees. */
async function removeEmptyDirs(dir: string): Promise<boolean> {
  let empty = true;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await removeEmptyDirs(join(dir, entry.name))))
      await rm(join(dir, entry.name), { recursive: true });
    else empty = false;
  }
  return empty;
}
