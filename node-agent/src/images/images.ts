// The image service's interface: pull a reference into local layers that snapshots can stack.
//
// `pull` resolves the reference (one platform's manifest), keeps manifest and config in the content
// store, downloads only the layers that are not unpacked yet (bounded in parallel, resumable, digest
// checked) and unpacks each once per digest. Its result lists the layers bottom first, each with the
// directory a snapshotter uses as a lowerdir; two Containers of one image share those directories.
import type { DockerConfigJson, ImageConfig, Platform } from '../distribution/distribution.js';

export type PullProgress =
  | { readonly kind: 'resolved'; readonly digest: string; readonly layers: number }
  | {
      readonly kind: 'layer';
      readonly digest: string;
      readonly phase: 'cached' | 'downloading' | 'downloaded' | 'unpacked';
      readonly bytes?: number;
    };

export interface PullOptions {
  /** Parsed dockerconfigjson of the Container's image pull secret. */
  readonly credentials?: DockerConfigJson;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: PullProgress) => void;
  /** @default linux/amd64 */
  readonly platform?: Platform;
}

export interface PulledLayer {
  /** Blob (compressed) digest from the manifest. */
  readonly digest: string;
  /** Uncompressed digest, as in the config's rootfs.diff_ids. */
  readonly diffID: string;
  /** Blob size from the manifest. */
  readonly size: number;
  /** The unpacked layer, a lowerdir for snapshots. */
  readonly dir: string;
}

export interface PulledImage {
  /** The reference as normalized (`host/repo:tag` or `…@digest`). */
  readonly reference: string;
  /** Digest of the platform manifest. */
  readonly digest: string;
  readonly config: ImageConfig;
  /** Bottom layer first. */
  readonly layers: readonly PulledLayer[];
  /** Blob bytes fetched by this pull (0 when every layer was cached). */
  readonly downloadedBytes: number;
}

export interface ImageService {
  /** Throws RegistryError / ContentError / UnpackError subclasses with user-facing messages. */
  pull(reference: string, options?: PullOptions): Promise<PulledImage>;
  /**
   * The image without a registry when this node has it by a local name (built, committed or tagged here) or by
   * digest; undefined otherwise.
   */
  local?(reference: string): Promise<PulledImage | undefined>;
  close(): Promise<void>;
}
