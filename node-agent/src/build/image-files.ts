// Reading an image's files straight from its applied layers (top layer first), without mounting them: users and
// groups for USER and --chown, whether a WORKDIR exists.
import { lstat, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BuildError } from './errors.js';

/** What the path is in the stacked layers: the topmost layer that has it (or a whiteout of it) decides. */
async function lookup(layerDirsTopFirst: readonly string[], path: string): Promise<string | undefined> {
  const rel = posix.normalize(`/${path}`).slice(1);
  for (const dir of layerDirsTopFirst) {
    const abs = join(dir, rel);
    try {
      const st = await lstat(abs);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      return abs;
    } catch {
      // Not in this layer: look below.
    }
  }
  return undefined;
}

export async function existsInImage(layerDirsTopFirst: readonly string[], path: string): Promise<boolean> {
  return (await lookup(layerDirsTopFirst, path)) !== undefined;
}

async function readImageFile(layerDirsTopFirst: readonly string[], path: string): Promise<string> {
  const abs = await lookup(layerDirsTopFirst, path);
  return abs === undefined ? '' : readFile(abs, 'utf8').catch(() => '');
}

function findId(table: string, name: string, field: 2 | 3): number | undefined {
  for (const line of table.split('\n')) {
    const parts = line.split(':');
    if (parts[0] === name && parts[field] !== undefined && /^\d+$/.test(parts[field])) return Number(parts[field]);
  }
  return undefined;
}

/** `user[:group]` (names or numbers) → uid and gid, as docker resolves USER and --chown in the image's /etc files. */
export async function resolveUser(
  layerDirsTopFirst: readonly string[],
  spec: string,
  line: number,
): Promise<{ uid: number; gid: number }> {
  const [user = '', group] = spec.split(':');
  let passwd: string | undefined;
  const users = async () => (passwd ??= await readImageFile(layerDirsTopFirst, '/etc/passwd'));
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    for (const l of (await users()).split('\n')) {
      const p = l.split(':');
      if (p[2] === user && p[3] !== undefined && /^\d+$/.test(p[3])) gid = Number(p[3]);
    }
  } else {
    const found = findId(await users(), user, 2);
    if (found === undefined)
      throw new BuildError('BUILD_INVALID', `unknown user ${user} in the image's /etc/passwd`, { line });
    uid = found;
    gid = findId(await users(), user, 3);
  }
  if (group !== undefined && group !== '') {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const found = findId(await readImageFile(layerDirsTopFirst, '/etc/group'), group, 2);
      if (found === undefined)
        throw new BuildError('BUILD_INVALID', `unknown group ${group} in the image's /etc/group`, { line });
      gid = found;
    }
  }
  return { uid, gid: gid ?? uid };
}
