// Named network namespaces, as `ip netns` keeps them: a namespace bind-mounted on a file, so it lives on without
// any process in it (between a container's restarts, across an agent restart) until it is unmounted.
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../host/run-command.js';
import { NetworkError } from './errors.js';

export class NetnsDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(id: string): string {
    return path.join(this.dir, id);
  }

  /** Makes the namespace `id` with loopback up; an existing one is kept. Returns its path. */
  async create(id: string): Promise<string> {
    const file = this.pathOf(id);
    if (await this.exists(id)) return file;
    await mkdir(this.dir, { recursive: true });
    await (await open(file, 'a')).close();
    // util-linux unshare makes the namespace, bind-mounts it on the file and runs `ip` inside: one spawn for both.
    const out = await runCommand('unshare', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
    if (out.code !== 0) {
      await this.remove(id).catch(() => undefined);
      throw new NetworkError(
        'NetnsFailed',
        `creating network namespace ${file} failed: ${out.stderr.trim() || `exit ${out.code ?? out.signal}`}`,
      );
    }
    return file;
  }

  /** True when `id`'s file is a mounted namespace (not just an empty file left by a crash). */
  async exists(id: string): Promise<boolean> {
    return (await mountedUnder(this.dir)).has(this.pathOf(id));
  }

  /** Unmounts and removes the namespace; a missing one is fine. */
  async remove(id: string): Promise<void> {
    const file = this.pathOf(id);
    if ((await mountedUnder(this.dir)).has(file)) {
      const out = await runCommand('umount', [file]);
      if (out.code !== 0)
        throw new NetworkError('NetnsFailed', `unmounting network namespace ${file} failed: ${out.stderr.trim()}`);
    }
    await rm(file, { force: true });
  }

  /** Ids with a file or a mount here. */
  async list(): Promise<string[]> {
    const ids = new Set<string>();
    try {
      for (const name of await readdir(this.dir)) ids.add(name);
    } catch {
      // No directory: nothing made yet.
    }
    for (const p of await mountedUnder(this.dir)) ids.add(path.basename(p));
    return [...ids];
  }
}

/** Mount points directly in `dir`, from /proc/self/mountinfo (octal escapes decoded). */
async function mountedUnder(dir: string): Promise<Set<string>> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const found = new Set<string>();
  for (const line of info.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint === undefined) continue;
    const decoded = mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path.dirname(decoded) === dir) found.add(decoded);
  }
  return found;
}
