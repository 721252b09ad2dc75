// The node lifecycle controller, as Kubernetes' (pkg/controller/nodelifecycle, its taint manager and the pod GC's
// orphan sweep): watches each Node's Lease in kube-node-lease, which its agent renews every 10 s. A Lease not
// renewed for `nodeMonitorGracePeriodMs` turns the Node's Ready condition Unknown (kubectl shows NotReady) and taints
// it node.kubernetes.io/unreachable (NoSchedule and NoExecute); the Containers bound there are marked not Ready.
// After `evictionTimeoutMs` (or a Container's own tolerationSeconds) the Containers a controller owns (a Service's
// replicas) are deleted, so their controller makes new ones on Ready nodes; Containers without a controller stay
// bound, to run again when the node comes back, as a `docker run` container stays with its host. When the agent
// renews again it posts Ready, and the taints go. A user's NoExecute taint evicts every Container that does not
// tolerate it, at once or after its tolerationSeconds, as the taint manager does. A deleted Node's Containers are
// deleted with it (its agent's finalizer too, since no agent is left to remove it), so replicas are made elsewhere.
import {
  apiStatusCode,
  newControllerManagedBy,
  type ApiClient,
  type Controller,
  type EventRecorder,
  type Manager,
  type Request,
  type Result,
  type SharedInformer,
  checkNumber,
} from '@berth/controller-runtime';
import { formatTime, setCondition, type Container } from '@berth/api';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  containerEventTarget,
  containers,
  leases,
  nodes,
  toleration,
  type Lease,
  type Node,
  type Taint,
} from '../kinds.js';
import { isNodeHealthTaint, sameTaints, stampNoExecute, taintsFor, type ReadyStatus } from './node-health.js';

export const nodeLeaseNamespace = 'kube-node-lease';

/** The finalizer a node agent puts on the Containers it runs (node-agent's `finalizer`; packages do not share code). */
export const agentFinalizer = 'berth.dev/node-agent';

export interface NodeLifecycleControllerOptions {
  /** A Node whose Lease is not renewed for this long is not Ready (Unknown). @default 40000 */
  readonly nodeMonitorGracePeriodMs?: number;
  /**
   * How long after a Node turns unreachable (or not ready) the Containers a controller owns are deleted there, unless
   * one tolerates the taint for another time. @default 60000
   */
  readonly evictionTimeoutMs?: number;
  /**
   * How old a Container bound to a Node that does not exist must be before it is deleted (the pod GC's quarantine):
   * a Container made with spec.nodeName may come before its Node registers. @default 40000
   */
  readonly orphanQuarantineMs?: number;
}

interface Caches {
  readonly nodes: SharedInformer<KubernetesObject>;
  readonly leases: SharedInformer<KubernetesObject>;
  readonly containers: SharedInformer<KubernetesObject>;
}

/** When this process last saw each Node's Lease move: local time, so the agents' clocks do not matter. */
type Health = Map<string, { renewTime: string; observedAt: number }>;

const asContainer = (o: KubernetesObject) => o as unknown as Container;

/** Adds the node lifecycle controller to `mgr`. */
export async function addNodeLifecycleController(
  mgr: Manager,
  options: NodeLifecycleControllerOptions = {},
): Promise<Controller> {
  const graceMs = checkNumber('nodeMonitorGracePeriodMs', options.nodeMonitorGracePeriodMs ?? 40_000, { min: 0 });
  const evictionMs = checkNumber('evictionTimeoutMs', options.evictionTimeoutMs ?? 60_000, { min: 0 });
  const quarantineMs = checkNumber('orphanQuarantineMs', options.orphanQuarantineMs ?? 40_000, { min: 0 });
  const caches: Caches = {
    nodes: await mgr.cache.informerFor(nodes),
    leases: await mgr.cache.informerFor(leases, { namespace: nodeLeaseNamespace }),
    containers: await mgr.cache.informerFor(containers),
  };
  const recorder = mgr.eventRecorder('berth-node-lifecycle-controller');
  const health: Health = new Map();
  return (
    newControllerManagedBy(mgr)
      .for(nodes)
      .watches(leases, (l) => [{ name: l.metadata?.name ?? '' }], { namespace: nodeLeaseNamespace })
      // A Container bound to a Node that is down is marked and, in time, evicted.
      .watches(containers, (c) => {
        const node = asContainer(c).spec.nodeName ?? '';
        return node === '' ? [] : [{ name: node }];
      })
      .named('node-lifecycle')
      .withOptions({ workers: 1, baseDelayMs: 100, maxDelayMs: 10_000, log: mgr.log })
      .complete((ctx, req) =>
        reconcileNode(
          mgr.client,
          caches,
          recorder,
          health,
          { graceMs, evictionMs, quarantineMs },
          req,
          ctx.signal,
          (m, f) => ctx.log.info(m, f),
        ),
      )
  );
}

