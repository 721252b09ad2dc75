// The agent's typed calls to the cluster with @kubernetes/client-node: Container writes, Secrets and ConfigMaps it
// reads, its Node and Lease. (The Container informer and Events go through @berth/controller-runtime's manager.)
//
// Writes to berth's kinds go through CustomObjectsApi with explicit patch content types: client-node's defaults
// (strategic merge, JSON patch) are wrong for custom resources, and status goes through `/status` only.
import { Agent as HttpsAgent } from 'node:https';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  type ApiConstructor,
  type ApiType,
  type RequestContext,
  type SecurityAuthentication,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import type { Container, ContainerStatus, Image, ImageStatus, Network, Volume, VolumeStatus } from '@berth/api';
import { writerIdentity } from './writer-identity.js';

export const group = 'berth.dev';
export const version = 'v1alpha1';

export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** HTTP status of a failed API call, or undefined for errors that never got an answer. */
export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
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
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch {
        return body;
      }
    }
    if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string')
      return (body as { message: string }).message;
  }
  return err instanceof Error ? err.message : String(err);
}

const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = () => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * client-node 1.4 gives every request a new https.Agent, so every call pays a TLS handshake on both ends (and in
 * `berth up` both ends share one process). This authentication keeps kc's headers and TLS options but hands every
 * request one keep-alive agent, built from the options of the first.
 */
class KeepAliveAuthentication implements SecurityAuthentication {
  readonly #kc: KubeConfig;
  #agent: HttpsAgent | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  getName(): string {
    return 'berth-keep-alive';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.#kc.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (!(fresh instanceof HttpsAgent)) return;
    this.#agent ??= new HttpsAgent({ ...fresh.options, keepAlive: true, maxSockets: 16 });
    context.setAgent(this.#agent);
    fresh.destroy();
  }

  close(): void {
    this.#agent?.destroy();
  }
}

function makeClient<T extends ApiType>(
  kc: KubeConfig,
  auth: SecurityAuthentication,
  userAgent: string,
  type: ApiConstructor<T>,
): T {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: auth },
      promiseMiddleware: [writerIdentity(userAgent)],
    }),
  );
}

export interface ClusterApiOptions {
  /** Sent on every request, e.g. `berth-node-agent/0.1.0 (linux/amd64)` (see userAgent()); every write also carries fieldManager=berth-node-agent. */
  readonly userAgent: string;
}

export class ClusterApi {
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;

  readonly #auth: KeepAliveAuthentication;

  constructor(kc: KubeConfig, options: ClusterApiOptions) {
    this.kc = kc;
    this.#auth = new KeepAliveAuthentication(kc);
    this.custom = makeClient(kc, this.#auth, options.userAgent, CustomObjectsApi);
    this.core = makeClient(kc, this.#auth, options.userAgent, CoreV1Api);
    this.coordination = makeClient(kc, this.#auth, options.userAgent, CoordinationV1Api);
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.#auth.close();
  }

  /** Merge patch of the Container itself (metadata, spec). */
  async patchContainer(namespace: string, name: string, body: object): Promise<Container> {
    return (await this.custom.patchNamespacedCustomObject(
      { group, version, namespace, plural: 'containers', name, body },
      mergePatch(),
    )) as Container;
  }

  /** JSON patch of the Container: `test` operations make it conditional without a resourceVersion. */
  async jsonPatchContainer(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Container> {
    return (await this.custom.patchNamespacedCustomObject(
      { group, version, namespace, plural: 'containers', name, body: ops },
      jsonPatch(),
    )) as Container;
  }

  /** Merge patch of `status` through the /status subresource; a null field removes it; a resourceVersion pins it. */
  async patchContainerStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof ContainerStatus, unknown>>,
    resourceVersion?: string,
  ): Promise<Container> {
    const metadata = resourceVersion === undefined ? {} : { metadata: { resourceVersion } };
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: 'containers', name, body: { ...metadata, status } },
      mergePatch(),
    )) as Container;
  }

  /** A berth Network, or undefined when it does not exist. */
  async getNetwork(namespace: string, name: string): Promise<Network | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'networks',
        name,
      })) as Network;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A Volume, or undefined when it does not exist. */
  async getVolume(namespace: string, name: string): Promise<Volume | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'volumes',
        name,
      })) as Volume;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** JSON patch of a Volume (its finalizers), made conditional by `test` operations. */
  async jsonPatchVolume(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Volume> {
    return (await this.custom.patchNamespacedCustomObject(
      { group, version, namespace, plural: 'volumes', name, body: ops },
      jsonPatch(),
    )) as Volume;
  }

  /** JSON patch of a Volume's `status` through /status: `test` operations make a claim conditional. */
  async jsonPatchVolumeStatus(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Volume> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: 'volumes', name, body: ops },
      jsonPatch(),
    )) as Volume;
  }

  /** Merge patch of a Volume's `status` through /status; a null field removes it. */
  async patchVolumeStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof VolumeStatus, unknown>>,
  ): Promise<Volume> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: 'volumes', name, body: { status } },
      mergePatch(),
    )) as Volume;
  }

  /** Merge patch of an Image's `status` through /status; a null field removes it. */
  async patchImageStatus(
    namespace: string,
    name: string,
    status: Partial<Record<keyof ImageStatus, unknown>>,
    resourceVersion?: string,
  ): Promise<Image> {
    // With a resourceVersion the patch is conditional (409 when the Image changed): nodes merging their entries
    // into status.nodes must not overwrite each other's.
    const body = resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status };
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: 'images', name, body },
      mergePatch(),
    )) as Image;
  }

  /** One binaryData key of a ConfigMap as bytes (an uploaded build context), or undefined when either is missing. */
  async configMapBinary(namespace: string, name: string, key: string): Promise<Buffer | undefined> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ namespace, name });
      const value = cm.binaryData?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The v1 Node (client-node's typed shape: times as Dates, berth's extension fields dropped). */
  async getNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createNode(node: V1Node): Promise<V1Node> {
    return this.core.createNode({ body: node });
  }

  /** Merge patch of a Node's annotations (null removes one). */
  patchNodeAnnotations(name: string, annotations: Record<string, string | null>): Promise<V1Node> {
    return this.core.patchNode({ name, body: { metadata: { annotations } } }, mergePatch());
  }

  /** Merge patch of a Node's `status` through /status; the body is sent as given (berth's fields included). */
  patchNodeStatus(name: string, status: object): Promise<V1Node> {
    return this.core.patchNodeStatus({ name, body: { status } }, mergePatch());
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body: lease });
  }

  replaceLease(namespace: string, name: string, lease: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name, body: lease });
  }

  /** A ConfigMap's data, or undefined when it does not exist. */
  async configMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ namespace, name });
      return { ...(cm.data ?? {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A Secret's data as bytes (for files: a key may hold binary), or undefined when it does not exist. */
  async secretBytes(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
      for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
      return data;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A Secret's decoded data (and its type), or undefined when it does not exist. */
  async secretData(
    namespace: string,
    name: string,
  ): Promise<{ type: string; data: Record<string, string> } | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
      for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = v;
      return { type: secret.type ?? 'Opaque', data };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
