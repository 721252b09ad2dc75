// The push side of the OCI distribution API: blobs the registry lacks (HEAD first, so existing ones are skipped)
// mounted from another repository of the registry that has them when it allows (cross-repository blob mount), else
// uploaded in one PUT each, then the manifest under its tag. An image index (multi-platform) pushes each of its
// manifests this node holds by digest (one the repository has already is skipped), then the index under the tag.
// Basic and bearer auth (scope pull,push) as pulls do.
import { request, type Dispatcher } from 'undici';
import type { Provider } from '../content/content.js';
import { basicAuthorization, credentialsFor, parseChallenge, type Credentials, type DockerConfigJson } from './auth.js';
import { RegistryProtocolError, RegistryUnreachable, Unauthorized } from './errors.js';
import { type ImageManifest, parseManifest } from './manifest.js';
import { formatReference, isLoopback, type Reference } from './reference.js';

export interface PushOptions {
  readonly credentials?: DockerConfigJson;
  readonly signal?: AbortSignal;
  /** @default loopback registries over plain HTTP, others HTTPS */
  readonly plainHttp?: (registry: string) => boolean;
  readonly onProgress?: (event: { readonly digest: string; readonly phase: 'exists' | 'pushing' | 'pushed' }) => void;
  /** Repositories of the target registry that may hold a blob already, to mount it from. */
  readonly mountFrom?: (digest: string) => Promise<readonly string[]>;
}

export interface PushResult {
  readonly digest: string;
  /** Blobs the registry had already (skipped). */
  readonly skipped: number;
  /** Blobs the registry mounted from another of its repositories. */
  readonly mounted: number;
  readonly uploaded: number;
}

/**
 * Pushes the image whose manifest (or index) is `digest` in `content` to `ref` (its tag, or its digest when it has
 * none).
 */
export async function pushImage(
  content: Provider,
  digest: string,
  ref: Reference,
  options: PushOptions = {},
): Promise<PushResult> {
  const bytes = await content.readBlob(digest);
  const parsed = parseManifest(bytes, undefined);
  const session = new PushSession(ref, options);
  const counts = { skipped: 0, mounted: 0, uploaded: 0 };
  if (parsed.kind === 'manifest') {
    await pushManifest(session, content, ref, bytes, parsed.manifest, ref.tag ?? digest, options, counts);
    return { digest, ...counts };
  }
  for (const child of parsed.index.manifests) {
    if ((await content.info(child.digest)) === undefined) {
      // Not pulled here (another platform's): the repository may have it already, as after an earlier push.
      const head = await session.send('HEAD', `/v2/${ref.repository}/manifests/${child.digest}`, {
        headers: { accept: child.mediaType },
      });
      await head.body.dump();
      if (head.statusCode === 200) continue;
      const platform = child.platform === undefined ? '' : ` (${child.platform.os}/${child.platform.architecture})`;
      throw new RegistryProtocolError(
        `the index ${digest} lists ${child.digest}${platform}, which this node does not hold and ${ref.registry}/${ref.repository} does not have: pull that platform first`,
      );
    }
    const childBytes = await content.readBlob(child.digest);
    const childParsed = parseManifest(childBytes, child.mediaType);
    if (childParsed.kind !== 'manifest')
      throw new RegistryProtocolError(
        `the index ${digest} lists another index (${child.digest}); berth pushes one level`,
      );
    await pushManifest(session, content, ref, childBytes, childParsed.manifest, child.digest, options, counts);
  }
  await putManifest(session, ref, ref.tag ?? digest, parsed.index.mediaType, bytes);
  return { digest, ...counts };
}

