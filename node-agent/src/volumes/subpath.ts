// Resolves a volumeMount's subPath inside its volume and refuses any path that leaves it (CVE-2017-1002101).
//
// The kubelet walks the path one component at a time with openat(O_NOFOLLOW). Node has no openat, so this walks
// with lstat: a symlink component is resolved with realpath and must land inside the volume; a missing component
// is made as a directory (as the kubelet does). The result is then opened with O_PATH|O_NOFOLLOW and the open file's
// own path (/proc/self/fd) checked once more, so a swap of a component during the walk is caught too. `openSubPath`
// hands back that open file, for a bind mount of the very inode checked (as the kubelet mounts /proc/<pid>/fd/<n>).
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { VolumeError } from './errors.js';

/** Linux's O_PATH (not in Node's fs.constants): an fd naming the file without opening its contents. */
const O_PATH = 0o10000000;

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);

const escapeError = (subPath: string, why: string) =>
  new VolumeError('SubPathEscape', `subPath ${JSON.stringify(subPath)} ${why}`);

/** The checks the API schema also makes (relative, no ".." component), for callers that bypassed it. */
export function checkSubPath(subPath: string): void {
  if (path.isAbsolute(subPath)) throw escapeError(subPath, 'must be a relative path');
  if (subPath.split('/').includes('..')) throw escapeError(subPath, 'must not contain ".."');
  if (subPath.includes('\0')) throw escapeError(subPath, 'must not contain NUL');
}

/** The path of `subPath` inside `base`, checked; see openSubPath. */
export async function resolveSubPath(base: string, subPath: string): Promise<string> {
  const opened = await openSubPath(base, subPath);
  await opened.handle.close();
  return opened.path;
}

/** `subPath` inside `base`, opened with O_PATH|O_NOFOLLOW and checked; the caller closes the handle. */
export async function openSubPath(base: string, subPath: string): Promise<{ path: string; handle: FileHandle }> {
  checkSubPath(subPath);
  const root = await realpath(base);
  let current = root;
  for (const component of subPath.split('/')) {
    if (component === '' || component === '.') continue;
    const next = path.join(current, component);
    let info = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      if (err.code === 'ENOTDIR')
        throw new VolumeError(
          'SubPathInvalid',
          `subPath ${JSON.stringify(subPath)}: a component before ${JSON.stringify(component)} is not a directory`,
          { cause: err },
        );
      throw err;
    });
    if (info === undefined) {
      await mkdir(next, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      info = await lstat(next);
    }
    if (info.isSymbolicLink()) {
      const target = await realpath(next).catch((err: unknown) => {
        throw new VolumeError(
          'SubPathInvalid',
          `subPath ${JSON.stringify(subPath)}: symlink ${component} cannot be resolved`,
          { cause: err },
        );
      });
      if (!inside(root, target))
        throw escapeError(subPath, `resolves through the symlink ${JSON.stringify(component)} to outside its volume`);
      current = target;
    } else {
      current = next;
    }
  }
  // The walk could race a writer swapping a component: check the file actually opened.
  const handle = await open(current, O_PATH | constants.O_NOFOLLOW);
  try {
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (!inside(root, opened)) throw escapeError(subPath, 'resolves to outside its volume');
    return { path: opened, handle };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
