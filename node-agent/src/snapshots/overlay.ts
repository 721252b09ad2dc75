// The overlayfs snapshotter: <root>/containers/<id>/{upper,work,rootfs} over shared layer directories.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { SnapshotError } from './errors.js';
import { idmappedMountSync } from '../user-namespaces/idmapped-mount.js';
import { mountSync, umountSync } from './mount-syscall.js';
import type { PrepareOptions, Snapshot, Snapshotter } from './snapshots.js';

const execFileAsync = promisify(execFile);

/** The kernel takes at most one page of mount data; keep a margin for the upper/work options. */
const maxMountData = 4000;
const idPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Implements Snapshotter with overlayfs. `root` is the agent's data root (default /var/lib/berth/node). */
export class OverlaySnapshotter implements Snapshotter {
  readonly #root: string;

  constructor(root = '/var/lib/berth/node') {
    this.#root = root;
  }

  #paths(id: string): Snapshot {
    if (!idPattern.test(id))
      throw new SnapshotError('INVALID_SNAPSHOT_ID', `invalid container id ${JSON.stringify(id)} for a snapshot`);
    const dir = join(this.#root, 'containers', id);
    return { id, rootfs: join(dir, 'rootfs'), upper: join(dir, 'upper'), work: join(dir, 'work') };
  }

  /** Where the layer store is mounted idmapped for a container with a user namespace of its own. */
  #mappedLayers(id: string): string {
    this.#paths(id);
    return join(this.#root, 'userns-mounts', id, 'layers');
  }

