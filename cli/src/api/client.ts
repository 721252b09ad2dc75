// A small JSON client of berth's REST API for the Docker-style commands: get, list, create, merge-patch and delete
// of berth's kinds, with failures as one-line CliErrors (the Status' message, or "cannot reach berth").

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ObjectMeta } from '@berth/api';
import { cliName, type ApiConnection } from '../api-connection.js';
import { ApiStatusError, UnreachableError } from '../errors.js';

export type BerthPlural = 'containers' | 'volumes' | 'networks' | 'images' | 'gitrepositories' | 'syncs' | 'services';

/** The core v1 kinds the CLI writes: Compose configs and secrets, `berth login`'s Secret. */
export type CorePlural = 'configmaps' | 'secrets';

/** `/api/v1/namespaces/NS/PLURAL[/NAME]`. */
export function corePath(plural: CorePlural, namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

interface StatusBody {
  kind?: unknown;
  message?: unknown;
  reason?: unknown;
}

/** `/apis/berth.dev/v1alpha1/namespaces/NS/PLURAL[/NAME]`. */
export function berthPath(plural: BerthPlural, namespace: string, name?: string): string {
  const base = `/apis/berth.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** The API error for a failed answer: the Status' own message, as kubectl prints it. */
export function statusError(code: number, body: string): ApiStatusError {
  try {
    const s = JSON.parse(body) as StatusBody;
    if (typeof s.message === 'string' && s.message !== '')
      return new ApiStatusError(code, typeof s.reason === 'string' ? s.reason : undefined, s.message);
  } catch {
    // not a Status: the text itself
  }
  const text = body.trim().split('\n')[0] ?? '';
  return new ApiStatusError(code, undefined, `the server answered ${code}${text === '' ? '' : `: ${text}`}`);
}

export class ApiClient {
  readonly connection: ApiConnection;

  constructor(connection: ApiConnection) {
    this.connection = connection;
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  /** One request; resolves with the parsed JSON body of a 2xx answer. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<T> {
    const text = await this.requestText(method, path, body, contentType, accept);
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /** One request; resolves with the body of a 2xx answer as text (/readyz?verbose, say). */
  async requestText(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<string> {
    const url = new URL(path, this.connection.server);
    if (method !== 'GET' && method !== 'DELETE' && !url.searchParams.has('fieldManager'))
      url.searchParams.set('fieldManager', cliName);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        url,
        {
          ...this.connection.options,
          method,
          headers: {
            ...this.connection.options.headers,
            Accept: accept,
            ...(payload === undefined ? {} : { 'Content-Type': contentType }),
          },
        },
        resolve,
      );
      req.on('error', (e) => reject(new UnreachableError(this.connection.server.origin, e)));
      req.end(payload);
    });
    const text = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw statusError(code, text);
    return text;
  }

  get<T extends ApiObject>(plural: BerthPlural, name: string): Promise<T> {
    return this.request<T>('GET', berthPath(plural, this.namespace, name));
  }

  /** The object, or undefined when it does not exist. */
  async find<T extends ApiObject>(plural: BerthPlural, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(plural, name);
    } catch (e) {
      if (ApiStatusError.isInstance(e) && e.status === 404) return undefined;
      throw e;
    }
  }

  async list<T extends ApiObject>(plural: BerthPlural, labelSelector?: string): Promise<T[]> {
    const query = labelSelector === undefined ? '' : `?labelSelector=${encodeURIComponent(labelSelector)}`;
    return (await this.request<{ items?: T[] }>('GET', `${berthPath(plural, this.namespace)}${query}`)).items ?? [];
  }

  create<T extends ApiObject>(plural: BerthPlural, object: T): Promise<T> {
    return this.request<T>('POST', berthPath(plural, this.namespace), object);
  }

  patch<T extends ApiObject>(plural: BerthPlural, name: string, mergePatch: unknown): Promise<T> {
    return this.request<T>(
      'PATCH',
      berthPath(plural, this.namespace, name),
      mergePatch,
      'application/merge-patch+json',
    );
  }

  /** Server-side apply as `fieldManager`, taking over fields others set (kubectl apply --server-side --force-conflicts). */
  apply<T extends ApiObject>(plural: BerthPlural, object: T, fieldManager: string): Promise<T> {
    const path = `${berthPath(plural, this.namespace, object.metadata.name)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    // JSON is YAML: the apply content type takes it as is.
    return this.request<T>('PATCH', path, object, 'application/apply-patch+yaml');
  }

  /** Server-side apply of a core v1 object (a ConfigMap or Secret), as `apply` does for berth's kinds. */
  applyCore<T extends ApiObject>(plural: CorePlural, object: T, fieldManager: string): Promise<T> {
    const path = `${corePath(plural, this.namespace, object.metadata.name)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    return this.request<T>('PATCH', path, object, 'application/apply-patch+yaml');
  }

  async listCore<T extends ApiObject>(plural: CorePlural, labelSelector: string): Promise<T[]> {
    const path = `${corePath(plural, this.namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`;
    return (await this.request<{ items?: T[] }>('GET', path)).items ?? [];
  }

  async deleteCore(plural: CorePlural, name: string): Promise<void> {
    await this.request('DELETE', corePath(plural, this.namespace, name));
  }

  /** Deletes; `graceSeconds` as kubectl's --grace-period (0 with a forced delete). */
  async delete(plural: BerthPlural, name: string, graceSeconds?: number): Promise<void> {
    const query = graceSeconds === undefined ? '' : `?gracePeriodSeconds=${graceSeconds}`;
    await this.request('DELETE', `${berthPath(plural, this.namespace, name)}${query}`);
  }

  /** The server's /version. */
  version(): Promise<Record<string, string>> {
    return this.request<Record<string, string>>('GET', '/version');
  }
}
