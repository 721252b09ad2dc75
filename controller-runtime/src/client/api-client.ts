// A small JSON client for the Kubernetes API: one keep-alive connection pool, the kubeconfig's credentials,
// a caller-chosen user agent and field manager, discovery of kinds, and watches as async iterables.
//
// It speaks HTTP itself (with kubeconfig.ts for credentials and TLS) because an informer needs what client-node's
// generated clients hide: the list's resourceVersion, a watch it can abort with a signal, the
// Status of a failed call, and one connection pool instead of a TLS handshake per request.
import http from 'node:http';
import https from 'node:https';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiCallError, InvalidOptionError } from '../errors.js';
import { type Kubeconfig, loadKubeConfig } from './kubeconfig.js';
import { groupVersionPath, resourcePath, splitApiVersion, type KindRef, type Resource } from './resource.js';

export interface ApiClientOptions {
  /** A Kubeconfig (client-node's KubeConfig is one), or the path of a kubeconfig file. */
  readonly kubeconfig: Kubeconfig | string;
  /** Sent as User-Agent, so the API server's logs and managedFields say who called. @default 'berth-controller-runtime' */
  readonly userAgent?: string;
  /** The field manager of every create, update and patch. @default the user agent */
  readonly fieldManager?: string;
  /** Connections kept to the server at most; more requests wait for one. @default no limit */
  readonly maxSockets?: number;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ObjectList<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  readonly type: WatchEventType;
  /** The object; for ERROR a Kubernetes Status. */
  readonly object: KubernetesObject & Record<string, unknown>;
}

export interface WatchOptions extends ListOptions {
  readonly resourceVersion: string;
  readonly allowWatchBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

export type PatchType = 'merge' | 'json' | 'apply';

const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export class ApiClient {
  readonly kubeconfig: Kubeconfig;
  readonly userAgent: string;
  readonly fieldManager: string;
  readonly #server: URL;
  readonly #discovery = new Map<string, Promise<Resource[]>>();
  readonly #maxSockets: number;
  #agent: http.Agent | undefined;

  constructor(options: ApiClientOptions) {
    this.userAgent = options.userAgent ?? 'berth-controller-runtime';
    this.fieldManager = options.fieldManager ?? this.userAgent;
    if (this.userAgent === '') throw new InvalidOptionError('userAgent must not be empty');
    if (this.fieldManager === '' || this.fieldManager.length > 128)
      throw new InvalidOptionError('fieldManager must be 1 to 128 characters');
    this.#maxSockets = options.maxSockets ?? Number.POSITIVE_INFINITY;
    if (!(this.#maxSockets >= 1)) throw new InvalidOptionError('maxSockets must be at least 1');
    this.kubeconfig = loadKubeConfig(options.kubeconfig);
    const cluster = this.kubeconfig.getCurrentCluster();
    if (cluster === null) throw new InvalidOptionError('the kubeconfig has no current cluster');
    this.#server = new URL(cluster.server);
  }

  /** Resolves a kind to its REST coordinates, asking discovery once per group/version. */
  async resolve(ref: KindRef): Promise<Resource> {
    if ('plural' in ref)
      return {
        group: ref.group,
        version: ref.version,
        plural: ref.plural,
        namespaced: ref.namespaced,
        kind: ref.kind ?? '',
      };
    const { group, version } = splitApiVersion(ref.apiVersion);
    const key = `${group}/${version}`;
    let resources = this.#discovery.get(key);
    if (resources === undefined) {
      resources = this.#discover(group, version);
      this.#discovery.set(key, resources);
      resources.catch(() => this.#discovery.delete(key));
    }
    const found = (await resources).find((r) => r.kind === ref.kind);
    if (found === undefined) throw new ApiCallError(404, `the server has no kind ${ref.kind} in ${ref.apiVersion}`);
    return found;
  }

  async #discover(group: string, version: string): Promise<Resource[]> {
    const list = (await this.request('GET', groupVersionPath(group, version))) as {
      resources?: { name: string; kind: string; namespaced: boolean }[];
    };
    return (list.resources ?? [])
      .filter((r) => !r.name.includes('/'))
      .map((r) => ({ group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced }));
  }

  async get<T extends KubernetesObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T> {
    return (await this.request('GET', resourcePath(r, namespace, name), { signal })) as T;
  }

  async list<T extends KubernetesObject>(
    r: Resource,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): Promise<ObjectList<T>> {
    const query = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    const list = (await this.request('GET', resourcePath(r, options.namespace), { query, signal })) as {
      items?: T[];
      metadata?: { resourceVersion?: string };
    };
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async create<T extends KubernetesObject>(r: Resource, obj: T, signal?: AbortSignal): Promise<T> {
    const path = resourcePath(r, obj.metadata?.namespace);
    return (await this.request('POST', path, { body: obj, query: { fieldManager: this.fieldManager }, signal })) as T;
  }

  /** PUT: optimistic concurrency on metadata.resourceVersion (a stale one is a 409 Conflict). */
  async update<T extends KubernetesObject>(
    r: Resource,
    obj: T,
    options: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const path = resourcePath(r, obj.metadata?.namespace, obj.metadata?.name ?? '', options.subresource);
    return (await this.request('PUT', path, {
      body: obj,
      query: { fieldManager: this.fieldManager },
      signal: options.signal,
    })) as T;
  }

  async patch<T extends KubernetesObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    options: { type?: PatchType; subresource?: string; force?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    const type = options.type ?? 'merge';
    const query = {
      fieldManager: this.fieldManager,
      force: type === 'apply' && options.force === true ? 'true' : undefined,
    };
    const path = resourcePath(r, namespace, name, options.subresource);
    return (await this.request('PATCH', path, {
      body: patch,
      contentType: patchContentType[type],
      query,
      signal: options.signal,
    })) as T;
  }

  async delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    options: { preconditionUid?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    const body =
      options.preconditionUid !== undefined
        ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: options.preconditionUid } }
        : undefined;
    await this.request('DELETE', resourcePath(r, namespace, name), { body, signal: options.signal });
  }

  /**
   * Watches from `resourceVersion`. The iterable ends when the server closes the watch; a 410 arrives as an ERROR
   * event or as an ApiCallError(410). Aborting `signal` ends it too.
   */
  async *watch(r: Resource, options: WatchOptions, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    const query = {
      watch: 'true',
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: options.allowWatchBookmarks === false ? undefined : 'true',
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      timeoutSeconds: options.timeoutSeconds?.toString(),
    };
    const res = await this.#send('GET', resourcePath(r, options.namespace), { query, signal });
    if (res.statusCode !== 200) throw await failure(res);
    const onAbort = () => res.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Split by hand: readline never ends when its input is destroyed rather than ended.
      let buffered = '';
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== '') yield JSON.parse(line) as WatchEvent;
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      res.destroy();
    }
  }