/** One manifest: its config and layers (skipped, mounted or uploaded), then itself under `reference`. */
async function pushManifest(
  session: PushSession,
  content: Provider,
  ref: Reference,
  manifestBytes: Buffer,
  manifest: ImageManifest,
  reference: string,
  options: PushOptions,
  counts: { skipped: number; mounted: number; uploaded: number },
): Promise<void> {
  for (const blob of [manifest.config, ...manifest.layers]) {
    const head = await session.send('HEAD', `/v2/${ref.repository}/blobs/${blob.digest}`);
    await head.body.dump();
    if (head.statusCode === 200) {
      counts.skipped++;
      options.onProgress?.({ digest: blob.digest, phase: 'exists' });
      continue;
    }
    const mount = await tryMount(session, ref, blob.digest, (await options.mountFrom?.(blob.digest)) ?? []);
    if (mount === 'mounted') {
      // In the repository now, as after an upload: docker push's words have no other state for it here.
      counts.mounted++;
      options.onProgress?.({ digest: blob.digest, phase: 'pushing' });
      options.onProgress?.({ digest: blob.digest, phase: 'pushed' });
      continue;
    }
    options.onProgress?.({ digest: blob.digest, phase: 'pushing' });
    let location = mount;
    if (location === undefined) {
      const start = await session.send('POST', `/v2/${ref.repository}/blobs/uploads/`);
      await start.body.dump();
      location = start.statusCode === 202 ? headerValue(start.headers.location) : undefined;
      if (location === undefined)
        throw new RegistryProtocolError(
          `registry ${ref.registry} answered HTTP ${start.statusCode} to starting an upload to ${ref.repository}`,
        );
    }
    const url = new URL(location, session.base);
    url.searchParams.set('digest', blob.digest);
    const put = await session.send('PUT', `${url.pathname}${url.search}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body: await content.reader(blob.digest),
    });
    const text = await put.body.text();
    if (put.statusCode !== 201)
      throw new RegistryProtocolError(
        `registry ${ref.registry} refused blob ${blob.digest} (HTTP ${put.statusCode}): ${text.slice(0, 200)}`,
      );
    counts.uploaded++;
    options.onProgress?.({ digest: blob.digest, phase: 'pushed' });
  }
  await putManifest(session, ref, reference, manifest.mediaType, manifestBytes);
}

async function putManifest(
  session: PushSession,
  ref: Reference,
  reference: string,
  mediaType: string,
  bytes: Buffer,
): Promise<void> {
  const res = await session.send('PUT', `/v2/${ref.repository}/manifests/${reference}`, {
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  const text = await res.body.text();
  if (res.statusCode !== 201)
    throw new RegistryProtocolError(
      `registry ${ref.registry} refused the manifest ${reference} of ${formatReference(ref)} (HTTP ${res.statusCode}): ${text.slice(0, 200)}`,
    );
}

/**
 * Asks the registry to mount `digest` from each candidate repository in turn: 'mounted' (201), or the upload
 * session it opened instead (202, as a registry that cannot mount answers), or undefined to start one as usual.
 * A refusal (an unknown or unreadable source repository) is no failure: the blob is uploaded.
 */
async function tryMount(
  session: PushSession,
  ref: Reference,
  digest: string,
  candidates: readonly string[],
): Promise<'mounted' | string | undefined> {
  for (const from of candidates) {
    if (from === ref.repository) continue;
    const query = new URLSearchParams({ mount: digest, from });
    let res: Dispatcher.ResponseData;
    try {
      res = await session.send('POST', `/v2/${ref.repository}/blobs/uploads/?${query}`);
    } catch (err) {
      if (RegistryUnreachable.isInstance(err)) throw err;
      continue;
    }
    await res.body.dump();
    if (res.statusCode === 201) return 'mounted';
    const location = headerValue(res.headers.location);
    if (res.statusCode === 202 && location !== undefined) return location;
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** One push's connection details and the Authorization that worked. */
class PushSession {
  readonly base: string;
  readonly #ref: Reference;
  readonly #credentials: Credentials | undefined;
  readonly #signal: AbortSignal | undefined;
  #authorization: string | undefined;

  constructor(ref: Reference, options: PushOptions) {
    this.#ref = ref;
    const plain = (options.plainHttp ?? isLoopback)(ref.registry);
    this.base = `${plain ? 'http' : 'https'}://${ref.registry === 'docker.io' ? 'registry-1.docker.io' : ref.registry}`;
    this.#credentials = credentialsFor(options.credentials, ref.registry);
    this.#signal = options.signal;
  }

  async send(
    method: 'HEAD' | 'POST' | 'PUT',
    path: string,
    extra: { headers?: Record<string, string>; body?: Buffer | NodeJS.ReadableStream } = {},
  ): Promise<Dispatcher.ResponseData> {
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(`${this.base}${path}`, {
          method,
          headers: {
            ...(extra.headers ?? {}),
            ...(this.#authorization !== undefined ? { authorization: this.#authorization } : {}),
          },
          ...(extra.body !== undefined ? { body: extra.body as Buffer } : {}),
          ...(this.#signal !== undefined ? { signal: this.#signal } : {}),
        });
      } catch (err) {
        throw new RegistryUnreachable(`cannot reach registry ${this.#ref.registry}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (res.statusCode !== 401) return res;
      await res.body.dump();
      // A streamed body cannot be sent twice; every stream is sent after the first request of the session authorized.
      if (attempt > 0 || (extra.body !== undefined && !Buffer.isBuffer(extra.body)))
        throw new Unauthorized(
          this.#credentials === undefined
            ? `registry ${this.#ref.registry} requires credentials to push ${this.#ref.repository}; give a dockerconfigjson Secret`
            : `registry ${this.#ref.registry} rejected the credentials of user ${this.#credentials.username} for pushing ${this.#ref.repository}`,
        );
      this.#authorization = await this.#authorize(headerValue(res.headers['www-authenticate']));
    }
  }

  async #authorize(header: string | undefined): Promise<string> {
    const challenge = header === undefined ? undefined : parseChallenge(header);
    const credentials = this.#credentials;
    if (credentials === undefined)
      throw new Unauthorized(
        `registry ${this.#ref.registry} requires credentials to push ${this.#ref.repository}; give a dockerconfigjson Secret`,
      );
    if (challenge?.scheme === 'basic') return basicAuthorization(credentials);
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined)
      throw new Unauthorized(
        `registry ${this.#ref.registry} asked for an authentication scheme berth does not support`,
      );
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', `repository:${this.#ref.repository}:pull,push`);
    const res = await request(realm.href, {
      headers: { authorization: basicAuthorization(credentials) },
      ...(this.#signal !== undefined ? { signal: this.#signal } : {}),
    });
    const body = (await res.body.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (res.statusCode !== 200 || token === undefined)
      throw new Unauthorized(`token server of ${this.#ref.registry} refused a push token (HTTP ${res.statusCode})`);
    return `Bearer ${token}`;
  }
}