async function reconcileNode(
  client: ApiClient,
  caches: Caches,
  recorder: EventRecorder,
  health: Health,
  { graceMs, evictionMs, quarantineMs }: { graceMs: number; evictionMs: number; quarantineMs: number },
  req: Request,
  signal: AbortSignal,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<Result | void> {
  const node = caches.nodes.get(undefined, req.name) as Node | undefined;
  if (node === undefined) {
    health.delete(req.name);
    const due = await collectOrphans(client, caches, recorder, req.name, quarantineMs, signal, log);
    return due === undefined ? undefined : { requeueAfterMs: Math.max(due - Date.now(), 0) + 50 };
  }
  const now = Date.now();
  const lease = caches.leases.get(nodeLeaseNamespace, req.name) as Lease | undefined;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  // The heartbeat: the Lease's renewTime, else the Ready condition's (an agent that never made a Lease).
  const renewTime = lease?.spec?.renewTime ?? ready?.lastHeartbeatTime ?? node.metadata?.creationTimestamp ?? '';
  const seen = health.get(req.name);
  if (seen === undefined || seen.renewTime !== String(renewTime))
    health.set(req.name, { renewTime: String(renewTime), observedAt: now });
  const silentMs = now - (health.get(req.name)?.observedAt ?? now);
  const stale = silentMs >= graceMs;

  // Just registered, its agent about to post its first status: nothing to judge until the grace period is over.
  if (ready === undefined && !stale) return { requeueAfterMs: graceMs - silentMs + 250 };
  let status: ReadyStatus = (ready?.status as ReadyStatus | undefined) ?? 'Unknown';
  if (stale && status !== 'Unknown') {
    await markUnknown(client, node, signal);
    recorder.event(nodeTarget(node), 'Normal', 'NodeNotReady', `Node ${req.name} status is now: NodeNotReady`);
    log('node not ready: lease not renewed', { node: req.name, silentMs });
    status = 'Unknown';
  }
  const taints = stampNoExecute(
    taintsFor(node.spec?.taints, status, formatTime(new Date(now))),
    formatTime(new Date(now)),
  );
  if (!sameTaints(node.spec?.taints, taints)) {
    await client.patch(
      nodes,
      undefined,
      req.name,
      { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } },
      { signal },
    );
    if (status === 'True')
      recorder.event(nodeTarget(node), 'Normal', 'NodeReady', `Node ${req.name} status is now: NodeReady`);
  }
  // Look again when the Lease would turn stale.
  const recheck: Result = stale && status === 'True' ? {} : { requeueAfterMs: Math.max(graceMs - silentMs, 0) + 250 };
  // Renewing again but not yet Ready: the agent is back and will post its status; nothing is evicted meanwhile.
  if (!stale && status === 'Unknown') return recheck;

  const due = await evict(client, caches, recorder, req.name, taints, status !== 'True', evictionMs, now, signal);
  if (due === undefined) return recheck;
  const dueIn = due - now + 50;
  return { requeueAfterMs: recheck.requeueAfterMs === undefined ? dueIn : Math.min(recheck.requeueAfterMs, dueIn) };
}

/** Ready=Unknown, as the node lifecycle controller writes it when the kubelet goes silent. */
async function markUnknown(client: ApiClient, node: Node, signal: AbortSignal): Promise<void> {
  const { conditions } = setCondition(node.status?.conditions, {
    type: 'Ready',
    status: 'Unknown',
    reason: 'NodeStatusUnknown',
    message: 'berth node agent stopped posting node status.',
  });
  await client.patch(
    nodes,
    undefined,
    node.metadata?.name ?? '',
    { metadata: { resourceVersion: node.metadata?.resourceVersion }, status: { conditions } },
    { subresource: 'status', signal },
  );
}

/**
 * Marks the Containers on a Node that is down not Ready and deletes those a NoExecute taint sends away once their
 * time is up: for the node's own health taints, those a controller owns, after `evictionMs`; for a user's taint,
 * every one, at once. A toleration without tolerationSeconds keeps a Container, one with it gives it that long.
 * Returns when the next one is due (ms since the epoch), if any.
 */
