// An OCI distribution v2 client (pull side) on undici: manifests, blobs, bearer and basic auth.
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { checkInteger } from '@berth/api';
import { Agent, request, type Dispatcher } from 'undici';
import { sha256Digest } from '../content/digest.js';
import {
  basicAuthorization,
  credentialsFor,
  parseChallenge,
  type Challenge,
  type Credentials,
  type DockerConfigJson,
} from './auth.js';
import { DigestMismatch, ImageNotFound, RegistryProtocolError, RegistryUnreachable, Unauthorized } from './errors.js';
import {
  manifestAccept,
  parseConfig,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from './manifest.js';
import { formatReference, isLoopback, type Reference } from './reference.js';
import type { Remote } from './distribution.js';

export interface RegistryClientOptions {
  /** Extra PEM CA certificates trusted for HTTPS registries, on top of Node's built-in roots. */
  readonly ca?: string | readonly string[];
  /** Connect and response-header timeout in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /**
   * Which registries are spoken to over plain HTTP; all others get HTTPS with certificate checks.
   * @default loopback registries (127.0.0.0/8, ::1, localhost)
   */
  readonly plainHttp?: (registry: string) => boolean;
}

export interface RequestOptions {
  /** Parsed dockerconfigjson; only the entry for the reference's registry is ever used. */
  readonly credentials?: DockerConfigJson;
  readonly signal?: AbortSignal;
}

export interface ResolveOptions extends RequestOptions {
  /** @default linux/amd64 */
  readonly platform?: Platform;
}

export interface ResolvedImage {
  readonly reference: Reference;
  /** Digest of the platform manifest (not of the index). */
  readonly digest: string;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Buffer;
  /** When the reference named an index / manifest list: its digest and bytes. */
  readonly index?: { readonly digest: string; readonly bytes: Buffer };
}

export interface FetchedManifest {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
}

/** Manifests and configs are small; anything bigger is refused rather than held in memory. */
const maxDocumentBytes = 4 * 1024 * 1024;

/** Holds one connection pool (with the configured CA) and the auth tokens obtained so far. */
export class RegistryClient implements Remote {
  readonly #dispatcher: Agent;
  readonly #plainHttp: (registry: string) => boolean;
  /** `${registry}|${repository}|${username}` → Authorization header value that worked last. */
  readonly #authorizations = new Map<string, string>();

  constructor(options: RegistryClientOptions = {}) {
    // undici reads a 0 timeout as "none": a typo must not turn into a pull that can hang forever.
    checkInteger('RegistryClient', 'timeoutMs', options.timeoutMs);
    const timeout = options.timeoutMs ?? 30_000;
    this.#plainHttp = options.plainHttp ?? isLoopback;
    const extra = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    this.#dispatcher = new Agent({
      connect: { timeout, ...(extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {}) },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connections: 16,
    });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /** Resolves a reference to one platform's manifest, following an index; every document digest-checked. */
  async resolve(ref: Reference, options: ResolveOptions = {}): Promise<ResolvedImage> {
    const first = await this.fetchManifest(ref, ref.digest ?? ref.tag ?? 'latest', options);
    const parsed = parseManifest(first.bytes, first.contentType);
    if (parsed.kind === 'manifest')
      return { reference: ref, digest: first.digest, manifest: parsed.manifest, manifestBytes: first.bytes };
    const chosen = selectPlatform(parsed.index, options.platform);
    const second = await this.fetchManifest(ref, chosen.digest, options);
    const inner = parseManifest(second.bytes, second.contentType);
    if (inner.kind !== 'manifest')
      throw new RegistryProtocolError(`index ${first.digest} points at another index for its platform entry`);
    return {
      reference: ref,
      digest: second.digest,
      manifest: inner.manifest,
      manifestBytes: second.bytes,
      index: { digest: first.digest, bytes: first.bytes },
    };
  }

  /** Fetches a manifest by tag or digest and checks its digest (against the digest asked for, or the one the registry states). */
  async fetchManifest(ref: Reference, tagOrDigest: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    const path = `/v2/${ref.repository}/manifests/${tagOrDigest}`;
    const res = await this.#send(ref, path, { accept: manifestAccept }, options);
    if (res.statusCode !== 200) throw await this.#statusError(ref, res, `manifest ${tagOrDigest}`, options);
    const bytes = await readBounded(res.body, maxDocumentBytes, `manifest of ${formatReference(ref)}`);
    const actual = sha256Digest(bytes);
    const stated = headerValue(res.headers['docker-content-digest']);
    const expected = tagOrDigest.startsWith('sha256:')
      ? tagOrDigest
      : stated?.startsWith('sha256:')
        ? stated
        : undefined;
    if (expected !== undefined && expected !== actual)
      throw new DigestMismatch(expected, actual, `manifest of ${formatReference(ref)}`);
    return { digest: actual, bytes, contentType: headerValue(res.headers['content-type']) };
  }

  /**
   * Opens a blob's bytes, from `offset` when the registry honours Range (the returned offset says where
   * the body really starts: 0 when it sent the whole blob). The caller verifies the digest (the content
   * store does so at commit).
   */
  async fetchBlob(
    ref: Reference,
    descriptor: Descriptor,
    options: RequestOptions & { readonly offset?: number } = {},
  ): Promise<{ body: Readable; offset: number }> {
    const offset = options.offset ?? 0;
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await this.#send(ref, `/v2/${ref.repository}/blobs/${descriptor.digest}`, headers, options, true);
    if (res.statusCode === 200) return { body: res.body, offset: 0 };
    if (res.statusCode === 206) {
      const range = /^bytes (\d+)-/.exec(headerValue(res.headers['content-range']) ?? '');
      if (range?.[1] !== undefined && Number(range[1]) === offset) return { body: res.body, offset };
      await res.body.dump();
      throw new RegistryProtocolError(
        `registry ${ref.registry} answered a Range request for ${descriptor.digest} with the wrong range`,
      );
    }
    if (res.statusCode === 416 && offset > 0) {
      await res.body.dump();
      return this.fetchBlob(ref, descriptor, { ...options, offset: 0 });
    }
    throw await this.#statusError(ref, res, `blob ${descriptor.digest}`, options);
  }

  /** A small blob (an image config) read whole and digest-checked. */
  async readBlob(ref: Reference, descriptor: Descriptor, options: RequestOptions = {}): Promise<Buffer> {
    if (descriptor.size > maxDocumentBytes)
      throw new RegistryProtocolError(
        `blob ${descriptor.digest} is too large (${descriptor.size} bytes) to be a config`,
      );
    const { body } = await this.fetchBlob(ref, descriptor, options);
    const bytes = await readBounded(body, descriptor.size, `blob ${descriptor.digest}`);
    const actual = sha256Digest(bytes);
    if (actual !== descriptor.digest || bytes.length !== descriptor.size)
      throw new DigestMismatch(descriptor.digest, actual, 'image config', descriptor.size, bytes.length);
    return bytes;
  }

  async fetchConfig(ref: Reference, manifest: ImageManifest, options: RequestOptions = {}): Promise<ImageConfig> {
    return parseConfig(await this.readBlob(ref, manifest.config, options));
  }

  async #send(
    ref: Reference,
    path: string,
    headers: Record<string, string>,
    options: RequestOptions,
    followRedirects = false,
  ): Promise<Dispatcher.ResponseData> {
    const credentials = credentialsFor(options.credentials, ref.registry);
    const key = `${ref.registry}|${ref.repository}|${credentials?.username ?? ''}`;
    const url = `${this.#baseUrl(ref.registry)}${path}`;
    for (let attempt = 0; ; attempt++) {
      const authorization = this.#authorizations.get(key);
      const res = await this.#request(ref, url, {
        method: 'GET',
        headers: { ...headers, ...(authorization !== undefined ? { authorization } : {}) },
        ...(options.signal ? { signal: options.signal } : {}),
        // Blob downloads may be redirected to storage; undici drops Authorization when the origin changes.
        ...(followRedirects ? { maxRedirections: 5 } : {}),
      });
      if (res.statusCode !== 401) {
        if (res.statusCode === 403) {
          await res.body.dump();
          throw new Unauthorized(
            `registry ${ref.registry} denied access to ${ref.repository}${credentials ? ` for user ${credentials.username}` : ''}`,
          );
        }
        return res;
      }
      const challengeHeader = headerValue(res.headers['www-authenticate']);
      await res.body.dump();
      if (attempt > 0) {
        throw new Unauthorized(
          credentials
            ? `registry ${ref.registry} rejected the credentials of user ${credentials.username} for ${ref.repository}`
            : `registry ${ref.registry} requires credentials to pull ${ref.repository}; give an image pull secret`,
        );
      }
      const challenge = challengeHeader === undefined ? undefined : parseChallenge(challengeHeader);
      this.#authorizations.set(key, await this.#authorize(ref, challenge, credentials, options.signal));
    }
  }

  async #authorize(
    ref: Reference,
    challenge: Challenge | undefined,
    credentials: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    if (challenge?.scheme === 'basic') {
      if (credentials === undefined)
        throw new Unauthorized(
          `registry ${ref.registry} requires credentials to pull ${ref.repository}; give an image pull secret`,
        );
      if (!isLoopback(ref.registry) && this.#plainHttp(ref.registry))
        throw new Unauthorized(`refusing to send credentials to ${ref.registry} over plain HTTP`);
      return basicAuthorization(credentials);
    }
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) {
      throw new Unauthorized(
        `registry ${ref.registry} asked for an authentication scheme berth does not support (${challenge?.scheme ?? 'none given'})`,
      );
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new Unauthorized(
        `registry ${ref.registry} gave an invalid token realm ${JSON.stringify(challenge.params.realm)}`,
      );
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.host))) {
      throw new Unauthorized(`registry ${ref.registry} gave a token realm that is not HTTPS (${realm.href}); refusing`);
    }
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${ref.repository}:pull`);
    const res = await this.#request(ref, realm.href, {
      method: 'GET',
      headers: credentials ? { authorization: basicAuthorization(credentials) } : {},
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Unauthorized(
        credentials
          ? `token server of ${ref.registry} rejected the credentials of user ${credentials.username} (HTTP ${res.statusCode})`
          : `token server of ${ref.registry} refused an anonymous token (HTTP ${res.statusCode}); give an image pull secret`,
      );
    }
    const body = JSON.parse((await readBounded(res.body, 1024 * 1024, 'token response')).toString('utf8')) as {
      token?: unknown;
      access_token?: unknown;
    };
    const token =
      typeof body.token === 'string'
        ? body.token
        : typeof body.access_token === 'string'
          ? body.access_token
          : undefined;
    if (token === undefined || token === '')
      throw new Unauthorized(`token server of ${ref.registry} returned no token`);
    return `Bearer ${token}`;
  }

  async #request(
    ref: Reference,
    url: string,
    options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { method: 'GET' },
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { ...options, dispatcher: this.#dispatcher });
    } catch (error) {
      if (options.signal instanceof AbortSignal && options.signal.aborted) throw options.signal.reason;
      throw unreachable(ref.registry, error);
    }
  }

  async #repositoryMissing(ref: Reference, options: RequestOptions): Promise<boolean> {
    try {
      const res = await this.#send(ref, `/v2/${ref.repository}/tags/list?n=1`, {}, options);
      const body = await res.body.text();
      return res.statusCode === 404 && body.includes('NAME_UNKNOWN');
    } catch {
      return false;
    }
  }

  #baseUrl(registry: string): string {
    // Docker Hub's API lives on its own host; every other registry is spoken to at the host it is named by.
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    return `${this.#plainHttp(registry) ? 'http' : 'https'}://${host}`;
  }

  async #statusError(
    ref: Reference,
    res: Dispatcher.ResponseData,
    what: string,
    options: RequestOptions,
  ): Promise<Error> {
    let codes: string[] = [];
    let detail = '';
    try {
      const body = JSON.parse((await readBounded(res.body, 64 * 1024, 'error body')).toString('utf8')) as {
        errors?: { code?: string; message?: string }[];
      };
      codes = (body.errors ?? []).map((e) => e.code ?? '');
      detail = (body.errors ?? []).map((e) => e.message ?? e.code ?? '').join('; ');
    } catch {
      // A non-JSON error body says nothing more than the status.
    }
    const name = formatReference(ref);
    if (res.statusCode === 404) {
      // distribution answers MANIFEST_UNKNOWN for a missing repository too; its tag list tells them apart.
      if (
        !codes.includes('NAME_UNKNOWN') &&
        what.startsWith('manifest') &&
        (await this.#repositoryMissing(ref, options))
      )
        codes.push('NAME_UNKNOWN');
      if (codes.includes('NAME_UNKNOWN'))
        return new ImageNotFound(
          `image ${name} not found: repository ${ref.repository} does not exist in registry ${ref.registry}`,
        );
      if (what.startsWith('blob'))
        return new ImageNotFound(`image ${name} is incomplete: registry ${ref.registry} has no ${what}`);
      return new ImageNotFound(
        `image ${name} not found: registry ${ref.registry} has no ${ref.digest !== undefined ? `manifest ${ref.digest}` : `tag ${ref.tag ?? 'latest'}`} in ${ref.repository}`,
      );
    }
    return new RegistryProtocolError(
      `registry ${ref.registry} answered HTTP ${res.statusCode} for ${what} of ${name}${detail ? `: ${detail}` : ''}`,
    );
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBounded(body: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new RegistryProtocolError(`${what} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function unreachable(registry: string, error: unknown): Error {
  const code = String((error as { code?: unknown }).code ?? '');
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const causeCode = String(cause?.code ?? '');
  if (tlsCodes.has(code) || tlsCodes.has(causeCode)) {
    return new RegistryUnreachable(
      `TLS certificate of registry ${registry} is not trusted (${code || causeCode}); configure the registry's CA`,
      { cause: error },
    );
  }
  const reason = causeCode || code || (error instanceof Error ? error.message : String(error));
  return new RegistryUnreachable(`cannot reach registry ${registry}: ${reason}`, { cause: error });
}