  /** One JSON request; non-2xx answers throw ApiCallError carrying the server's Status. */
  async request(
    method: string,
    path: string,
    options: {
      body?: unknown;
      contentType?: string;
      query?: Record<string, string | undefined>;
      signal?: AbortSignal | undefined;
    } = {},
  ): Promise<unknown> {
    const res = await this.#send(method, path, options);
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) throw await failure(res);
    const text = await readAll(res);
    return text === '' ? undefined : JSON.parse(text);
  }

  async #send(
    method: string,
    path: string,
    options: {
      body?: unknown;
      contentType?: string;
      query?: Record<string, string | undefined>;
      signal?: AbortSignal | undefined;
    },
  ): Promise<http.IncomingMessage> {
    options.signal?.throwIfAborted();
    const url = new URL(this.#server.pathname.replace(/\/$/, '') + path, this.#server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const tls: https.RequestOptions = {};
    await this.kubeconfig.applyToHTTPSOptions(tls);
    const secure = url.protocol === 'https:';
    this.#agent ??= secure
      ? new https.Agent({
          keepAlive: true,
          maxSockets: this.#maxSockets,
          ...pick(tls, ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']),
        })
      : new http.Agent({ keepAlive: true, maxSockets: this.#maxSockets });
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    for (const [k, v] of Object.entries(tls.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    if (tls.auth !== undefined && tls.auth !== null)
      headers['Authorization'] = `Basic ${Buffer.from(tls.auth).toString('base64')}`;
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    if (body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      // Node sends a DELETE's body unframed (DELETE is not chunked by default): the server needs its length.
      headers['Content-Length'] = String(body.length);
    }
    const send = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        { method, headers, agent: this.#agent, ...(options.signal !== undefined ? { signal: options.signal } : {}) },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Drops pooled connections. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function failure(res: http.IncomingMessage): Promise<ApiCallError> {
  const code = res.statusCode ?? 0;
  const text = await readAll(res).catch(() => '');
  const after = retryAfter(res.headers['retry-after']);
  let status: Record<string, unknown> | undefined;
  try {
    status = JSON.parse(text) as Record<string, unknown>;
  } catch {
    status = undefined;
  }
  if (status !== undefined && typeof status === 'object' && status !== null) {
    const message = typeof status['message'] === 'string' ? status['message'] : text;
    return new ApiCallError(code, message, status, after);
  }
  return new ApiCallError(code, text !== '' ? text : (http.STATUS_CODES[code] ?? `HTTP ${code}`), undefined, after);
}

/** Retry-After in seconds: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
function retryAfter(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}
