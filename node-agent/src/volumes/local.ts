// The local implementation of Volumes: plain directories under the node's data root, tmpfs for memory emptyDirs.
import { chmod, lstat, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../host/run-command.js';
import { writeAtomically, type ProjectedFile } from './atomic-writer.js';
import { VolumeError } from './errors.js';
import { openSubPath } from './subpath.js';
import type { EmptyDirOptions, VolumeOptions, Volumes } from './volumes.js';

/** Mount points listed in /proc/self/mountinfo (field 5, octal escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) =>
      (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))),
    );
}

async function run(file: string, args: readonly string[]): Promise<void> {
  const r = await runCommand(file, args);
  if (r.code !== 0)
    throw new VolumeError(
      'MountFailed',
      `${file} ${args.join(' ')}: ${r.stderr.trim() || `exit ${String(r.code ?? r.signal)}`}`,
    );
}

const missingOk = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'ENOENT') throw err;
};

export class LocalVolumes implements Volumes {
  readonly #volumes: string;
  readonly #perContainer: string;

  constructor(root: string) {
    this.#volumes = path.join(root, 'volumes');
    this.#perContainer = path.join(root, 'container-volumes');
  }

  dataDir(namespace: string, name: string): string {
    return path.join(this.#volumes, namespace, name, '_data');
  }

  async ensure(namespace: string, name: string, options: VolumeOptions = {}): Promise<string> {
    const dir = this.dataDir(namespace, name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const size = options.capacityBytes;
    if (size === undefined || (await mountPoints()).includes(dir)) return dir;
    const image = path.join(this.#volumes, namespace, name, 'disk.img');
    const fresh = await stat(image).then(
      () => false,
      () => true,
    );
    // Data written before a capacity was asked for stays where it is: a filesystem mounted over it would hide it.
    if (fresh && (await readdir(dir)).length > 0) return dir;
    if (fresh) {
      // Sparse: the node's disk holds only what is written. -m 0: no blocks reserved for root.
      const file = await open(image, 'wx');
      try {
        await file.truncate(size);
      } finally {
        await file.close();
      }
      await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
    }
    // -o loop sets autoclear: the loop device goes with the unmount.
    await run('mount', ['-o', 'loop', image, dir]);
    if (fresh) {
      // An empty Volume is empty (copy-up looks), and writable as a plain directory is.
      await rmdir(path.join(dir, 'lost+found')).catch(() => undefined);
      await chmod(dir, 0o755);
    }
    return dir;
  }

  async unmount(namespace: string, name: string): Promise<void> {
    const dir = this.dataDir(namespace, name);
    if ((await mountPoints()).includes(dir)) await run('umount', [dir]);
  }

  async copyUp(namespace: string, name: string, from: string): Promise<boolean> {
    const dir = await this.ensure(namespace, name);
    if ((await readdir(dir)).length > 0) return false;
    const entries = await readdir(from).catch(() => []);
    if (entries.length === 0) return false;
    // cp -a: ownership, modes, times, symlinks as they are (Node's fs.cp keeps no owners).
    await run('cp', ['-a', '--', `${from}/.`, `${dir}/`]);
    return true;
  }

  async exists(namespace: string, name: string): Promise<boolean> {
    return stat(this.dataDir(namespace, name)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async remove(namespace: string, name: string): Promise<void> {
    await this.unmount(namespace, name);
    await rm(path.join(this.#volumes, namespace, name), { recursive: true, force: true });
    // The namespace's folder goes with its last volume; another volume in it keeps it (ENOTEMPTY).
    await rmdir(path.join(this.#volumes, namespace)).catch(() => undefined);
  }

  async emptyDir(id: string, name: string, options: EmptyDirOptions): Promise<string> {
    // 0777 as the kubelet makes emptyDirs: any user the container runs as can write.
    return this.#dir(id, name, options.memory, 0o777, options.sizeBytes);
  }

  async project(
    id: string,
    name: string,
    files: Readonly<Record<string, ProjectedFile>>,
    options: { readonly memory: boolean },
  ): Promise<{ dir: string; changed: boolean }> {
    const dir = await this.#dir(id, name, options.memory, 0o755);
    return { dir, changed: await writeAtomically(dir, files) };
  }

  /** `<root>/container-volumes/<id>/<name>`, made with `mode`, a tmpfs (of `sizeBytes`) when `memory`. */
  async #dir(id: string, name: string, memory: boolean, mode: number, sizeBytes?: number): Promise<string> {
    const dir = path.join(this.#perContainer, id, name);
    await mkdir(dir, { recursive: true });
    if (memory) {
      if (!(await mountPoints()).includes(dir)) {
        const size = sizeBytes !== undefined ? [`size=${sizeBytes}`] : [];
        await run('mount', [
          '-t',
          'tmpfs',
          '-o',
          ['nosuid', 'nodev', `mode=${mode.toString(8).padStart(4, '0')}`, ...size].join(','),
          'tmpfs',
          dir,
        ]);
      }
    } else {
      await chmod(dir, mode);
    }
    return dir;
  }

  async release(id: string): Promise<void> {
    const dir = path.join(this.#perContainer, id);
    // Unmount first, deepest first: rm through a mount point would empty a tmpfs, or a Volume through a subPath
    // bind, before failing with EBUSY.
    const under = async () =>
      (await mountPoints()).filter((m) => m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
    for (const m of await under()) await run('umount', [m]);
    // A recursive rm through a subPath bind still mounted would delete the Volume's data: never.
    const left = await under();
    if (left.length > 0) throw new VolumeError('MountFailed', `still mounted after umount: ${left.join(', ')}`);
    await rm(dir, { recursive: true, force: true });
  }

  async bindSubPath(id: string, index: number, base: string, subPath: string): Promise<string> {
    const target = path.join(this.#perContainer, id, '..subpaths', String(index));
    // A restart of the same container checks the subPath again: what was bound before may have been swapped since.
    if ((await mountPoints()).includes(target)) await run('umount', [target]);
    if ((await mountPoints()).includes(target))
      throw new VolumeError('MountFailed', `${target} is still mounted after umount`);
    const opened = await openSubPath(base, subPath);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      // Only the empty placeholder of an earlier start: rmdir refuses anything with content.
      const old = await lstat(target).catch(() => undefined);
      if (old?.isDirectory() === true) await rmdir(target);
      else if (old !== undefined) await unlink(target);
      if ((await opened.handle.stat()).isDirectory()) await mkdir(target);
      else await writeFile(target, '');
      // The open file itself, not its path again: --no-canonicalize keeps mount(8) from resolving the name.
      await run('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${opened.handle.fd}`, target]);
    } finally {
      await opened.handle.close();
    }
    return target;
  }

  async owners(): Promise<string[]> {
    return readdir(this.#perContainer).catch((err: NodeJS.ErrnoException) => {
      missingOk(err);
      return [];
    });
  }
}
