// The volumes subsystem's contract: where a Container's volumes live on this node, and their lifecycle.
//
// Lifecycle, as the node agent drives it:
// - A `Volume` (driver `local`) is a directory `<root>/volumes/<namespace>/<name>/_data`, made by `ensure` the first
//   time a Container on this node mounts it. It outlives every Container; `remove` deletes it, which the Volume
//   reconciler does only once no Container uses it and only under `reclaimPolicy: Delete`. Mounted over a path the
//   image has content at, an empty Volume first gets a copy of it (`copyUp`, Docker's behaviour for named volumes).
//   With spec.capacity it is an ext4 filesystem of that size in a sparse file beside it (`disk.img`), loop-mounted
//   on `_data`, so Containers cannot write more; `unmount` takes the mount away and keeps the data (Retain).
// - An `emptyDir` is `<root>/container-volumes/<container id>/<name>`, made by `emptyDir` before the container is
//   created (a tmpfs of its sizeLimit for `medium: Memory`). It survives restarts of the container and goes with
//   `release`, which the Container reconciler calls when it removes the container.
// - A ConfigMap or Secret volume is a directory beside the emptyDirs (a tmpfs for Secrets, so they never reach the
//   disk) that `project` fills with one file per key, atomically (atomic-writer.ts), again whenever the data
//   changes; it goes with `release` too.
// - A `subPath` is resolved inside its volume by `bindSubPath` and the inode checked is bind-mounted at
//   `<root>/container-volumes/<container id>/..subpaths/<n>`, so a symlink swapped in after the check changes
//   nothing; nothing outside the volume is ever handed out. The bind goes with `release`.
// Everything is on disk, so a restarted agent finds what an earlier one made (`owners` for the sweep).
import type { ProjectedFile } from './atomic-writer.js';

export interface EmptyDirOptions {
  /** A tmpfs instead of the node's disk. */
  readonly memory: boolean;
  /** The tmpfs size; for disk emptyDirs it is recorded, not enforced. */
  readonly sizeBytes?: number;
}

export interface VolumeOptions {
  /** The Volume's size limit (spec.capacity), enforced by a filesystem of its own. @default none */
  readonly capacityBytes?: number;
}

export interface Volumes {
  /**
   * The data directory of Volume `namespace/name`, created on first use; with `capacityBytes` a filesystem of that
   * size (made on first use, mounted when it is not).
   */
  ensure(namespace: string, name: string, options?: VolumeOptions): Promise<string>;
  /** Unmounts the filesystem of a Volume with a capacity, keeping its data; nothing mounted is fine. */
  unmount(namespace: string, name: string): Promise<void>;
  /** Where the data directory of `namespace/name` is (or would be). */
  dataDir(namespace: string, name: string): string;
  /** Whether the data directory exists. */
  exists(namespace: string, name: string): Promise<boolean>;
  /**
   * Copies the directory `from` (an image path inside a container's root filesystem, checked by the caller) into
   * Volume `namespace/name` if the Volume is empty, owners, modes and times kept; true when it copied.
   */
  copyUp(namespace: string, name: string, from: string): Promise<boolean>;
  /** Deletes a Volume's directory and its data; a missing one is fine. */
  remove(namespace: string, name: string): Promise<void>;
  /** The emptyDir `name` of container `id`, created (and for memory, mounted) if missing. */
  emptyDir(id: string, name: string, options: EmptyDirOptions): Promise<string>;
  /** Fills the projected volume `name` of container `id` with `files`; returns its directory and whether it changed. */
  project(
    id: string,
    name: string,
    files: Readonly<Record<string, ProjectedFile>>,
    options: { readonly memory: boolean },
  ): Promise<{ dir: string; changed: boolean }>;
  /** Removes every per-container volume of container `id`, unmounting tmpfs ones; nothing there is fine. */
  release(id: string): Promise<void>;
  /** Container ids that still have per-container volumes on disk. */
  owners(): Promise<string[]>;
  /**
   * A host path for mount `index` of container `id` showing `subPath` inside the directory `base`; throws
   * VolumeError SubPathEscape if it leaves it.
   */
  bindSubPath(id: string, index: number, base: string, subPath: string): Promise<string>;
}
