// The namespace controller: finishes the deletion of a terminating Namespace, as kube-controller-manager's does.
// It deletes the namespace's content over the API, reports progress in the Namespace's status conditions, looks
// again while objects held by finalizers remain, and last removes its `kubernetes` token from spec.finalizers
// through the finalize subresource; the API server deletes the Namespace once no finalizer of either list is left.
import {
  resources,
  isNotFound,
  newControllerManagedBy,
  resourcePath,
  type ApiClient,
  type Controller,
  type Manager,
  type ReconcileContext,
  type Request,
  type Result,
  type SharedInformer,
  checkNumber,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { deleteContent } from './content-deleter.js';
import { discoverDeletableResources } from './deletable-resources.js';
import {
  deletionConditions,
  discoveryCondition,
  withConditions,
  type NamespaceCondition,
} from './deletion-conditions.js';
import { NamespaceDeletionError } from './errors.js';

/** The token this controller owns in every Namespace's spec.finalizers (the API server adds it on create). */
export const namespaceFinalizer = 'kubernetes';

const { namespaces } = resources;

interface Namespace extends KubernetesObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: NamespaceCondition[] };
}

export interface NamespaceControllerOptions {
  /** How soon to look again while objects held by finalizers remain. @default 1000 */
  readonly contentRemainingRequeueMs?: number;
  /** Namespaces reconciled at once. @default 2 */
  readonly workers?: number;
}

/** Adds the namespace controller to `mgr`. */
export async function addNamespaceController(
  mgr: Manager,
  options: NamespaceControllerOptions = {},
): Promise<Controller> {
  const requeueMs = checkNumber('contentRemainingRequeueMs', options.contentRemainingRequeueMs ?? 1000, {
    positive: true,
  });
  const workers = checkNumber('workers', options.workers ?? 2, { integer: true, positive: true });
  const client = mgr.client;
  // The informer for() watches, shared: it tells which namespaces are terminating without a request each.
  const cache = await mgr.cache.informerFor<Namespace>(namespaces);
  return newControllerManagedBy(mgr)
    .for(namespaces)
    .named('namespace')
    .withOptions({ workers, baseDelayMs: 50, maxDelayMs: 30_000, log: mgr.log })
    .complete((ctx, req) => reconcileNamespace(client, cache, requeueMs, ctx, req));
}

async function reconcileNamespace(
  client: ApiClient,
  cache: SharedInformer<Namespace>,
  requeueMs: number,
  ctx: ReconcileContext,
  req: Request,
): Promise<Result | void> {
  const { signal } = ctx;
  if (cache.get(undefined, req.name)?.metadata?.deletionTimestamp === undefined) return;
  // Terminating: act on the latest, not the cache, since other writers (this controller's last pass, the API
  // server) move it along.
  let ns = await getNamespace(client, req.name, signal);
  if (ns?.metadata?.deletionTimestamp === undefined) return;
  if (!(ns.spec?.finalizers ?? []).includes(namespaceFinalizer)) return;
  if (ns.status?.phase !== 'Terminating') {
    ns = await writeStatus(client, ns, { ...ns.status, phase: 'Terminating' }, signal);
  }

  let discovery: Awaited<ReturnType<typeof discoverDeletableResources>>;
  try {
    discovery = await discoverDeletableResources(client, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await setConditions(client, ns, [discoveryCondition(new Map([['all groups', messageOf(err)]]))], signal);
    throw new NamespaceDeletionError(`discovery failed for namespace ${req.name}`, { cause: err });
  }
  const report = await deleteContent(client, req.name, discovery.resources, signal);
  ns = await setConditions(client, ns, deletionConditions(discovery.failed, report), signal);
  if (discovery.failed.size > 0 || report.failures.size > 0) {
    const why = [...discovery.failed, ...report.failures].map(([k, v]) => `${k}: ${v}`).join('; ');
    throw new NamespaceDeletionError(`namespace ${req.name} not emptied: ${why}`);
  }
  if (report.remaining.size > 0) {
    ctx.log.info('content remains', {
      namespace: req.name,
      remaining: Object.fromEntries(report.remaining),
      finalizers: Object.fromEntries(report.finalizers),
    });
    return { requeueAfterMs: requeueMs };
  }
  await finalize(client, ns, signal);
  ctx.log.info('namespace finalized', { namespace: req.name });
}

async function getNamespace(client: ApiClient, name: string, signal: AbortSignal): Promise<Namespace | undefined> {
  try {
    return await client.get<Namespace>(namespaces, undefined, name, signal);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** PUT /status (optimistic: a concurrent write is a 409 and the queue retries with the latest). */
async function writeStatus(
  client: ApiClient,
  ns: Namespace,
  status: NonNullable<Namespace['status']>,
  signal: AbortSignal,
): Promise<Namespace> {
  return client.update<Namespace>(namespaces, { ...ns, status }, { subresource: 'status', signal });
}

async function setConditions(
  client: ApiClient,
  ns: Namespace,
  updates: NamespaceCondition[],
  signal: AbortSignal,
): Promise<Namespace> {
  const { conditions, changed } = withConditions(ns.status?.conditions, updates);
  return changed ? writeStatus(client, ns, { ...ns.status, conditions }, signal) : ns;
}

/** Removes this controller's token from spec.finalizers through PUT …/finalize, the one way to change them. */
async function finalize(client: ApiClient, ns: Namespace, signal: AbortSignal): Promise<void> {
  const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
  const body: Namespace = { ...ns, spec: { ...ns.spec, finalizers } };
  try {
    await client.request('PUT', resourcePath(namespaces, undefined, ns.metadata?.name ?? '', 'finalize'), {
      body,
      query: { fieldManager: client.fieldManager },
      signal,
    });
  } catch (err) {
    // Gone already: another writer finished it (the API server removes a finalized Namespace at once).
    if (!isNotFound(err)) throw err;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
