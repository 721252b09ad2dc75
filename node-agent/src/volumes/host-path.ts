// A hostPath volume's source, only under directories the node's admin allows (none by default).
//
// Kubernetes leaves hostPath to admission policy; berth's agent refuses it unless `hostPathPrefixes` names a
// directory the path resolves under (symlinks followed, so a link cannot lead elsewhere), then applies `type` as
// the kubelet does: DirectoryOrCreate and FileOrCreate make what is missing, Directory and File must exist as such.
import { lstat, mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { VolumeError } from './errors.js';

export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File';

const refuse = (message: string) => new VolumeError('HostPathNotAllowed', message);

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);

export async function hostPathSource(
  hostPath: string,
  type: HostPathType,
  allowedPrefixes: readonly string[],
): Promise<string> {
  if (allowedPrefixes.length === 0)
    throw refuse('hostPath volumes are off on this node (its agent allows no host directories)');
  if (!path.isAbsolute(hostPath) || hostPath.split('/').includes('..'))
    throw refuse(`hostPath ${JSON.stringify(hostPath)} must be absolute, without ".."`);
  const allowed = await Promise.all(allowedPrefixes.map((p) => realpath(p).catch(() => path.resolve(p))));
  // Checked by name first (as given or resolved), so nothing is created outside the allowed directories.
  const named = [...allowed, ...allowedPrefixes.map((p) => path.resolve(p))];
  if (!named.some((root) => inside(root, path.resolve(hostPath)))) {
    throw refuse(
      `hostPath ${JSON.stringify(hostPath)} is not under a directory this node allows (${allowedPrefixes.join(', ')})`,
    );
  }
  const existing = await lstat(hostPath).catch(() => undefined);
  if (existing === undefined) {
    // What exists of the path must already resolve inside (or above an allowed directory not made yet): a symlinked
    // parent would make the new entry elsewhere.
    let ancestor = path.dirname(path.resolve(hostPath));
    while ((await lstat(ancestor).catch(() => undefined)) === undefined) ancestor = path.dirname(ancestor);
    const realAncestor = await realpath(ancestor);
    if (!allowed.some((root) => inside(root, realAncestor) || inside(realAncestor, root)))
      throw refuse(
        `hostPath ${JSON.stringify(hostPath)} would be made under ${realAncestor}, outside the directories this node allows`,
      );
    if (type === 'DirectoryOrCreate') await mkdir(hostPath, { recursive: true, mode: 0o755 });
    else if (type === 'FileOrCreate') {
      await mkdir(path.dirname(hostPath), { recursive: true, mode: 0o755 });
      await writeFile(hostPath, '', { flag: 'a', mode: 0o644 });
    } else throw new VolumeError('HostPathInvalid', `hostPath ${JSON.stringify(hostPath)} does not exist`);
  }
  const real = await realpath(hostPath).catch((err: NodeJS.ErrnoException) => {
    // A dangling symlink: lstat found the link, not what it names.
    if (err.code === 'ENOENT')
      throw new VolumeError('HostPathInvalid', `hostPath ${JSON.stringify(hostPath)} does not exist`, { cause: err });
    throw err;
  });
  if (!allowed.some((root) => inside(root, real)))
    throw refuse(`hostPath ${JSON.stringify(hostPath)} resolves to ${real}, outside the directories this node allows`);
  const info = await stat(real);
  if ((type === 'Directory' || type === 'DirectoryOrCreate') && !info.isDirectory())
    throw new VolumeError('HostPathInvalid', `hostPath ${JSON.stringify(hostPath)} is not a directory`);
  if ((type === 'File' || type === 'FileOrCreate') && !info.isFile())
    throw new VolumeError('HostPathInvalid', `hostPath ${JSON.stringify(hostPath)} is not a file`);
  return real;
}
