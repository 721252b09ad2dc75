// mount(2) and umount2(2) called in the agent's own process (libc through koffi, an N-API FFI addon shipped
// prebuilt in its npm package): a container start no longer spawns mount(8), which from a process the agent's size
// costs a fork and an exec on the start's critical path (7 ms idle, 40+ ms on a loaded machine, measured by
// bench/container-start-trace.ts).
import koffi from 'koffi';
import { SnapshotError } from './errors.js';

const MNT_DETACH = 2;

const libc = koffi.load('libc.so.6');
const mountFn = libc.func(
  'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
);
const umount2Fn = libc.func('int umount2(const char *target, int flags)');
const strerrorFn = libc.func('const char *strerror(int errnum)');

/** What the failed call's errno says: `EBUSY (Device or resource busy)`. */
function lastError(): string {
  const errno = koffi.errno();
  const name = Object.entries(koffi.os.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  return `${name} (${String(strerrorFn(errno))})`;
}

/**
 * mount -t `fstype` `source` `target` -o `data`, as one system call. Synchronous: the kernel's work is well under a
 * millisecond, far less than the fork it replaces (which libuv also makes on the main thread). Throws the errno's
 * words as a SnapshotError.
 */
export function mountSync(source: string, target: string, fstype: string, data: string): void {
  if ((mountFn(source, target, fstype, 0, data) as number) !== 0)
    throw new SnapshotError('MOUNT_FAILED', `mount: ${lastError()}`);
}

/** umount `target`; `detach`: umount -l (MNT_DETACH), for a mount something still holds. Throws the errno's words. */
export function umountSync(target: string, detach = false): void {
  if ((umount2Fn(target, detach ? MNT_DETACH : 0) as number) !== 0)
    throw new SnapshotError('UNMOUNT_FAILED', `umount: ${lastError()}`);
}
