// The build interface: a Dockerfile and its context in, an OCI image in the node's content store out, with progress.
//
// A build walks the stages the target needs. FROM pulls its base (or takes an earlier stage or a local image);
// RUN runs in a container over the stacked layers and keeps its overlay upper dir as the new layer; COPY and ADD
// write their files as a layer straight from the context; the other instructions change only the image config.
// Every layer-making step is looked up in the layer cache first, so an unchanged rebuild runs nothing.

import type { DockerConfigJson } from '../distribution/distribution.js';

export interface BuildOptions {
  /** The context directory (its `.dockerignore` is honoured). */
  readonly context: string;
  /** Dockerfile path inside the context. @default 'Dockerfile' */
  readonly dockerfile?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Stop at this stage. @default the last */
  readonly target?: string;
  /** Names to give the result on this node. */
  readonly tags?: readonly string[];
  /** Ignore the layer cache (it is still filled). @default false */
  readonly noCache?: boolean;
  /** Clamp file times and the image's `created` to this (SOURCE_DATE_EPOCH), for reproducible layers. */
  readonly sourceDateEpoch?: Date;
  /** @default 512 MiB */
  readonly maxContextBytes?: number;
  readonly onProgress?: (event: BuildProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Allow `RUN --network=host` (BuildKit's network.host entitlement): the step then shares the host's network,
   * loopback services included. Refused otherwise. @default false
   */
  readonly allowNetworkHost?: boolean;
  /** Registry credentials for pulling base images (FROM, COPY --from an image). */
  readonly credentials?: DockerConfigJson;
}

export type BuildProgress =
  | {
      readonly kind: 'step';
      /** 1-based, over the steps of every stage built. */
      readonly step: number;
      readonly total: number;
      readonly stage: number;
      readonly instruction: string;
      readonly status: 'cached' | 'running' | 'done' | 'failed';
      /** Once finished: true when its layer came from the cache, false when it ran; absent for config-only steps. */
      readonly cached?: boolean;
      readonly ms?: number;
    }
  | { readonly kind: 'output'; readonly step: number; readonly text: string };

export interface BuildStepResult {
  readonly step: number;
  readonly stage: number;
  readonly instruction: string;
  /** true: taken from the layer cache; false: ran; undefined: changed only the config. */
  readonly cached: boolean | undefined;
  readonly ms: number;
}

export interface BuildResult {
  /** Manifest digest. */
  readonly digest: string;
  /** Config digest (the image ID). */
  readonly imageID: string;
  /** Config and compressed layers, bytes. */
  readonly size: number;
  readonly layers: readonly { readonly digest: string; readonly size: number; readonly mediaType: string }[];
  readonly tags: readonly string[];
  readonly steps: readonly BuildStepResult[];
  readonly ms: number;
}

export interface CommitOptions {
  /** The container's image (a local name or digest on this node). */
  readonly image: string;
  /** The container's overlay upper dir: its changes. */
  readonly upper: string;
  /** The container's user namespace (hostUsers: false), whose node ids its files carry. @default none */
  readonly idRange?: { readonly hostId: number; readonly size: number };
  /** Dockerfile instructions for the config (`CMD ["sh"]`, `ENV A=1`, …). */
  readonly changes?: readonly string[];
  readonly message?: string;
  readonly tags?: readonly string[];
}
