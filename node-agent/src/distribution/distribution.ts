// The registry interface: what the image service needs from a remote, and where its parts live.
//
// `resolve` turns a reference into one platform's manifest (following an index, checking every digest),
// `fetchConfig` reads the image config, `fetchBlob` streams a layer from an offset. RegistryClient
// (client.ts) implements it over the OCI distribution API v2.
import type { Readable } from 'node:stream';
import type { FetchedManifest, RequestOptions, ResolvedImage, ResolveOptions } from './client.js';
import type { Descriptor, ImageConfig, ImageManifest } from './manifest.js';
import type { Reference } from './reference.js';

export interface Remote {
  resolve(ref: Reference, options?: ResolveOptions): Promise<ResolvedImage>;
  fetchManifest(ref: Reference, tagOrDigest: string, options?: RequestOptions): Promise<FetchedManifest>;
  fetchConfig(ref: Reference, manifest: ImageManifest, options?: RequestOptions): Promise<ImageConfig>;
  readBlob(ref: Reference, descriptor: Descriptor, options?: RequestOptions): Promise<Buffer>;
  fetchBlob(
    ref: Reference,
    descriptor: Descriptor,
    options?: RequestOptions & { readonly offset?: number },
  ): Promise<{ body: Readable; offset: number }>;
  close(): Promise<void>;
}

export type { DockerConfigJson, Credentials } from './auth.js';
export { credentialsFor } from './auth.js';
export {
  RegistryClient,
  type RegistryClientOptions,
  type RequestOptions,
  type ResolveOptions,
  type ResolvedImage,
  type FetchedManifest,
} from './client.js';
export * from './errors.js';
export {
  mediaTypes,
  parseManifest,
  parseConfig,
  selectPlatform,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type ImageIndex,
  type Platform,
} from './manifest.js';
export { parseReference, formatReference, isLoopback, type Reference } from './reference.js';
