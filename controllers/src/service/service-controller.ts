// The service controller: keeps `spec.replicas` Containers of a Service's template, as the Deployment and
// ReplicaSet controllers keep Pods, with one Service owning its Containers directly. Each pass claims Containers by
// selector, records the template as a revision, plans the rollout (rollout-plan.ts), creates and deletes replicas,
// waits for the cache to show its writes, then writes status. It never deletes replicas because the Service is
// being deleted: that is the garbage collector's job, by the ownerReferences it puts on them.
import { setMaxListeners } from 'node:events';
import {
  formatLabelSelector,
  labelSelectorFromMeta,
  matchesLabels,
  type Container,
  type ParsedLabelSelector,
  type Service,
} from '@berth/api';
import {
  resources,
  isAlreadyExists,
  isNotFound,
  newControllerManagedBy,
  TerminalError,
  type ApiClient,
  type Controller,
  type EventRecorder,
  type Manager,
  type ReconcileContext,
  type Request,
  type Result,
  type SharedInformer,
  checkNumber,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { waitForCache } from './cache-sync.js';
import { containers } from '../kinds.js';
import { claimContainers } from './claim.js';
import { ServiceControllerError } from './errors.js';
import { revisionAnnotation, rollbackAnnotation, slotLabel, templateHashLabel } from './labels.js';
import { slotsForNew } from './slots.js';
import {
  controllerRefFor,
  controllerRefOf,
  hashOf,
  isActive,
  isAvailable,
  isReady,
  untilAvailable,
} from './replicas.js';
import { planRollout, resolveFenceposts } from './rollout-plan.js';
import { rollBack } from './rollback.js';
import {
  configMaps,
  ensureRevision,
  listRevisions,
  pruneRevisions,
  revisionName,
  revisionSelector,
} from './revisions.js';
import { computeStatus } from './service-status.js';
import { randomSuffix, templateHash } from './template-hash.js';

export const { services } = resources;

/** Source component of the controller's Events. */
export const serviceControllerName = 'service-controller';

export interface ServiceControllerOptions {
  /** Services reconciled at once. @default 4 */
  readonly workers?: number;
  /** Replica creations in flight at once for one Service. @default 16 */
  readonly createBurst?: number;
}

interface Deps {
  readonly client: ApiClient;
  readonly services: SharedInformer<KubernetesObject>;
  readonly containers: SharedInformer<KubernetesObject>;
  readonly revisions: SharedInformer<KubernetesObject>;
  readonly recorder: EventRecorder;
  readonly createBurst: number;
}

const asService = (o: KubernetesObject | undefined) => o as unknown as Service | undefined;
const asContainer = (o: KubernetesObject) => o as unknown as Container;
const kube = (o: object) => o as unknown as KubernetesObject;

/** Adds the service controller to `mgr`. */
export async function addServiceController(mgr: Manager, options: ServiceControllerOptions = {}): Promise<Controller> {
  const workers = checkNumber('workers', options.workers ?? 4, { integer: true, positive: true });
  const createBurst = checkNumber('createBurst', options.createBurst ?? 16, { integer: true, positive: true });
  const deps: Deps = {
    client: mgr.client,
    services: await mgr.cache.informerFor(services),
    containers: await mgr.cache.informerFor(containers),
    revisions: await mgr.cache.informerFor(configMaps, { labelSelector: revisionSelector }),
    recorder: mgr.eventRecorder(serviceControllerName),
    createBurst,
  };
  return (
    newControllerManagedBy(mgr)
      .for(services)
      // A Container's change goes to the Service controlling it or, with none, to every Service whose selector it
      // matches (one that may adopt it), as the ReplicaSet controller's addPod/updatePod do.
      .watches(containers, (obj) => servicesFor(deps.services, asContainer(obj)))
      .watches(configMaps, (obj) => servicesFor(deps.services, obj as unknown as Container), {
        labelSelector: revisionSelector,
      })
      .named('service')
      .withOptions({ workers, baseDelayMs: 100, maxDelayMs: 60_000, log: mgr.log })
      .complete((ctx, req) => reconcileService(deps, ctx, req))
  );
}

function servicesFor(cache: SharedInformer<KubernetesObject>, obj: Container): Request[] {
  const namespace = obj.metadata.namespace;
  if (namespace === undefined) return [];
  const ref = controllerRefOf(obj);
  if (ref !== undefined) return ref.kind === 'Service' ? [{ namespace, name: ref.name }] : [];
  const out: Request[] = [];
  for (const s of cache.list(namespace)) {
    const svc = asService(s)!;
    const sel = safeSelector(svc);
    if (sel !== undefined && sel.length > 0 && matchesLabels(sel, obj.metadata.labels))
      out.push({ namespace, name: svc.metadata.name ?? '' });
  }
  return out;
}

function safeSelector(svc: Service): ParsedLabelSelector | undefined {
  try {
    return labelSelectorFromMeta(svc.spec.selector) ?? undefined;
  } catch {
    return undefined;
  }
}

async function reconcileService(deps: Deps, ctx: ReconcileContext, req: Request): Promise<Result | void> {
  const { client, recorder } = deps;
  const { signal } = ctx;
  // Each request in flight listens on the pass's signal; a burst of them is expected, not a leak.
  setMaxListeners(deps.createBurst + 16, signal);
  const cached = asService(deps.services.get(req.namespace, req.name));
  // Gone, or being deleted: its replicas are the garbage collector's (ownerReferences), never deleted here.
  if (cached === undefined || cached.metadata.deletionTimestamp !== undefined) return;
  let service: Service = cached;
  const uid = cached.metadata.uid;
  const ns = service.metadata.namespace ?? '';
  const selector = safeSelector(service);
  if (selector === undefined || selector.length === 0) {
    // The API server refuses these (422); only a Service stored before that check gets here.
    recorder.event(
      kube(service),
      'Warning',
      'InvalidSelector',
      'the selector is empty or invalid: no replicas are managed',
    );
    throw new TerminalError('invalid selector');
  }
  const hash = templateHash(service.spec.template);
  let revisions = listRevisions(deps.revisions, service);

  if (service.metadata.annotations?.[rollbackAnnotation] !== undefined) {
    const outcome = await rollBack(client, services, service, revisions, hash, signal);
    if (outcome.done)
      recorder.event(kube(service), 'Normal', 'RolledBack', `Rolled back to revision ${outcome.revision}`);
    else recorder.event(kube(service), 'Warning', 'RollbackFailed', `Rollback not done: ${outcome.message}`);
    return; // the update brings the Service back with its new template
  }

  // The Service as the API server has it now: still this one, not deleted (RecheckDeletionTimestamp).
  const stillLive = async (): Promise<boolean> => {
    try {
      const live = (await client.get(services, ns, req.name, signal)) as unknown as Service;
      return live.metadata.uid === uid && live.metadata.deletionTimestamp === undefined;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };

  // Claim: adopt matching orphans, release what no longer matches.
  const candidates = deps.containers.list(ns).map(asContainer);
  const claimed = await claimContainers(client, service, selector, candidates, stillLive, signal);
  if (claimed.adopted.length > 0)
    recorder.event(
      kube(service),
      'Normal',
      'Adopted',
      `Adopted, matching the selector: ${someNames(claimed.adopted, 'container')}`,
    );
  if (claimed.released.length > 0)
    recorder.event(
      kube(service),
      'Normal',
      'Released',
      `Released, no longer matching the selector: ${someNames(claimed.released, 'container')}`,
    );

  // Record the template as the newest revision.
  const rev = await ensureRevision(client, service, revisions, hash, signal);
  if (rev.created)
    recorder.event(kube(service), 'Normal', 'NewRevision', `Recorded revision ${rev.revision} (template hash ${hash})`);
  const revisionCm = revisionName(req.name, hash);
  await waitForCache(
    deps.revisions,
    () => {
      const cm = deps.revisions.get(ns, revisionCm) as
        | { metadata?: { annotations?: Record<string, string> } }
        | undefined;
      return cm?.metadata?.annotations?.[revisionAnnotation] === String(rev.revision);
    },
    signal,
  );
  revisions = listRevisions(deps.revisions, service);
  if (service.metadata.annotations?.[revisionAnnotation] !== String(rev.revision)) {
    // The Service names its revision too (deployment.kubernetes.io/revision); later writes go on this copy.
    service = (await client.patch(
      services,
      ns,
      req.name,
      {
        metadata: {
          annotations: { [revisionAnnotation]: String(rev.revision) },
          resourceVersion: service.metadata.resourceVersion,
        },
      },
      { signal },
    )) as unknown as Service;
  }

  const desired = service.spec.replicas ?? 1;
  const strategy = service.spec.strategy?.type ?? 'RollingUpdate';
  const fenceposts = resolveFenceposts(
    service.spec.strategy?.rollingUpdate?.maxSurge,
    service.spec.strategy?.rollingUpdate?.maxUnavailable,
    desired,
  );
  if (fenceposts === undefined) {
    recorder.event(
      kube(service),
      'Warning',
      'InvalidStrategy',
      'maxSurge and maxUnavailable must be integers >= 0 or percentages like "25%"',
    );
    throw new TerminalError('invalid rolling update parameters');
  }
  const minReadySeconds = service.spec.minReadySeconds ?? 0;
  const now = Date.now();
  const { owned } = claimed;
  // Finished replicas (restartPolicy Never or OnFailure) are replaced; they go so they do not pile up.
  const finished = owned.filter((c) => c.metadata.deletionTimestamp === undefined && !isActive(c));
  const active = owned.filter(isActive);
  const current = active.filter((c) => hashOf(c) === hash);
  const old = active.filter((c) => hashOf(c) !== hash);
  const oldTerminating = owned.filter((c) => c.metadata.deletionTimestamp !== undefined && hashOf(c) !== hash).length;
  const plan = planRollout({
    desired,
    strategy,
    maxSurge: fenceposts.maxSurge,
    maxUnavailable: fenceposts.maxUnavailable,
    paused: service.spec.paused === true,
    minReadySeconds,
    now,
    current,
    old,
    oldTerminating,
  });

  // Which template new replicas get: the current one, or (paused) the newest one replicas still run.
  let createHash = hash;
  let createTemplate = service.spec.template;
  if (plan.createFromNewestOld && old.length > 0) {
    const running = new Set(old.map(hashOf));
    const newest = [...revisions].reverse().find((r) => running.has(r.hash) && r.template !== undefined);
    if (newest !== undefined) {
      createHash = newest.hash;
      createTemplate = newest.template!;
    }
  }

  // A cache that has not yet seen the Service's deletion must not make replicas nobody will own.
  if (plan.create > 0 && !(await stillLive())) return;
  const deleted = await deleteReplicas(client, [...finished, ...plan.delete], deps.createBurst, signal);
  const slots = slotsForNew(owned, createHash, plan.create);
  const created = await createReplicas(deps, service, createHash, createTemplate, slots, signal);
  if (created.names.length > 0)
    recorder.event(kube(service), 'Normal', 'SuccessfulCreate', `Created ${someNames(created.names, 'replica')}`);
  if (deleted.length > 0)
    recorder.event(kube(service), 'Normal', 'SuccessfulDelete', `Deleted ${someNames(deleted, 'replica')}`);
  if (created.error !== undefined) {
    recorder.event(kube(service), 'Warning', 'FailedCreate', `Error creating replica: ${messageOf(created.error)}`);
  }
  await waitForCache(
    deps.containers,
    () =>
      created.names.every((n) => deps.containers.get(ns, n) !== undefined) &&
      deleted.every((n) => {
        const c = deps.containers.get(ns, n);
        return c === undefined || c.metadata?.deletionTimestamp !== undefined;
      }),
    signal,
  );
  if (created.error !== undefined) throw created.error;

  // Status from the cache as it now is.
  const ownedUids = new Set(owned.map((c) => c.metadata.uid));
  const after = deps.containers
    .list(ns)
    .map(asContainer)
    .filter((c) => isActive(c) && (ownedUids.has(c.metadata.uid) || created.names.includes(c.metadata.name ?? '')));
  const inUse = new Set(after.map((c) => hashOf(c) ?? ''));
  const oldest = revisions.find((r) => inUse.has(r.hash));
  const outcome = computeStatus({
    service,
    counts: {
      replicas: after.length,
      readyReplicas: after.filter(isReady).length,
      updatedReplicas: after.filter((c) => hashOf(c) === hash).length,
      availableReplicas: after.filter((c) => isAvailable(c, minReadySeconds, now)).length,
    },
    selector: formatLabelSelector(selector),
    currentRevision: oldest?.hash ?? hash,
    updateRevision: hash,
    minAvailable: desired - fenceposts.maxUnavailable,
    // Replacing a finished replica is not progress (a template that exits would otherwise never time out).
    acted: plan.delete.length > 0,
    now: new Date(now),
  });
  if (outcome.changed) {
    await client.update(services, kube({ ...service, status: outcome.status }), { subresource: 'status', signal });
  }
  if (outcome.deadlineExceeded)
    recorder.event(
      kube(service),
      'Warning',
      'ProgressDeadlineExceeded',
      `Rollout to revision ${rev.revision} made no progress for ${service.spec.progressDeadlineSeconds ?? 600}s; old replicas keep serving`,
    );

  const limit = service.spec.revisionHistoryLimit ?? 10;
  const pruned = await pruneRevisions(client, revisions, inUse, hash, limit, signal);
  if (pruned.length > 0) ctx.log.info('pruned revisions', { service: `${ns}/${req.name}`, revisions: pruned });

  // Look again when a Ready replica becomes available, or when the progress deadline would pass.
  const waits = after.map((c) => untilAvailable(c, minReadySeconds, now)).filter((w): w is number => w !== undefined);
  if (outcome.deadlineInMs !== undefined) waits.push(outcome.deadlineInMs);
  if (waits.length > 0) return { requeueAfterMs: Math.min(...waits) + 50 };
}

async function deleteReplicas(
  client: ApiClient,
  doomed: readonly Container[],
  burst: number,
  signal: AbortSignal,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < doomed.length; i += burst) await deleteBatch(client, doomed.slice(i, i + burst), names, signal);
  return names.sort();
}

async function deleteBatch(client: ApiClient, doomed: readonly Container[], names: string[], signal: AbortSignal) {
  await Promise.all(
    doomed.map(async (c) => {
      try {
        await client.delete(containers, c.metadata.namespace, c.metadata.name ?? '', {
          ...(c.metadata.uid !== undefined ? { preconditionUid: c.metadata.uid } : {}),
          signal,
        });
        names.push(c.metadata.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }),
  );
}

/** `<service>-<hash>-<suffix>`, the service part cut so the name stays a DNS label (it is the hostname). */
function replicaName(service: string, hash: string): string {
  const room = 63 - hash.length - 7;
  return `${service.slice(0, room).replace(/-+$/, '')}-${hash}-${randomSuffix()}`;
}

async function createReplicas(
  deps: Deps,
  service: Service,
  hash: string,
  template: Service['spec']['template'],
  slots: readonly number[],
  signal: AbortSignal,
): Promise<{ names: string[]; error?: unknown }> {
  const names: string[] = [];
  let error: unknown;
  const unused = [...slots];
  const count = slots.length;
  const one = async (): Promise<void> => {
    const slot = String(unused.shift());
    for (let attempt = 0; ; attempt++) {
      const name = replicaName(service.metadata.name ?? '', hash);
      const body = {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Container',
        metadata: {
          name,
          namespace: service.metadata.namespace,
          labels: { ...template.metadata?.labels, [templateHashLabel]: hash, [slotLabel]: slot },
          ...(template.metadata?.annotations !== undefined
            ? { annotations: { ...template.metadata.annotations } }
            : {}),
          ownerReferences: [controllerRefFor(service)],
        },
        spec: structuredClone(template.spec),
      };
      try {
        await deps.client.create(containers, kube(body), signal);
        names.push(name);
        return;
      } catch (err) {
        // A suffix already taken: draw another (generateName's retry).
        if (isAlreadyExists(err) && attempt < 5) continue;
        throw err;
      }
    }
  };
  // One first, as the ReplicaSet controller's slow start begins, so a template the API server refuses costs one
  // request, not `count`; once one is in, the rest go createBurst at a time, each finished create starting the next,
  // none after the first failure. slowStartBatch's doubling batches (1, 2, 4, 8, 5) made a 20-replica Service wait
  // for five rounds of creates in turn, each as slow as its slowest create (835 ms of the first 2 s at load 11).
  let remaining = count;
  const next = async (): Promise<void> => {
    while (remaining > 0 && error === undefined) {
      remaining--;
      try {
        await one();
      } catch (err) {
        error ??= err;
      }
    }
  };
  if (remaining > 0) {
    remaining--;
    await one().catch((err: unknown) => {
      error = err;
    });
  }
  await Promise.all(Array.from({ length: Math.min(remaining, deps.createBurst) }, next));
  return error === undefined
    ? { names }
    : { names, error: new ServiceControllerError('BERTH_SERVICE_CREATE', messageOf(error), { cause: error }) };
}

/** "3 replicas: a, b, c", naming at most 10 (an Event's message is for people, and Kubernetes cuts it at 1 KiB). */
function someNames(names: readonly string[], noun: string): string {
  const shown = names.slice(0, 10).join(', ');
  const more = names.length > 10 ? ` and ${names.length - 10} more` : '';
  return `${names.length} ${noun}${names.length === 1 ? '' : 's'}: ${shown}${more}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