  /** The lowers as seen through the idmapped mount of the layer store (made once per snapshot). */
  #mapLowers(id: string, lowers: readonly string[], usernsFd: number): string[] {
    const layers = join(this.#root, 'layers');
    const mapped = this.#mappedLayers(id);
    const inside = lowers.map((dir) => {
      const rel = relative(layers, dir);
      if (rel.startsWith('..') || isAbsolute(rel))
        throw new SnapshotError('MOUNT_FAILED', `layer ${dir} is outside the layer store ${layers}`);
      return join(mapped, rel);
    });
    if (!mountPointsSync().has(mapped)) {
      mkdirSync(mapped, { recursive: true, mode: 0o700 });
      try {
        idmappedMountSync(layers, mapped, usernsFd);
      } catch (error) {
        throw new SnapshotError(
          'MOUNT_FAILED',
          `cannot idmap the layers of container ${id}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    return inside;
  }

  #labelsPath(id: string): string {
    return join(this.#root, 'containers', id, 'labels.json');
  }

  async prepare(id: string, layerDirs: readonly string[], prepared: PrepareOptions = {}): Promise<Snapshot> {
    const snapshot = this.#paths(id);
    // On a start's critical path: these few directories and a small file are made synchronously, as the mount
    // below is (awaited one by one they cost a start ~25 ms under load; bench/container-start-trace.ts).
    if (isOverlayMountedSync(snapshot.rootfs)) return snapshot;
    mkdirSync(snapshot.upper, { recursive: true, mode: 0o755 });
    try {
      // 'wx': a writable layer that outlived its mount (a reboot) keeps the labels it was made with.
      writeFileSync(this.#labelsPath(id), JSON.stringify(prepared.labels ?? {}), { flag: 'wx' });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
    mkdirSync(snapshot.work, { recursive: true, mode: 0o700 });
    mkdirSync(snapshot.rootfs, { recursive: true, mode: 0o755 });
    let lowers = [...layerDirs];
    if (lowers.length === 0) {
      // overlayfs needs a lowerdir; an image with no layers gets an empty one.
      const empty = join(this.#root, 'layers', 'empty');
      mkdirSync(empty, { recursive: true });
      lowers = [empty];
    }
    const idmap = prepared.idmap;
    if (idmap !== undefined) {
      // The upper dir cannot be idmapped (overlayfs writes its work dir as the mounter, the node's root, which the
      // mapping does not hold): new files there carry the range's ids, and its root is the range's root's.
      lowers = this.#mapLowers(id, lowers, idmap.usernsFd);
      chownSync(snapshot.upper, idmap.hostId, idmap.hostId);
    }
    const { options, cwd } = await mountOptions(this.#root, lowers, snapshot);
    try {
      // Options naming the short links relative to their folder need mount(8) run there (a chdir of the agent
      // would move every other task's cwd): only images of some 30 layers and more.
      if (cwd === undefined) mountSync('overlay', snapshot.rootfs, 'overlay', options);
      else await execFileAsync('mount', ['-t', 'overlay', 'overlay', '-o', options, snapshot.rootfs], { cwd });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new SnapshotError(
        'MOUNT_FAILED',
        `cannot mount the root filesystem of container ${id}: ${stderr || (error as Error).message}`,
        { cause: error },
      );
    }
    return snapshot;
  }

  async remove(id: string): Promise<void> {
    const snapshot = this.#paths(id);
    if (await this.isMounted(id)) {
      try {
        umountSync(snapshot.rootfs);
      } catch (error) {
        // Something still holds the mount (a process inside it): detach it so the delete can go on.
        try {
          umountSync(snapshot.rootfs, true);
        } catch {
          throw new SnapshotError('UNMOUNT_FAILED', `cannot unmount the root filesystem of container ${id}`, {
            cause: error,
          });
        }
      }
    }
    await this.#unmountLayers(id);
    for (const path of [snapshot.rootfs, snapshot.upper, snapshot.work, this.#labelsPath(id)])
      await rm(path, { recursive: true, force: true });
  }

  /** Unmounts the idmapped layer store, if any, and removes its mount point (never recursively: it is the layers). */
  async #unmountLayers(id: string): Promise<void> {
    const mapped = this.#mappedLayers(id);
    if ((await mountPoints()).has(mapped)) {
      try {
        umountSync(mapped);
      } catch {
        umountSync(mapped, true);
      }
    }
    for (const dir of [mapped, join(mapped, '..')]) {
      await rmdir(dir).catch((error: unknown) => {
        const code = (error as { code?: unknown }).code;
        // The runtime's idmapped volumes may still be beside it.
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw error;
      });
    }
  }

  async labels(id: string): Promise<Readonly<Record<string, string>>> {
    try {
      return JSON.parse(await readFile(this.#labelsPath(id), 'utf8')) as Record<string, string>;
    } catch {
      // None recorded (a snapshot older than labels) or none at all.
      return {};
    }
  }

  async isMounted(id: string): Promise<boolean> {
    return isOverlayMountedSync(this.#paths(id).rootfs);
  }

  async list(): Promise<Snapshot[]> {
    const mounted = await mountPoints();
    let ids: string[];
    try {
      ids = await readdir(join(this.#root, 'containers'));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
    return ids
      .filter((id) => idPattern.test(id))
      .map((id) => this.#paths(id))
      .filter((s) => mounted.has(s.rootfs));
  }
}

/**
 * The overlay options. Absolute lowerdirs while they fit in a page; beyond that (≈30 layers), short
 * symlinks `<root>/layers/l/<16 hex>` → layer dir, named relative to that folder with mount run there
 * (the trick Docker's overlay2 uses), which fits a few hundred layers.
 */
export async function mountOptions(
  root: string,
  lowers: readonly string[],
  snapshot: Snapshot,
): Promise<{ options: string; cwd: string | undefined }> {
  const tail = `,upperdir=${snapshot.upper},workdir=${snapshot.work}`;
  for (const dir of [...lowers, snapshot.upper, snapshot.work]) {
    if (/[,:]/.test(dir))
      throw new SnapshotError(
        'MOUNT_FAILED',
        `layer path ${dir} contains ',' or ':', which overlay options cannot carry`,
      );
  }
  const absolute = `lowerdir=${lowers.join(':')}${tail}`;
  if (absolute.length <= maxMountData) return { options: absolute, cwd: undefined };
  const linkDir = join(root, 'layers', 'l');
  await mkdir(linkDir, { recursive: true });
  const names: string[] = [];
  for (const dir of lowers) {
    const name = createHash('sha256').update(dir).digest('hex').slice(0, 16);
    try {
      await symlink(dir, join(linkDir, name));
    } catch (error) {
      // Same name, same target: the name is a hash of the target.
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
    names.push(name);
  }
  const short = `lowerdir=${names.join(':')}${tail}`;
  if (short.length <= maxMountData) return { options: short, cwd: linkDir };
  throw new SnapshotError('TOO_MANY_LAYERS', `image has too many layers (${lowers.length}) for one overlay mount`);
}

/**
 * Whether a snapshot's rootfs directory has its overlay mounted: the mount's root has another device than the folder
 * it sits in (what mountpoint(1) checks), two stat calls instead of reading /proc/self/mountinfo, which grows with
 * every container running and was read once per start (O(n²) for a burst). Only an overlay is ever mounted there.
 */
function isOverlayMountedSync(rootfs: string): boolean {
  const dir = statSync(rootfs, { throwIfNoEntry: false });
  return dir !== undefined && dir.dev !== statSync(dirname(rootfs)).dev;
}

/** Mount points from /proc/self/mountinfo (octal escapes undone). */
async function mountPoints(): Promise<Set<string>> {
  return parseMountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The same, read synchronously. */
export function mountPointsSync(): Set<string> {
  return parseMountPoints(readFileSync('/proc/self/mountinfo', 'utf8'));
}

function parseMountPoints(text: string): Set<string> {
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined)
      points.add(field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}
