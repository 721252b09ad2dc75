// Writes a set of files into a directory so readers see the old set or the new one, never a mix (kubelet's AtomicWriter).
//
// Layout: `..<timestamp>/` holds one version of the files, `..data` is a symlink to the current version, and each
// file name is a symlink to `..data/<name>`. An update writes a new version, points `..data_tmp` at it, renames that
// over `..data` (one atomic rename), adds and removes the visible symlinks, and removes the old version.
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';

export interface ProjectedFile {
  /** Text (UTF-8) or bytes (a Secret's binary key). */
  readonly data: string | Uint8Array;
  readonly mode: number;
}

const DATA = '..data';

/** Names a projection may not use: the writer's own entries, and anything with a path in it. */
const usable = (name: string): boolean => name !== '' && !name.startsWith('..') && !name.includes('/') && name !== '.';

async function current(dir: string): Promise<string | undefined> {
  return readlink(path.join(dir, DATA)).catch(() => undefined);
}

async function sameFiles(versionDir: string, files: ReadonlyMap<string, ProjectedFile>): Promise<boolean> {
  const names = await readdir(versionDir).catch(() => undefined);
  if (names === undefined || names.length !== files.size) return false;
  for (const [name, f] of files) {
    const info = await lstat(path.join(versionDir, name)).catch(() => undefined);
    if (info === undefined || (info.mode & 0o777) !== f.mode) return false;
    const want = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
    if (!(await readFile(path.join(versionDir, name))).equals(want)) return false;
  }
  return true;
}

/** Makes `dir` hold exactly `files`; returns whether anything changed. Names `usable` rejects are skipped. */
export async function writeAtomically(dir: string, input: Readonly<Record<string, ProjectedFile>>): Promise<boolean> {
  const files = new Map(Object.entries(input).filter(([name]) => usable(name)));
  const old = await current(dir);
  if (old !== undefined && (await sameFiles(path.join(dir, old), files))) return false;

  const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint()}`;
  const versionDir = path.join(dir, version);
  await mkdir(versionDir, { mode: 0o755 });
  for (const [name, f] of files) {
    const file = path.join(versionDir, name);
    await writeFile(file, f.data, { flag: 'wx' });
    // writeFile's mode passes through the umask; the projection's mode is exact.
    await chmod(file, f.mode);
  }
  const tmp = path.join(dir, `${DATA}_tmp`);
  await rm(tmp, { force: true });
  await symlink(version, tmp);
  await rename(tmp, path.join(dir, DATA));

  for (const name of files.keys()) {
    const link = path.join(dir, name);
    const target = await readlink(link).catch(() => undefined);
    if (target === path.join(DATA, name)) continue;
    await rm(link, { recursive: true, force: true });
    await symlink(path.join(DATA, name), link);
  }
  for (const name of await readdir(dir)) {
    if (name.startsWith('..') || files.has(name)) continue;
    await unlink(path.join(dir, name)).catch(() => undefined);
  }
  if (old !== undefined && old !== version) await rm(path.join(dir, old), { recursive: true, force: true });
  return true;
}
