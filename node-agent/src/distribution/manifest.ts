// OCI and Docker schema-2 manifests, indexes and configs: media types, validation, platform choice.
import { isDigest } from '../content/digest.js';
import { NoMatchingPlatform, RegistryProtocolError, UnsupportedMediaType } from './errors.js';

export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** What a manifest request accepts, in order of preference. */
export const manifestAccept = [
  mediaTypes.ociIndex,
  mediaTypes.dockerList,
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
].join(', ');

const layerMediaTypes = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
}

export interface ImageManifest {
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageIndex {
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

/** The parts of an image config the agent uses (OCI image-spec `config`). */
export interface ImageConfig {
  /** When the image was made (RFC 3339), as the OCI config records it. */
  readonly created?: string;
  readonly architecture?: string;
  readonly os?: string;
  readonly config?: {
    readonly User?: string;
    readonly Env?: readonly string[];
    readonly Entrypoint?: readonly string[] | null;
    readonly Cmd?: readonly string[] | null;
    readonly WorkingDir?: string;
    readonly ExposedPorts?: Readonly<Record<string, unknown>>;
    readonly Labels?: Readonly<Record<string, string>> | null;
    readonly StopSignal?: string;
  };
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly string[] };
}

export type ParsedManifest =
  | { readonly kind: 'index'; readonly index: ImageIndex }
  | { readonly kind: 'manifest'; readonly manifest: ImageManifest };

const invalid = (what: string) => new RegistryProtocolError(`registry returned an invalid ${what}`);

function parseDescriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw invalid(what);
  const d = value as Record<string, unknown>;
  if (
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    !isDigest(d.digest) ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw invalid(`${what} (descriptor needs mediaType, a sha256 digest and a size)`);
  }
  const p = d.platform as Record<string, unknown> | undefined;
  const platform =
    typeof p === 'object' && p !== null && typeof p.os === 'string' && typeof p.architecture === 'string'
      ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) }
      : undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(platform ? { platform } : {}) };
}

/** Parses a manifest body; `contentType` is the response's Content-Type (the body's mediaType wins when set). */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('manifest (not JSON)');
  }
  if (typeof json !== 'object' || json === null) throw invalid('manifest');
  const m = json as Record<string, unknown>;
  const mediaType = typeof m.mediaType === 'string' ? m.mediaType : (contentType?.split(';')[0]?.trim() ?? '');
  if (m.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new UnsupportedMediaType(
      'image uses Docker schema 1 manifests, which berth does not support; push it again with a current client',
    );
  }
  if (
    mediaType === mediaTypes.ociIndex ||
    mediaType === mediaTypes.dockerList ||
    (mediaType === '' && Array.isArray(m.manifests))
  ) {
    if (!Array.isArray(m.manifests)) throw invalid('index');
    return {
      kind: 'index',
      index: {
        mediaType: mediaType || mediaTypes.ociIndex,
        manifests: m.manifests.map((d) => parseDescriptor(d, 'index entry')),
      },
    };
  }
  if (
    mediaType === mediaTypes.ociManifest ||
    mediaType === mediaTypes.dockerManifest ||
    (mediaType === '' && m.config !== undefined)
  ) {
    if (!Array.isArray(m.layers)) throw invalid('manifest (no layers)');
    const config = parseDescriptor(m.config, 'manifest config');
    if (config.mediaType !== mediaTypes.ociConfig && config.mediaType !== mediaTypes.dockerConfig) {
      throw new UnsupportedMediaType(`manifest config has media type ${config.mediaType}: not a container image`);
    }
    const layers = m.layers.map((d) => parseDescriptor(d, 'manifest layer'));
    for (const layer of layers) {
      if (!layerMediaTypes.has(layer.mediaType))
        throw new UnsupportedMediaType(`layer ${layer.digest} has unsupported media type ${layer.mediaType}`);
    }
    return { kind: 'manifest', manifest: { mediaType: mediaType || mediaTypes.ociManifest, config, layers } };
  }
  throw new UnsupportedMediaType(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
}

export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };

/** The index entry for `platform` (first match, as docker does; attestation entries have no platform). */
export function selectPlatform(index: ImageIndex, platform: Platform = defaultPlatform): Descriptor {
  const match = index.manifests.find(
    (d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture,
  );
  if (match === undefined) {
    const offered =
      index.manifests.flatMap((d) => (d.platform ? [`${d.platform.os}/${d.platform.architecture}`] : [])).join(', ') ||
      'none';
    throw new NoMatchingPlatform(`image has no ${platform.os}/${platform.architecture} variant (offers: ${offered})`);
  }
  return match;
}

export function parseConfig(body: Buffer): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('image config (not JSON)');
  }
  const c = json as Record<string, unknown> | null;
  const rootfs = c?.rootfs as Record<string, unknown> | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof rootfs !== 'object' ||
    rootfs === null ||
    !Array.isArray(rootfs.diff_ids) ||
    !rootfs.diff_ids.every((d) => typeof d === 'string' && isDigest(d))
  ) {
    throw invalid('image config (rootfs.diff_ids missing)');
  }
  return c as unknown as ImageConfig;
}
