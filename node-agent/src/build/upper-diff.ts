// The changes a RUN made, read from its overlay upper dir as layer entries: new and changed files as they are,
// overlay's deletion marks (character devices 0/0) as `.wh.` whiteouts, opaque directories as `.wh..wh..opq`,
// extended attributes (file capabilities, user.*) carried along.
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

/** getfattr's `# file:` names escape backslash and unprintable bytes as \\ooo octal. */
function unescapeName(name: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(name, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const octal = raw[i] === 0x5c ? /^[0-7]{3}/.exec(raw.subarray(i + 1, i + 4).toString('latin1')) : null;
    if (octal !== null) {
      bytes.push(Number.parseInt(octal[0], 8));
      i += 3;
    } else bytes.push(raw[i] as number);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Every extended attribute under `upper` (Node cannot read xattrs, getfattr can), path → name → value. overlayfs's
 * own trusted.overlay.* are left out but for the opaque mark, which the caller turns into a `.wh..wh..opq` marker.
 */
export async function upperXattrs(upper: string): Promise<Map<string, Map<string, Buffer>>> {
  const { stdout } = await execFileAsync(
    'getfattr',
    ['-R', '-h', '--absolute-names', '-d', '-m', '-', '-e', 'base64', upper],
    {
      maxBuffer: 64 << 20,
    },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const all = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      all.set(unescapeName(line.slice('# file: '.length)), current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0) continue;
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (name.startsWith('trusted.overlay.') && name !== 'trusted.overlay.opaque') continue;
    current.set(
      name,
      value.startsWith('0s') ? Buffer.from(value.slice(2), 'base64') : Buffer.from(value.replace(/^"|"$/g, '')),
    );
  }
  return all;
}

/**
 * `idRange`: the container ran in a user namespace of its own, so what it wrote carries the range's node ids on
 * disk; the layer gets the container's own ids back (ids outside the range stay as they are).
 */
export async function* upperDirEntries(
  upper: string,
  idRange?: { readonly hostId: number; readonly size: number },
): AsyncGenerator<LayerEntry> {
  const own = (id: number) =>
    idRange !== undefined && id >= idRange.hostId && id < idRange.hostId + idRange.size ? id - idRange.hostId : id;
  const xattrs = await upperXattrs(upper);
  const opaque = new Set(
    [...xattrs].filter(([, x]) => x.get('trusted.overlay.opaque')?.toString() === 'y').map(([p]) => p),
  );
  /** A path's xattrs as the layer keeps them (SCHILY.xattr.*): security.capability, user.*, … */
  const kept = (abs: string) => {
    const x = new Map([...(xattrs.get(abs) ?? [])].filter(([name]) => !name.startsWith('trusted.overlay.')));
    return x.size > 0 ? { xattrs: x } : {};
  };
  const inodes = new Map<number, string>();
  async function* visit(rel: string): AsyncGenerator<LayerEntry> {
    const abs = rel === '' ? upper : join(upper, rel);
    for (const name of (await readdir(abs)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = join(abs, name);
      const st = await lstat(childAbs);
      const ids = { uid: own(st.uid), gid: own(st.gid) };
      const common = { name: childRel, mode: st.mode, ...ids, mtime: st.mtime, ...kept(childAbs) };
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