async function evict(
  client: ApiClient,
  caches: Caches,
  recorder: EventRecorder,
  nodeName: string,
  taints: readonly Taint[],
  nodeDown: boolean,
  evictionMs: number,
  now: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const noExecute = taints.filter((t) => t.effect === 'NoExecute');
  if (noExecute.length === 0 && !nodeDown) return undefined;
  let next: number | undefined;
  for (const obj of caches.containers.list()) {
    const c = asContainer(obj);
    if (c.spec.nodeName !== nodeName || c.metadata.deletionTimestamp !== undefined) continue;
    if (nodeDown) await markNotReady(client, c, signal);
    const owned = (c.metadata.ownerReferences ?? []).some((r) => r.controller === true);
    // The earliest time any NoExecute taint it does not tolerate forever sends it away.
    let at: number | undefined;
    let cause: Taint | undefined;
    for (const taint of noExecute) {
      const health = isNodeHealthTaint(taint);
      if (health && !owned) continue;
      const tol = toleration(c.spec.tolerations, taint);
      if (tol !== undefined && tol.tolerationSeconds === undefined) continue;
      const wait =
        tol?.tolerationSeconds !== undefined ? Math.max(tol.tolerationSeconds, 0) * 1000 : health ? evictionMs : 0;
      const added = taint.timeAdded === undefined ? now : Date.parse(taint.timeAdded);
      if (at === undefined || added + wait < at) {
        at = added + wait;
        cause = taint;
      }
    }
    if (at === undefined) continue;
    if (at > now) {
      next = Math.min(next ?? at, at);
      continue;
    }
    if (!(await deleteContainer(client, c, signal))) continue;
    const why =
      cause !== undefined && !isNodeHealthTaint(cause)
        ? `node ${nodeName} has the taint {${cause.key}: ${cause.value ?? ''}} it does not tolerate`
        : `node ${nodeName} is not ready`;
    recorder.event(
      containerEventTarget(c),
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Container ${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}: ${why}`,
    );
  }
  return next;
}

/** Deletes `c` (that copy, by uid); false when it was gone or replaced meanwhile. */
async function deleteContainer(client: ApiClient, c: Container, signal: AbortSignal): Promise<boolean> {
  try {
    await client.delete(containers, c.metadata.namespace, c.metadata.name ?? '', {
      preconditionUid: c.metadata.uid ?? '',
      signal,
    });
    return true;
  } catch (err) {
    if (apiStatusCode(err) !== 404 && apiStatusCode(err) !== 409) throw err;
    return false;
  }
}

/**
 * The pod GC's orphan sweep: Containers bound to a Node that no longer exists are deleted, and the agent's
 * finalizer taken off them (no agent is left to run it), so their controller makes new ones on the nodes there are.
 * The Node's absence is checked against the API server, not the cache: a Node just made may not be cached yet; a
 * Container younger than `quarantineMs` waits (its Node may be about to register). Returns when the next is due.
 */
async function collectOrphans(
  client: ApiClient,
  caches: Caches,
  recorder: EventRecorder,
  nodeName: string,
  quarantineMs: number,
  signal: AbortSignal,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<number | undefined> {
  const orphans = caches.containers
    .list()
    .map(asContainer)
    .filter((c) => c.spec.nodeName === nodeName);
  if (orphans.length === 0) return undefined;
  try {
    await client.get(nodes, undefined, nodeName, signal);
    return undefined; // there after all: its own event brings it here
  } catch (err) {
    if (apiStatusCode(err) !== 404) throw err;
  }
  const now = Date.now();
  let next: number | undefined;
  for (const c of orphans) {
    const ripe = (Date.parse(c.metadata.creationTimestamp ?? '') || 0) + quarantineMs;
    if (ripe > now) {
      next = Math.min(next ?? ripe, ripe);
      continue;
    }
    const name = c.metadata.name ?? '';
    if (c.metadata.deletionTimestamp === undefined) {
      if (!(await deleteContainer(client, c, signal))) continue;
      recorder.event(
        containerEventTarget(c),
        'Normal',
        'NodeDeleted',
        `Deleting Container ${c.metadata.namespace ?? ''}/${name}: node ${nodeName} no longer exists`,
      );
      log('deleted container of a deleted node', {
        container: `${c.metadata.namespace ?? ''}/${name}`,
        node: nodeName,
      });
    }
    let latest: Container;
    try {
      latest = asContainer(await client.get<KubernetesObject>(containers, c.metadata.namespace, name, signal));
    } catch (err) {
      if (apiStatusCode(err) === 404) continue;
      throw err;
    }
    const finalizers = latest.metadata.finalizers ?? [];
    if (latest.metadata.uid !== c.metadata.uid || !finalizers.includes(agentFinalizer)) continue;
    try {
      await client.patch(
        containers,
        latest.metadata.namespace,
        name,
        {
          metadata: {
            resourceVersion: latest.metadata.resourceVersion,
            finalizers: finalizers.filter((f) => f !== agentFinalizer),
          },
        },
        { signal },
      );
    } catch (err) {
      // Moved on meanwhile: its update brings the node's key back here.
      if (apiStatusCode(err) !== 404 && apiStatusCode(err) !== 409) throw err;
    }
  }
  return next;
}

/** A Container on a lost node is not Ready (so traffic and rollouts stop counting it), as MarkPodsNotReady does. */
async function markNotReady(client: ApiClient, c: Container, signal: AbortSignal): Promise<void> {
  const { conditions, changed } = setCondition(c.status?.conditions, {
    type: 'Ready',
    status: 'False',
    reason: 'NodeNotReady',
    message: `node ${c.spec.nodeName ?? ''} is not ready`,
  });
  if (!changed) return;
  try {
    await client.patch(
      containers,
      c.metadata.namespace,
      c.metadata.name ?? '',
      { metadata: { resourceVersion: c.metadata.resourceVersion }, status: { conditions } },
      { subresource: 'status', signal },
    );
  } catch (err) {
    // Moved on meanwhile: its update brings this Node back here.
    if (apiStatusCode(err) !== 404 && apiStatusCode(err) !== 409) throw err;
  }
}

const nodeTarget = (n: Node): KubernetesObject => ({ ...n, apiVersion: 'v1', kind: 'Node' });
