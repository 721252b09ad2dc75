// The unpack interface: layer tars applied once per digest into directories usable as overlay lowerdirs.
//
// An applied layer is a plain directory tree in overlayfs form: a deleted path (`.wh.name` in the tar)
// is a character device 0/0, an opaque directory (`.wh..wh..opq`) carries `trusted.overlay.opaque=y`.
// Stacking such directories as overlay lowerdirs (top first) yields the image's root filesystem.
import type { Readable } from 'node:stream';

export interface AppliedLayer {
  /** The layer's (compressed) blob digest: the key it is stored under. */
  readonly digest: string;
  /** sha256 of the uncompressed tar, as listed in the image config's rootfs.diff_ids. */
  readonly diffID: string;
  /** Bytes of the uncompressed tar. */
  readonly size: number;
  /** The unpacked tree, ready to be a lowerdir. */
  readonly dir: string;
}

export interface UnpackOptions {
  /**
   * When given, the uncompressed tar must hash to it (else DigestMismatch and nothing is kept). A function is
   * called once the tree is complete, so a pull can unpack a layer while the image config is still on its way.
   */
  readonly diffID?: string | (() => Promise<string>);
  readonly signal?: AbortSignal;
  /**
   * Runs after the tree is complete and checked, before it is published under the digest; a throw
   * discards it. Lets a caller that unpacks while downloading publish only once the blob is verified.
   */
  readonly beforePublish?: () => Promise<void>;
}

export interface LayerUnpacker {
  /** The applied layer, if it was unpacked before (survives restarts). */
  get(digest: string): Promise<AppliedLayer | undefined>;
  /**
   * Applies the layer once: concurrent calls for one digest share one unpack, a finished one is reused.
   * `open` is only called when the layer is not there yet.
   */
  unpack(digest: string, open: () => Promise<Readable>, options?: UnpackOptions): Promise<AppliedLayer>;
  /** Removes an applied layer (the caller makes sure no snapshot still uses it). */
  remove(digest: string): Promise<void>;
}
