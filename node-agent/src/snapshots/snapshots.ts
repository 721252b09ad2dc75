// The snapshotter interface: a container's writable root filesystem on top of read-only image layers.
//
// Lifecycle: after the image service has unpacked an image's layers, `prepare(id, layerDirs)` gives the
// container `<root>/containers/<id>/rootfs`, an overlay whose lowerdirs are the layers (top first) and
// whose upperdir `<root>/containers/<id>/upper` takes every write the container makes. The runtime uses
// `rootfs` as the bundle's root. `remove(id)` unmounts it and deletes upper, work and rootfs: the
// container's changes are gone, the layers stay for other containers. Mounts outlive the agent, so on
// start the agent calls `list()` / `prepare()` again, which adopt existing mounts instead of remounting.
// A snapshot carries labels (as containerd's do), set when its writable layer is made and kept until `remove`.

export interface Snapshot {
  readonly id: string;
  /** Mount point of the container's root filesystem. */
  readonly rootfs: string;
  readonly upper: string;
  readonly work: string;
}

export interface PrepareOptions {
  /** @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * A user namespace of the container's own (hostUsers: false): the layers are read through an idmapped mount of
   * the layer store made with `usernsFd` (the files the node's root owns are the container root's), and the writable
   * layer's root belongs to `hostId`, the range's root. @default the node's ids
   */
  readonly idmap?: { readonly usernsFd: number; readonly hostId: number };
}

export interface Snapshotter {
  /**
   * Mounts (or adopts the existing mount of) the container's rootfs; idempotent. `labels` are recorded when the
   * writable layer is new; an existing one keeps its own.
   */
  prepare(id: string, layerDirs: readonly string[], options?: PrepareOptions): Promise<Snapshot>;
  /** The labels the snapshot was made with; {} when it has none or does not exist. */
  labels(id: string): Promise<Readonly<Record<string, string>>>;
  /** Unmounts and deletes upper, work and rootfs; a missing snapshot is not an error. */
  remove(id: string): Promise<void>;
  isMounted(id: string): Promise<boolean>;
  /** Every container snapshot currently mounted under the data root. */
  list(): Promise<Snapshot[]>;
}
