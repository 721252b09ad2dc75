// Idmapped mounts (mount_setattr(2) with MOUNT_ATTR_IDMAP, Linux 5.12+): a clone of a directory or file whose ids
// read and write through a user namespace's mapping, so a container's root (a high unprivileged id on the node)
// owns what the node's root owns on disk, and nothing is chowned. Called through libc with koffi, as mount(2) is.
import { endianness } from 'node:os';
import koffi from 'koffi';
import { UserNamespaceError } from './errors.js';

const libc = koffi.load('libc.so.6');
const openTree = libc.func('int open_tree(int dfd, const char *path, unsigned int flags)');
const mountSetattr = libc.func(
  'int mount_setattr(int dfd, const char *path, unsigned int flags, void *attr, size_t size)',
);
const moveMount = libc.func(
  'int move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags)',
);
const closeFn = libc.func('int close(int fd)');
const strerrorFn = libc.func('const char *strerror(int errnum)');

// Linux's values (fcntl.h, mount.h).
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const OPEN_TREE_CLONE = 1;
const O_CLOEXEC = 0o2000000;
const MOUNT_ATTR_IDMAP = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const EINVAL = 22;

function failure(what: string, path: string): UserNamespaceError {
  const errno = koffi.errno();
  const words = `${what} ${path}: ${String(strerrorFn(errno))}`;
  // EINVAL from mount_setattr: the filesystem cannot be idmapped (proc, sysfs, overlayfs, …).
  return new UserNamespaceError(
    errno === EINVAL && what === 'mount_setattr' ? 'IDMAP_UNSUPPORTED' : 'IDMAP_FAILED',
    words,
  );
}

/**
 * Mounts a clone of `source` (the mount it is on, from that directory or file down, without submounts) at `target`
 * (an existing directory, or file for a file), its ids mapped through the user namespace `usernsFd`. Synchronous:
 * three system calls. Throws IDMAP_UNSUPPORTED when the source's filesystem cannot be idmapped.
 */
export function idmappedMountSync(source: string, target: string, usernsFd: number): void {
  const tree = openTree(AT_FDCWD, source, OPEN_TREE_CLONE | O_CLOEXEC) as number;
  if (tree < 0) throw failure('open_tree', source);
  try {
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }, built by hand: no koffi type to name.
    const attr = Buffer.alloc(32);
    const little = endianness() === 'LE';
    for (const [value, offset] of [
      [MOUNT_ATTR_IDMAP, 0],
      [usernsFd, 24],
    ] as const)
      little ? attr.writeBigUInt64LE(BigInt(value), offset) : attr.writeBigUInt64BE(BigInt(value), offset);
    if ((mountSetattr(tree, '', AT_EMPTY_PATH, attr, attr.length) as number) !== 0)
      throw failure('mount_setattr', source);
    if ((moveMount(tree, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) as number) !== 0)
      throw failure('move_mount', target);
  } finally {
    closeFn(tree);
  }
}
