// A user namespace holding one id mapping, as an open file descriptor: what mount_setattr(2) takes to idmap a mount.
//
// A process cannot unshare a user namespace once it has threads (Node has), so a small `unshare --user` child makes
// it, says so on its stdout, and waits on its stdin while the agent writes its uid_map and gid_map (allowed: the
// agent is root in the parent namespace) and opens /proc/<pid>/ns/user; the fd keeps the namespace after the child
// exits. One per range, kept while the range is leased.
import { closeSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { posixSpawn } from '../host/posix-spawn.js';
import { UserNamespaceError } from './errors.js';

/** Container ids 0..size-1 map to node ids hostId..hostId+size-1 (uid and gid alike). */
export interface IdRange {
  readonly hostId: number;
  readonly size: number;
}

const opened = new Map<string, Promise<number>>();
const key = (r: IdRange) => `${r.hostId}:${r.size}`;

async function open(range: IdRange): Promise<number> {
  const child = await posixSpawn('unshare', ['--user', '--', 'sh', '-c', 'echo ready; read _'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const stdin = child.pipes.get(0);
  const stdout = child.pipes.get(1);
  try {
    if (stdout === undefined) throw new UserNamespaceError('USERNS_FAILED', 'unshare has no stdout');
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('\n')) resolve();
      });
      stdout.on('end', () =>
        reject(new UserNamespaceError('USERNS_FAILED', 'unshare --user exited before it was ready')),
      );
      stdout.on('error', reject);
    });
    if (readlinkSync(`/proc/${child.pid}/ns/user`) === readlinkSync('/proc/self/ns/user'))
      throw new UserNamespaceError('USERNS_FAILED', 'unshare --user is still in the node user namespace');
    const line = `0 ${range.hostId} ${range.size}\n`;
    writeFileSync(`/proc/${child.pid}/uid_map`, line);
    writeFileSync(`/proc/${child.pid}/gid_map`, line);
    return openSync(`/proc/${child.pid}/ns/user`, 'r');
  } catch (error) {
    throw UserNamespaceError.isInstance(error)
      ? error
      : new UserNamespaceError('USERNS_FAILED', `cannot make a user namespace: ${(error as Error).message}`, {
          cause: error,
        });
  } finally {
    stdin?.end();
    stdout?.destroy();
    await child.exited;
  }
}

/** The fd of a user namespace mapping `range` (made once, then shared). */
export function userNamespaceFd(range: IdRange): Promise<number> {
  let fd = opened.get(key(range));
  if (fd === undefined) {
    fd = open(range);
    opened.set(key(range), fd);
    // A failed attempt is not kept: the next start tries again.
    fd.catch(() => opened.delete(key(range)));
  }
  return fd;
}

/** Closes the namespace of a range given back. */
export async function closeUserNamespaceFd(range: IdRange): Promise<void> {
  const pending = opened.get(key(range));
  opened.delete(key(range));
  const fd = await pending?.catch(() => undefined);
  if (fd !== undefined) closeSync(fd);
}
