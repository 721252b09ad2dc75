// The Sync reconciler: on every pass (its interval, a change of itself, of its source's artifact, of a Sync it
// depends on, or a reconcile request) it reads the manifests under spec.path of the source's artifact, applies
// them whole with server-side apply (dry run first: a broken revision changes nothing and the last good one stays
// applied), prunes what left git, waits for health with spec.wait, and records the inventory and revision.
// Re-applying every interval is what reverts drift: a hand edit of a field in git is taken back then.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyncStatus } from '@berth/api';
import type {
  ApiClient,
  EventRecorder,
  ReconcileContext,
  Request,
  Result,
  SharedInformer,
} from '@berth/controller-runtime';
import { type ConditionUpdate, writeStatus } from '../conditions.js';
import { parseDuration } from '../duration.js';
import { GitOpsError, messageOf } from '../errors.js';
import { syncs, type GitRepositoryObject, type SyncObject } from '../kinds.js';
import { hasPendingRequest, requestedAt } from '../reconcile-request.js';
import { applyStage, isClusterDefinition, KindResolver, planObjects } from './apply.js';
import { waitForHealth } from './health.js';
import { entryOf, staleEntries } from './inventory.js';
import { forgetPass, lastPassPath, readLastPass, recordPass } from './last-pass.js';
import { readManifests } from './manifests.js';
import { prune } from './prune.js';

/** Labels every applied object carries: which Sync applied it (pruning deletes only objects that carry them). */
export const syncNameLabel = 'sync.berth.dev/name';
export const syncNamespaceLabel = 'sync.berth.dev/namespace';
/** Held by a Sync with prune: true, so that deleting it first deletes what it applied (as Flux's finalizer). */
export const syncFinalizer = 'sync.berth.dev/finalizer';

export interface SyncReconcilerDeps {
  readonly client: ApiClient;
  readonly syncs: SharedInformer<SyncObject>;
  readonly sources: SharedInformer<GitRepositoryObject>;
  readonly dataDir: string;
  /** The kubectl whose `kustomize` builds kustomizations. */
  readonly kubectl: string;
  /** Events on transitions only (a revision applied, a new failure), so a quiet interval writes nothing. */
  readonly recorder: EventRecorder;
}

