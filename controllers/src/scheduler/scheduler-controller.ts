// The scheduler: binds each unbound Container (spec.nodeName empty) to a Node, as kube-scheduler binds Pods. It
// filters the Nodes (Ready, not cordoned, taints, nodeSelector, the node a local Volume lives on, resources left
// after what is bound there), scores the rest (spread of one Service's replicas, then room left) and binds through
// POST …/containers/NAME/binding, a write that succeeds once. When no Node fits it says why in the Container's
// Scheduled=False condition and a FailedScheduling Event, and tries again when Nodes, Volumes or capacity change.
import {
  ApiClient,
  apiStatusCode,
  newControllerManagedBy,
  requestKey,
  resourcePath,
  type Controller,
  type EventRecorder,
  type Manager,
  type Request,
  type Result,
  type SharedInformer,
  checkNumber,
} from '@berth/controller-runtime';
import { setCondition, type Condition, type Container, type Volume } from '@berth/api';
import type { KubernetesObject } from '@kubernetes/client-node';
import { containerEventTarget, containers, nodes, volumes, type Node } from '../kinds.js';
import { unfitReasons, unschedulableMessage } from './node-fit.js';
import { pickNode, type Candidate } from './node-score.js';

/** source.component of the scheduler's Events (kube-scheduler's is default-scheduler), its user agent and field manager. */
export const schedulerName = 'berth-scheduler';

export interface SchedulerOptions {
  /** How soon an unschedulable Container is tried again even if nothing it waits for changed. @default 30000 */
  readonly retryUnschedulableMs?: number;
  /** Bindings in flight at once while the next decisions are made. @default 16 */
  readonly bindingsInFlight?: number;
}

/** Cache indexes: the live Containers bound to each node, and the unbound ones waiting for one. */
const boundIndex = 'berth-scheduler.bound-node';
const pendingIndex = 'berth-scheduler.pending';

interface Caches {
  readonly containers: SharedInformer<KubernetesObject>;
  readonly nodes: SharedInformer<KubernetesObject>;
  readonly volumes: SharedInformer<KubernetesObject>;
}

const isTerminal = (c: Container) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';
const isPending = (c: Container) => (c.spec.nodeName ?? '') === '' && c.metadata.deletionTimestamp === undefined;
const keyOf = (c: Container): Request => ({ namespace: c.metadata.namespace ?? '', name: c.metadata.name ?? '' });
const asContainer = (o: KubernetesObject) => o as unknown as Container;
const volumeRefs = (c: Container) =>
  (c.spec.volumes ?? []).flatMap((v) => (v.volumeRef !== undefined ? [v.volumeRef.name] : []));
const volumeNode = (v: Volume) => (v.spec?.nodeName || v.status?.nodeName) ?? undefined;

/** Adds the scheduler to `mgr`. */
export async function addSchedulerController(mgr: Manager, options: SchedulerOptions = {}): Promise<Controller> {
  const retryMs = checkNumber('retryUnschedulableMs', options.retryUnschedulableMs ?? 30_000, { positive: true });
  const maxInFlight = checkNumber('bindingsInFlight', options.bindingsInFlight ?? 16, {
    integer: true,
    positive: true,
  });
  const caches: Caches = {
    containers: await mgr.cache.informerFor(containers),
    nodes: await mgr.cache.informerFor(nodes),
    volumes: await mgr.cache.informerFor(volumes),
  };
  // Indexed, so a decision reads what is on each node, not every Container stored (O(n) per decision was O(n²)
  // for a burst of creates).
  caches.containers.addIndexers({
    [boundIndex]: (o) => {
      const c = asContainer(o);
      const node = c.spec?.nodeName ?? '';
      return node === '' || isTerminal(c) ? [] : [node];
    },
    [pendingIndex]: (o) => (isPending(asContainer(o)) ? [''] : []),
  });
  const recorder = mgr.eventRecorder(schedulerName);
  // Its own client, as kube-scheduler is its own process: bindings and Scheduled conditions carry its name in
  // managedFields and in the API server's logs, not the controller manager's.
  const client = new ApiClient({
    kubeconfig: mgr.client.kubeconfig,
    userAgent: schedulerName,
    fieldManager: schedulerName,
  });
  void mgr.closed.then(() => client.close());
  // Bindings made but not yet seen in the cache (kube-scheduler's "assumed pods"): they hold their node's room,
  // so the next decision, made before the watch event arrives, does not count the node as emptier than it is.
  const assumed = new Map<string, { container: Container; at: number }>();
  const pending = (): Request[] => caches.containers.byIndex(pendingIndex, '').map(asContainer).map(keyOf);
  // Bindings are posted while the next decisions are made (kube-scheduler's binding cycle): the assumed map holds
  // their room meanwhile, so each decision still counts every binding made before it.
  const binds: Binds = {
    inFlight: new Set(),
    max: maxInFlight,
    retry: (req) => controller.queue.addRateLimited(requestKey(req)),
  };
  const controller = await newControllerManagedBy(mgr)
    .for(containers)
    // A Node that comes, goes, turns Ready or changes taints, labels or room: every waiting Container looks again.
    .watches(nodes, () => pending())
    .watches(volumes, () => pending())
    .named('scheduler')
    // One at a time: each decision counts the bindings made before it.
    .withOptions({ workers: 1, baseDelayMs: 100, maxDelayMs: 30_000, log: mgr.log })
    .complete((ctx, req) =>
      schedule(client, caches, recorder, assumed, binds, retryMs, req, ctx.signal, (m, f) => ctx.log.info(m, f)),
    );
  caches.containers.addEventHandler({
    update: (before, after) => {
      const a = asContainer(after);
      if ((a.spec.nodeName ?? '') !== '') assumed.delete(a.metadata.uid ?? '');
      // A Container that ends frees its room.
      if (!isTerminal(asContainer(before)) && isTerminal(a)) for (const r of pending()) controller.enqueue(r);
    },
    delete: (obj) => {
      assumed.delete(obj.metadata?.uid ?? '');
      recorder.forget(obj.metadata?.uid ?? '');
      if ((asContainer(obj).spec.nodeName ?? '') !== '') for (const r of pending()) controller.enqueue(r);
    },
  });
  return controller;
}

