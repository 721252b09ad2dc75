// The bind mounts of a container with a user namespace of its own, idmapped through it: a Volume, an emptyDir, a
// ConfigMap's files and /etc/hosts read and write as the container's ids, and what its root writes belongs to the
// node's root on disk, chown-free, so the same Volume serves containers of any range. A source whose filesystem
// cannot be idmapped (proc, sysfs, overlayfs) stays a plain bind: its files show as the overflow id (nobody).
import { chmodSync, mkdirSync, readdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mountPointsSync } from '../snapshots/overlay.js';
import { umountSync } from '../snapshots/mount-syscall.js';
import { UserNamespaceError } from '../user-namespaces/errors.js';
import { idmappedMountSync } from '../user-namespaces/idmapped-mount.js';
import type { OciMount } from './oci-spec.js';

/** Where container `id`'s idmapped binds are mounted: beside the snapshotter's idmapped layers. */
export function bindsDir(root: string, id: string): string {
  return path.join(root, 'userns-mounts', id, 'binds');
}

/**
 * Lets a user namespace's root (an id the node gives no rights) walk from `root` down to `target`: each directory
 * on the way gets search permission for others, not read, as Podman keeps its storage root 0711. crun resolves the
 * rootfs and the binds' sources from inside the namespace.
 */
export function searchableFrom(root: string, target: string): void {
  const rel = path.relative(root, target);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return;
  let dir = root;
  for (const part of ['', ...rel.split(path.sep).slice(0, -1)]) {
    dir = path.join(dir, part);
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
  }
}

/** `mounts` with each bind's source replaced by an idmapped clone under `dir`. */
export function idmapBinds(dir: string, mounts: readonly OciMount[], usernsFd: number): OciMount[] {
  unmountBinds(dir);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  return mounts.map((m, i) => {
    if (m.type !== 'bind') return m;
    const target = path.join(dir, String(i));
    const isDir = statSync(m.source).isDirectory();
    if (isDir) mkdirSync(target);
    else writeFileSync(target, '');
    try {
      idmappedMountSync(m.source, target, usernsFd);
    } catch (error) {
      if (isDir) rmdirSync(target);
      else unlinkSync(target);
      if (UserNamespaceError.isInstance(error) && error.code === 'IDMAP_UNSUPPORTED') return m;
      throw error;
    }
    return { ...m, source: target };
  });
}

/**
 * Unmounts the binds under `dir` and removes their mount points, one by one and never recursively: a mount point
 * still mounted is the Volume itself, which must not be emptied.
 */
export function unmountBinds(dir: string): void {
  const under = [...mountPointsSync()].filter((m) => m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const m of under) {
    try {
      umountSync(m);
    } catch {
      umountSync(m, true);
    }
  }
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return;
    throw error;
  }
  const mounted = mountPointsSync();
  for (const entry of entries) {
    const target = path.join(dir, entry);
    if (mounted.has(target)) throw new UserNamespaceError('IDMAP_FAILED', `${target} is still mounted`);
    if (statSync(target).isDirectory()) rmdirSync(target);
    else unlinkSync(target);
  }
  rmdirSync(dir);
  try {
    rmdirSync(path.dirname(dir));
  } catch (error) {
    // The snapshotter's idmapped layers may still be beside it.
    const code = (error as { code?: unknown }).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw error;
  }
}