export async function reconcileSync(
  deps: SyncReconcilerDeps,
  ctx: ReconcileContext,
  req: Request,
): Promise<Result | void> {
  const namespace = req.namespace ?? '';
  const sync = deps.syncs.get(namespace, req.name);
  const spec = sync?.spec;
  const passFile = lastPassPath(deps.dataDir, namespace, req.name);
  if (sync === undefined) await forgetPass(passFile);
  if (sync === undefined || spec === undefined) return;
  const finalizers = sync.metadata?.finalizers ?? [];
  if (sync.metadata?.deletionTimestamp !== undefined) {
    if (!finalizers.includes(syncFinalizer)) return;
    if (spec.prune === true && spec.suspend !== true) {
      const labels = { [syncNameLabel]: req.name, [syncNamespaceLabel]: namespace };
      const stale = staleEntries(sync.status?.inventory?.entries ?? [], []);
      const deleted = await prune(deps.client, new KindResolver(deps.client), stale, labels, ctx.signal);
      ctx.log.info('deleted with its objects', { namespace, name: req.name, deleted });
    }
    await setFinalizers(
      deps,
      sync,
      finalizers.filter((f) => f !== syncFinalizer),
    );
    return;
  }
  // The finalizer is held exactly while prune is on; its update event brings the next pass.
  if ((spec.prune === true) !== finalizers.includes(syncFinalizer)) {
    await setFinalizers(
      deps,
      sync,
      spec.prune === true ? [...finalizers, syncFinalizer] : finalizers.filter((f) => f !== syncFinalizer),
    );
    return;
  }
  if (spec.suspend === true) return;
  const generation = sync.metadata?.generation ?? 1;
  const status: SyncStatus = sync.status ?? {};
  const handled = requestedAt(sync);
  const base: SyncStatus = {
    ...status,
    observedGeneration: generation,
    ...(handled !== undefined ? { lastHandledReconcileAt: handled } : {}),
  };

  let intervalMs: number;
  let retryMs: number;
  let timeoutMs: number;
  try {
    intervalMs = parseDuration(spec.interval ?? '5m', 'spec.interval');
    retryMs = spec.retryInterval !== undefined ? parseDuration(spec.retryInterval, 'spec.retryInterval') : intervalMs;
    timeoutMs = spec.timeout !== undefined ? parseDuration(spec.timeout, 'spec.timeout') : intervalMs;
  } catch (err) {
    await writeStatus(deps.client, syncs, sync, base, stalled('InvalidSpec', messageOf(err)));
    return;
  }

  // dependsOn: every dependency Ready at its current generation; a cycle can never become ready.
  const cycle = findCycle(deps.syncs, namespace, req.name);
  if (cycle !== undefined) {
    await writeStatus(
      deps.client,
      syncs,
      sync,
      base,
      stalled('DependencyCycle', `dependsOn forms a cycle: ${cycle.join(' -> ')}`),
    );
    return;
  }
  for (const dep of spec.dependsOn ?? []) {
    const ns = dep.namespace ?? namespace;
    const other = deps.syncs.get(ns, dep.name);
    const ready =
      other !== undefined &&
      other.status?.observedGeneration === other.metadata?.generation &&
      other.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    if (!ready) {
      const message = `dependency ${ns}/${dep.name} is not ready`;
      await writeStatus(deps.client, syncs, sync, base, notReady('DependencyNotReady', message, 'waiting'));
      return { requeueAfterMs: retryMs };
    }
  }

  const sourceNs = spec.sourceRef.namespace ?? namespace;
  const source = deps.sources.get(sourceNs, spec.sourceRef.name);
  const artifact = source?.status?.artifact;
  const artifactDir = artifact?.path !== undefined ? join(deps.dataDir, artifact.path) : undefined;
  const present =
    artifactDir !== undefined &&
    (await stat(artifactDir).then(
      () => true,
      () => false,
    ));
  if (artifact === undefined || artifactDir === undefined || !present) {
    const message =
      source === undefined
        ? `source GitRepository ${sourceNs}/${spec.sourceRef.name} not found`
        : `source GitRepository ${sourceNs}/${spec.sourceRef.name} has no artifact yet`;
    await writeStatus(deps.client, syncs, sync, base, notReady('ArtifactFailed', message, 'waiting'));
    return { requeueAfterMs: retryMs };
  }
  const revision = artifact.revision;
  const attempted: SyncStatus = { ...base, lastAttemptedRevision: revision };

  // Applied whole within the interval, and nothing changed since: wait for the rest of the interval.
  const passKey = `${generation} ${revision} ${artifact.digest}`;
  const last = await readLastPass(passFile);
  const sinceLast = last === undefined ? Number.POSITIVE_INFINITY : Date.now() - last.at;
  if (
    last?.key === passKey &&
    sinceLast < intervalMs &&
    !hasPendingRequest(sync, status.lastHandledReconcileAt) &&
    status.observedGeneration === generation &&
    status.lastAppliedRevision === revision &&
    status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  )
    return { requeueAfterMs: Math.max(1, intervalMs - sinceLast) };

  const startedAt = Date.now();
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
  const labels = { [syncNameLabel]: req.name, [syncNamespaceLabel]: namespace };
  const kinds = new KindResolver(deps.client);
  let stage = 'BuildFailed';
  try {
    const manifests = await readManifests(artifactDir, spec.path ?? './', { kubectl: deps.kubectl, signal });
    const planned = await planObjects(
      kinds,
      manifests,
      { namespace, targetNamespace: spec.targetNamespace, labels },
      signal,
    );
    const first = planned.filter((o) => isClusterDefinition(o.ref));
    const rest = planned.filter((o) => !isClusterDefinition(o.ref));
    stage = 'ReconciliationFailed';
    if (first.length > 0) {
      await applyStage(deps.client, kinds, first, { force: spec.force === true, signal });
      kinds.reset(); // the CRDs just applied are served now: discover again
    }
    // Namespaced objects whose kind came with this build were planned before it was served: plan them again.
    const replanned =
      first.length > 0
        ? await planObjects(
            kinds,
            rest.map(({ file, object }) => ({ file, object })),
            { namespace, targetNamespace: spec.targetNamespace, labels },
            signal,
          )
        : rest;
    await applyStage(deps.client, kinds, replanned, { force: spec.force === true, signal });
    const applied = [...first, ...replanned];
    const inventory = applied.map((o) => entryOf(o.ref));
    stage = 'PruneFailed';
    if (spec.prune === true) {
      const deleted = await prune(
        deps.client,
        kinds,
        staleEntries(status.inventory?.entries ?? [], inventory),
        labels,
        signal,
      );
      if (deleted.length > 0) ctx.log.info('pruned', { namespace, name: req.name, deleted });
    }
    const done: SyncStatus = { ...attempted, lastAppliedRevision: revision, inventory: { entries: inventory } };
    if (spec.wait === true) {
      stage = 'HealthCheckFailed';
      const unhealthy = await waitForHealth(deps.client, kinds, applied, startedAt + timeoutMs, ctx.signal);
      if (ctx.signal.aborted) throw new GitOpsError('BERTH_GITOPS_HEALTH', 'stopped');
      if (unhealthy.length > 0) {
        const message = `health check failed after ${spec.timeout ?? spec.interval ?? '5m'}: ${unhealthy.join('; ')}`;
        await writeStatus(deps.client, syncs, sync, done, {
          set: [
            { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message },
            { type: 'Healthy', status: 'False', reason: 'HealthCheckFailed', message },
            { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: 'waiting for health' },
          ],
          remove: ['Stalled'],
        });
        return { requeueAfterMs: retryMs };
      }
    }
    const message = `Applied revision: ${revision}`;
    await writeStatus(deps.client, syncs, sync, done, {
      set: [
        { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message },
        ...(spec.wait === true
          ? [
              {
                type: 'Healthy',
                status: 'True' as const,
                reason: 'Succeeded',
                message: 'all applied objects are healthy',
              },
            ]
          : []),
      ],
      remove: ['Reconciling', 'Stalled', ...(spec.wait === true ? [] : ['Healthy'])],
    });
    await recordPass(passFile, passKey);
    if (status.lastAppliedRevision !== revision)
      deps.recorder.event(involved(sync), 'Normal', 'ReconciliationSucceeded', message);
    return { requeueAfterMs: intervalMs };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // The last good revision stays applied and in the inventory; only lastAttemptedRevision moves.
    const why = signal.aborted
      ? `timed out after ${spec.timeout ?? spec.interval ?? '5m'} (spec.timeout)`
      : messageOf(err);
    const message = `${revision}: ${why}`;
    if (await writeStatus(deps.client, syncs, sync, attempted, notReady(stage, message, 'retrying')))
      deps.recorder.event(involved(sync), 'Warning', stage, message);
    ctx.log.info('sync failed', { namespace, name: req.name, error: message });
    return { requeueAfterMs: retryMs };
  }
}

