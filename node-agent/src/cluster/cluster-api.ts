// The agent's typed calls to the cluster: Container writes, Secrets and ConfigMaps it reads, its Node and Lease.
// (The Container informer and Events go through @berth/controller-runtime's manager.)
//
// On controller-runtime's ApiClient (plain JSON over one keep-alive pool) rather than client-node's generated
// APIs: those load every generated model and API of client-node, about 70 MB of RSS in `berth up` for the dozen
// calls here (bench/README.md, "Issue 16 figures, session 8: memory"). Writes to berth's kinds state their patch
// type (merge or JSON patch; strategic merge does not apply to custom resources) and status goes through `/status`.
import { ApiClient, ApiCallError, type Kubeconfig, type Resource, resources } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Container, ContainerStatus, Image, ImageStatus, Network, Volume, VolumeStatus } from '@berth/api';
import type { NodeStatus } from '../node/node-info.js';
import { fieldManager } from './writer-identity.js';

export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** A v1 Node as the API sends it: JSON, times as RFC 3339 strings, berth's status fields kept. */
export interface NodeObject extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: NodeStatus;
}

/** A coordination.k8s.io/v1 Lease as JSON (renewTime in RFC 3339 with microseconds). */
export interface LeaseObject extends KubernetesObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

interface ConfigMap extends KubernetesObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface Secret extends KubernetesObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** HTTP status of a failed API call (an ApiCallError, or an error with a numeric `statusCode` or `code`). */
export function apiStatusCode(err: unknown): number | undefined {
  if (ApiCallError.isInstance(err)) return err.statusCode;
  const code =
    (err as { code?: unknown; statusCode?: unknown } | null)?.statusCode ?? (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatusCode(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatusCode(err) === 409;
/** A JSON patch `test` that failed (the object moved on): 422 from the server. */
export const isInvalid = (err: unknown): boolean => apiStatusCode(err) === 422;

/** The message of a Kubernetes Status body, when an API call failed with one. */
export function apiErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const { containers, networks, volumes, images, nodes, configMaps, secrets, leases } = resources;

/** The object, or undefined on 404. */
async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface ClusterApiOptions {
  /** Sent on every request, e.g. `berth-node-agent/0.1.0 (linux/amd64)` (see userAgent()); every write also carries fieldManager=berth-node-agent. */
  readonly userAgent: string;
}

export class ClusterApi {
  readonly client: ApiClient;

  constructor(kubeconfig: Kubeconfig | string, options: ClusterApiOptions) {
    // Its own pool of at most 16 connections, so a burst of status writes queues instead of opening a TLS
    // connection each.
    this.client = new ApiClient({ kubeconfig, userAgent: options.userAgent, fieldManager, maxSockets: 16 });
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.client.close();
  }

  /** Merge patch of the Container itself (metadata, spec). */
  patchContainer(namespace: string, name: string, body: object): Promise<Container> {
    return this.#patch(containers, namespace, name, body, 'merge');
  }

  /** JSON patch of the Container: `test` operations make it conditional without a resourceVersion. */
  jsonPatchContainer(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Container> {
    return this.#patch(containers, namespace, name, ops, 'json');
  }

  /** Merge patch of `status` through the /status subresource; a null field removes it; a resourceVersion pins it. */
  patchContainerStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof ContainerStatus, unknown>>,
    resourceVersion?: string,
  ): Promise<Container> {
    const metadata = resourceVersion === undefined ? {} : { metadata: { resourceVersion } };
    return this.#patch(containers, namespace, name, { ...metadata, status }, 'merge', 'status');
  }

  /** A berth Network, or undefined when it does not exist. */
  getNetwork(namespace: string, name: string): Promise<Network | undefined> {
    return orUndefined(this.#get<Network>(networks, namespace, name));
  }

  /** A Volume, or undefined when it does not exist. */
  getVolume(namespace: string, name: string): Promise<Volume | undefined> {
    return orUndefined(this.#get<Volume>(volumes, namespace, name));
  }

  /** JSON patch of a Volume (its finalizers), made conditional by `test` operations. */
  jsonPatchVolume(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Volume> {
    return this.#patch(volumes, namespace, name, ops, 'json');
  }

  /** JSON patch of a Volume's `status` through /status: `test` operations make a claim conditional. */
  jsonPatchVolumeStatus(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Volume> {
    return this.#patch(volumes, namespace, name, ops, 'json', 'status');
  }

  /** Merge patch of a Volume's `status` through /status; a null field removes it. */
  patchVolumeStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof VolumeStatus, unknown>>,
  ): Promise<Volume> {
    return this.#patch(volumes, namespace, name, { status }, 'merge', 'status');
  }

  /** Merge patch of an Image's `status` through /status; a null field removes it. */
  patchImageStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof ImageStatus, unknown>>,
    resourceVersion?: string,
  ): Promise<Image> {
    // With a resourceVersion the patch is conditional (409 when the Image changed): nodes merging their entries
    // into status.nodes must not overwrite each other's.
    const body = resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status };
    return this.#patch(images, namespace, name, body, 'merge', 'status');
  }

  /** One binaryData key of a ConfigMap as bytes (an uploaded build context), or undefined when either is missing. */
  async configMapBinary(namespace: string, name: string, key: string): Promise<Buffer | undefined> {
    const cm = await orUndefined(this.#get<ConfigMap>(configMaps, namespace, name));
    const value = cm?.binaryData?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64');
  }

  /** The v1 Node as JSON, or undefined when it does not exist. */
  getNode(name: string): Promise<NodeObject | undefined> {
    return orUndefined(this.#get<NodeObject>(nodes, undefined, name));
  }

  createNode(node: NodeObject): Promise<NodeObject> {
    return this.client.create(nodes, node);
  }

  /** Merge patch of a Node's annotations (null removes one). */
  patchNodeAnnotations(name: string, annotations: Record<string, string | null>): Promise<NodeObject> {
    return this.#patch(nodes, undefined, name, { metadata: { annotations } }, 'merge');
  }

  /** Merge patch of a Node's `status` through /status; the body is sent as given (berth's fields included). */
  patchNodeStatus(name: string, status: object): Promise<NodeObject> {
    return this.#patch(nodes, undefined, name, { status }, 'merge', 'status');
  }

  readLease(namespace: string, name: string): Promise<LeaseObject | undefined> {
    return orUndefined(this.#get<LeaseObject>(leases, namespace, name));
  }

  createLease(namespace: string, lease: LeaseObject): Promise<LeaseObject> {
    return this.client.create(leases, { ...lease, metadata: { ...lease.metadata, namespace } });
  }

  replaceLease(namespace: string, name: string, lease: LeaseObject): Promise<LeaseObject> {
    return this.client.update(leases, { ...lease, metadata: { ...lease.metadata, namespace, name } });
  }

  /** A ConfigMap's data, or undefined when it does not exist. */
  async configMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const cm = await orUndefined(this.#get<ConfigMap>(configMaps, namespace, name));
    return cm === undefined ? undefined : { ...(cm.data ?? {}) };
  }

  /** A Secret's data as bytes (for files: a key may hold binary), or undefined when it does not exist. */
  async secretBytes(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    const secret = await orUndefined(this.#get<Secret>(secrets, namespace, name));
    if (secret === undefined) return undefined;
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
    return data;
  }

  /** A Secret's decoded data (and its type), or undefined when it does not exist. */
  async secretData(
    namespace: string,
    name: string,
  ): Promise<{ type: string; data: Record<string, string> } | undefined> {
    const secret = await orUndefined(this.#get<Secret>(secrets, namespace, name));
    if (secret === undefined) return undefined;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = v;
    return { type: secret.type ?? 'Opaque', data };
  }

  async #get<T>(r: Resource, namespace: string | undefined, name: string): Promise<T> {
    return (await this.client.get(r, namespace, name)) as T;
  }

  async #patch<T>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    body: unknown,
    type: 'merge' | 'json',
    subresource?: 'status',
  ): Promise<T> {
    return (await this.client.patch(r, namespace, name, body, {
      type,
      ...(subresource === undefined ? {} : { subresource }),
    })) as T;
  }
}
