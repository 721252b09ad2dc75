// Docker's `exec -u USER[:GROUP]` (names or ids) resolved as runc's GetExecUser resolves it, against the running
// container's own /etc/passwd and /etc/group, into the uid, gid and supplementary gids crun runs the process as.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { RuntimeError } from '../runtime/errors.js';

export interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
  /** The primary gid first, as docker puts it, then the groups that list the user by name. */
  readonly additionalGids: readonly number[];
}

export interface ExecUserSpec {
  readonly user: string;
  readonly group?: string;
}

const MAX_ID = 2 ** 31 - 1;
const PART = /^[^\s:\p{Cc}]{1,256}$/u;
const NUMERIC = /^\d+$/;
/** Far above any real passwd or group file. */
const MAX_ETC_BYTES = 4 << 20;

/** `USER[:GROUP]` split and checked (no blanks, no control characters, ids in range); undefined when malformed. */
export function parseExecUser(text: string): ExecUserSpec | undefined {
  const i = text.indexOf(':');
  const user = i < 0 ? text : text.slice(0, i);
  const group = i < 0 ? undefined : text.slice(i + 1);
  const ok = (part: string) => PART.test(part) && (!NUMERIC.test(part) || Number(part) <= MAX_ID);
  if (!ok(user) || (group !== undefined && !ok(group))) return undefined;
  return group === undefined ? { user } : { user, group };
}

/**
 * /etc/<file> of the rootfs, or undefined when it is not there. The container's own processes can change its
 * /etc while it runs: a symlink (at /etc or at the file) is not followed, and only a regular file is read.
 */
async function etcFile(rootfs: string, file: 'passwd' | 'group'): Promise<string | undefined> {
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const etc = await open(path.join(rootfs, 'etc'), flags | constants.O_DIRECTORY).catch(() => undefined);
  if (etc === undefined) return undefined;
  try {
    // Through the directory already opened, so /etc cannot be swapped for a symlink in between.
    const handle = await open(`/proc/self/fd/${etc.fd}/${file}`, flags).catch(() => undefined);
    if (handle === undefined) return undefined;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return undefined;
      // The container writes this file: a huge (or sparse) one must not be read whole into the agent's memory.
      if (stat.size > MAX_ETC_BYTES)
        throw new RuntimeError('InvalidConfig', `/etc/${file} is larger than ${MAX_ETC_BYTES >> 20} MiB`);
      const buffer = Buffer.alloc(stat.size);
      const { bytesRead } = await handle.read(buffer, 0, stat.size, 0);
      return buffer.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
  } finally {
    await etc.close();
  }
}

const records = (text: string | undefined) => (text ?? '').split('\n').map((line) => line.split(':'));
const id = (field: string | undefined) =>
  field !== undefined && NUMERIC.test(field) && Number(field) <= MAX_ID ? Number(field) : undefined;

/** Throws RuntimeError `UserNotFound` for a name that the container's files do not have, in runc's words. */
export async function resolveExecUser(rootfs: string, spec: ExecUserSpec): Promise<ProcessUser> {
  const byId = NUMERIC.test(spec.user);
  const entry = records(await etcFile(rootfs, 'passwd')).find((f) =>
    byId ? id(f[2]) === Number(spec.user) : f[0] === spec.user,
  );
  // An id the file does not list is used as it is, with gid 0.
  const uid = entry === undefined ? (byId ? Number(spec.user) : undefined) : id(entry[2]);
  if (uid === undefined)
    throw new RuntimeError('UserNotFound', `unable to find user ${spec.user}: no matching entries in passwd file`);
  let gid = (entry === undefined ? undefined : id(entry[3])) ?? 0;
  const groups = records(await etcFile(rootfs, 'group'));
  let supplementary: number[] = [];
  if (spec.group !== undefined) {
    const wanted = spec.group;
    const groupById = NUMERIC.test(wanted);
    const found = groups.find((f) => (groupById ? id(f[2]) === Number(wanted) : f[0] === wanted));
    const groupId = found === undefined ? (groupById ? Number(wanted) : undefined) : id(found[2]);
    if (groupId === undefined)
      throw new RuntimeError('UserNotFound', `unable to find group ${wanted}: no matching entries in group file`);
    gid = groupId;
  } else if (entry?.[0] !== undefined) {
    // Only without an explicit group, as runc: the groups whose member list names the user.
    const name = entry[0];
    supplementary = groups
      .filter((f) => (f[3] ?? '').split(',').includes(name))
      .map((f) => id(f[2]))
      .filter((g): g is number => g !== undefined);
  }
  return { uid, gid, additionalGids: [...new Set([gid, ...supplementary])] };
}