function stalled(reason: string, message: string): ConditionUpdate {
  return {
    set: [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Stalled', status: 'True', reason, message },
    ],
    remove: ['Reconciling'],
  };
}

function notReady(reason: string, message: string, doing: string): ConditionUpdate {
  return {
    set: [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: `${doing}: ${message}` },
    ],
    remove: ['Stalled'],
  };
}

/** A dependsOn path from this Sync back to itself, or undefined. */
function findCycle(cache: SharedInformer<SyncObject>, namespace: string, name: string): string[] | undefined {
  const start = `${namespace}/${name}`;
  const visit = (key: string, path: string[], seen: Set<string>): string[] | undefined => {
    const [ns = '', n = ''] = key.split('/');
    for (const dep of cache.get(ns, n)?.spec?.dependsOn ?? []) {
      const next = `${dep.namespace ?? ns}/${dep.name}`;
      if (next === start) return [...path, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = visit(next, [...path, next], seen);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(start, [start], new Set([start]));
}

/** Writes metadata.finalizers, pinned to the resourceVersion read (a concurrent change is a 409, retried). */
async function setFinalizers(deps: SyncReconcilerDeps, sync: SyncObject, finalizers: string[]): Promise<void> {
  await deps.client.patch(syncs, sync.metadata?.namespace, sync.metadata?.name ?? '', {
    metadata: { finalizers, resourceVersion: sync.metadata?.resourceVersion },
  });
}

function involved(sync: SyncObject): SyncObject {
  return { ...sync, apiVersion: 'berth.dev/v1alpha1', kind: 'Sync' };
}