interface Binds {
  readonly inFlight: Set<Promise<void>>;
  readonly max: number;
  /** Tries a Container again later (with back-off) after its binding failed. */
  readonly retry: (req: Request) => void;
}

type Assumed = Map<string, { container: Container; at: number }>;

async function schedule(
  client: ApiClient,
  caches: Caches,
  recorder: EventRecorder,
  assumed: Assumed,
  binds: Binds,
  retryMs: number,
  req: Request,
  signal: AbortSignal,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<Result | void> {
  const obj = caches.containers.get(req.namespace, req.name);
  if (obj === undefined) return;
  const c = asContainer(obj);
  if (!isPending(c)) return;
  const uid = c.metadata.uid ?? '';
  const now = Date.now();
  for (const [k, v] of assumed) if (now - v.at > 30_000) assumed.delete(k);
  if (assumed.has(uid)) return;

  // Who is where: the cache's bound Containers and the bindings it has not seen yet.
  const boundOn = (node: string): Container[] => {
    const out = caches.containers
      .byIndex(boundIndex, node)
      .map(asContainer)
      .filter((b) => b.metadata.uid !== uid);
    for (const [k, a] of assumed) {
      if (k === uid || a.container.spec.nodeName !== node) continue;
      // The cache's copy first: an assumed binding the watch has already shown counts once.
      const cached = caches.containers.get(a.container.metadata.namespace, a.container.metadata.name ?? '');
      const seen =
        cached !== undefined && cached.metadata?.uid === k && (asContainer(cached).spec.nodeName ?? '') !== '';
      if (!seen && !isTerminal(a.container)) out.push(a.container);
    }
    return out;
  };

  // A Volume that lives on a node (or that a bound Container already uses there) pins this Container to it.
  const namespace = c.metadata.namespace ?? '';
  const pins = new Set<string>();
  for (const name of volumeRefs(c)) {
    const v = caches.volumes.get(namespace, name) as unknown as Volume | undefined;
    if (v === undefined)
      return unschedulable(
        client,
        recorder,
        c,
        `0/${caches.nodes.list().length} nodes are available: volume "${name}" not found.`,
        retryMs,
        signal,
      );
    const node =
      volumeNode(v) ??
      [...caches.containers.list(namespace).map(asContainer), ...[...assumed.values()].map((a) => a.container)].find(
        (b) => (b.spec.nodeName ?? '') !== '' && b.metadata.namespace === namespace && volumeRefs(b).includes(name),
      )?.spec.nodeName;
    if (node !== undefined) pins.add(node);
  }
  if (pins.size > 1)
    return unschedulable(
      client,
      recorder,
      c,
      `its volumes are on different nodes (${[...pins].sort().join(', ')})`,
      retryMs,
      signal,
    );
  const pinnedTo = [...pins][0];

  const allNodes = caches.nodes.list() as Node[];
  const reasons = new Map<string, string[]>();
  const candidates: Candidate[] = [];
  for (const node of allNodes) {
    const name = node.metadata?.name ?? '';
    const bound = boundOn(name);
    const why = unfitReasons({ container: c, node, bound, pinnedTo });
    if (why.length === 0) candidates.push({ node, bound });
    else reasons.set(name, why);
  }
  const chosen = pickNode(c, candidates);
  if (chosen === undefined)
    return unschedulable(client, recorder, c, unschedulableMessage(allNodes.length, reasons), retryMs, signal);

  const nodeName = chosen.node.metadata?.name ?? '';
  // Assumed before the request, as kube-scheduler does: the watch event of the binding may arrive before it returns.
  assumed.set(uid, { container: { ...c, spec: { ...c.spec, nodeName } }, at: now });
  // Scheduled Events wait while bindings are in flight (EventRecorder.hold): a burst's bindings go first.
  const release = recorder.hold();
  const done = bind(client, recorder, assumed, binds, c, nodeName, signal, log).finally(release);
  binds.inFlight.add(done);
  void done.finally(() => binds.inFlight.delete(done));
  // Enough in flight: the next decision waits for one to finish, so a burst does not open a request per Container.
  if (binds.inFlight.size >= binds.max) await Promise.race(binds.inFlight);
}

/** POSTs the binding, then tells of it; never rejects (a failure takes the assumption back and retries). */
async function bind(
  client: ApiClient,
  recorder: EventRecorder,
  assumed: Assumed,
  binds: Binds,
  c: Container,
  nodeName: string,
  signal: AbortSignal,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  const uid = c.metadata.uid ?? '';
  const namespace = c.metadata.namespace ?? '';
  try {
    await client.request('POST', resourcePath(containers, namespace, c.metadata.name ?? '', 'binding'), {
      body: {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Binding',
        metadata: { name: c.metadata.name, namespace, uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      },
      query: { fieldManager: client.fieldManager },
      signal,
    });
  } catch (err) {
    assumed.delete(uid);
    // Bound by someone else meanwhile, deleted, or recreated under the name: the watch brings the new state.
    const code = apiStatusCode(err);
    if (code === 409 || code === 404 || signal.aborted) return;
    log('binding failed', { container: `${namespace}/${c.metadata.name ?? ''}`, node: nodeName, error: String(err) });
    binds.retry(keyOf(c));
    return;
  }
  log('bound', { container: `${namespace}/${c.metadata.name ?? ''}`, node: nodeName });
  recorder.event(
    containerEventTarget(c),
    'Normal',
    'Scheduled',
    `Successfully assigned ${namespace}/${c.metadata.name ?? ''} to ${nodeName}`,
  );
  // A Container that waited says so no longer (the agent writes Scheduled=True too, once it runs it).
  if (c.status?.conditions?.some((x) => x.type === 'Scheduled' && x.status !== 'True')) {
    try {
      // The binding moved the resourceVersion on: write on the latest copy.
      const latest = await client.get<KubernetesObject>(containers, namespace, c.metadata.name ?? '', signal);
      await writeScheduled(
        client,
        asContainer(latest),
        { type: 'Scheduled', status: 'True', reason: 'Scheduled', message: `bound to node ${nodeName}` },
        signal,
      );
    } catch {
      // The agent (or a deletion) got there first; it writes Scheduled=True itself.
    }
  }
}

/** Records why no node fits; the watches (and `retryMs`) bring the Container back. */
async function unschedulable(
  client: ApiClient,
  recorder: EventRecorder,
  c: Container,
  message: string,
  retryMs: number,
  signal: AbortSignal,
): Promise<Result> {
  // An Event when the reason is new: the condition's own write brings the Container back here with nothing new.
  const changed = await writeScheduled(
    client,
    c,
    { type: 'Scheduled', status: 'False', reason: 'Unschedulable', message },
    signal,
  );
  if (changed) recorder.event(containerEventTarget(c), 'Warning', 'FailedScheduling', message);
  return { requeueAfterMs: retryMs };
}

async function writeScheduled(
  client: ApiClient,
  c: Container,
  condition: Condition,
  signal: AbortSignal,
): Promise<boolean> {
  const { conditions, changed } = setCondition(c.status?.conditions, {
    ...condition,
    ...(c.metadata.generation !== undefined ? { observedGeneration: c.metadata.generation } : {}),
  });
  if (!changed) return false;
  // Conditional on the copy read: a concurrent status write is a 409 and the queue retries on the latest.
  await client.patch(
    containers,
    c.metadata.namespace,
    c.metadata.name ?? '',
    { metadata: { resourceVersion: c.metadata.resourceVersion }, status: { conditions } },
    { subresource: 'status', signal },
  );
  return true;
}
