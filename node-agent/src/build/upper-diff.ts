// The changes a RUN made, read from its overlay upper dir as layer entries: new and changed files as they are,
// overlay's deletion marks (character devices 0/0) as `.wh.` whiteouts, opaque directories as `.wh..wh..opq`.
import { execFile } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LayerEntry } from './layer-writer.js';

const execFileAsync = promisify(execFile);

/**
 * Mount points the runtime creates in the root filesystem when the image lacks them: left out of the diff when
 * they are empty, so a RUN does not bake them into the image.
 */
const runtimeMountPoints = new Set(['proc', 'sys', 'dev', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf']);

/** Directories marked opaque (`trusted.overlay.opaque=y`) under `upper`; Node cannot read xattrs, getfattr can. */
async function opaqueDirs(upper: string): Promise<Set<string>> {
  const { stdout } = await execFileAsync(
    'getfattr',
    ['-R', '-h', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', upper],
    { maxBuffer: 64 << 20 },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const dirs = new Set<string>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length);
    else if (current !== undefined && /^trusted\.overlay\.opaque="y"/.test(line)) dirs.add(current);
  }
  return dirs;
}

export async function* upperDirEntries(upper: string): AsyncGenerator<LayerEntry> {
  const opaque = await opaqueDirs(upper);
  const inodes = new Map<number, string>();
  async function* visit(rel: string): AsyncGenerator<LayerEntry> {
    const abs = rel === '' ? upper : join(upper, rel);
    for (const name of (await readdir(abs)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = join(abs, name);
      const st = await lstat(childAbs);
      const common = { name: childRel, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isCharacterDevice() && st.rdev === 0) {
        yield { kind: 'whiteout', name: rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`, mtime: st.mtime };
      } else if (st.isDirectory()) {
        const empty = (await readdir(childAbs)).length === 0;
        if (empty && runtimeMountPoints.has(childRel)) continue;
        yield { ...common, kind: 'directory' };
        if (opaque.has(childAbs)) yield { kind: 'whiteout', name: `${childRel}/.wh..wh..opq`, mtime: st.mtime };
        yield* visit(childRel);
      } else if (st.isSymbolicLink()) {
        yield { ...common, kind: 'symlink', linkname: await readlink(childAbs) };
      } else if (st.isFile()) {
        if (st.size === 0 && runtimeMountPoints.has(childRel)) continue;
        const first = st.nlink > 1 ? inodes.get(st.ino) : undefined;
        if (first !== undefined) {
          yield { ...common, kind: 'hardlink', linkname: first };
          continue;
        }
        if (st.nlink > 1) inodes.set(st.ino, childRel);
        yield { ...common, kind: 'file', size: st.size, source: childAbs };
      }
      // Sockets, fifos and real devices made by a RUN are not carried into the image (docker drops sockets too).
    }
  }
  yield* visit('');
}
