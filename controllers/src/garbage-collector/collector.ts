// reconcile(uid): what the garbage collector does about one object, as Kubernetes' attemptToDeleteItem and
// attemptToOrphanWorker decide it, from the object's owner references and the dependency graph:
// - an object whose owners are all gone (or being deleted in the foreground) is deleted: in the foreground when
//   its owner waits on it and it has dependents of its own, else as its own finalizers say, else in the background;
// - an object that still has an owner loses only its references to the gone and the waiting ones;
// - an owner being deleted in the foreground loses its foregroundDeletion finalizer once no dependent blocks it;
// - an owner being deleted with Orphan has its dependents' references to it removed, then its orphan finalizer.
// Level-based: it reads the caches (and the live objects before it writes) and keeps nothing between runs.
import type { EventRecorder, ApiClient, ReconcileContext, Request, Result } from '@berth/controller-runtime';
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { DependencyGraph } from './dependency-graph.js';
import { classifyReferences, type Classified } from './owner-classification.js';
import {
  blocksOwner,
  describeRef,
  foregroundFinalizer,
  formatRef,
  hasFinalizer,
  isDeletingDependents,
  isTerminating,
  orphanFinalizer,
  ownerRefsOf,
  uidOf,
  type Item,
} from './owner-references.js';
import {
  deleteObject,
  getLatest,
  removeFinalizer,
  removeOwnerReferences,
  unblockOwnerReferences,
  type PropagationPolicy,
} from './object-writes.js';

export interface Collector {
  readonly client: ApiClient;
  readonly graph: DependencyGraph;
  readonly recorder: EventRecorder;
  /** Asks for another look at an object. */
  readonly enqueue: (uid: string) => void;
  /** How soon to look again while some watched kind's cache is still filling. */
  readonly unsyncedRequeueMs: number;
}

/** The request names the object by its uid: objects of every kind share one queue. */
export async function collect(gc: Collector, ctx: ReconcileContext, req: Request): Promise<Result | void> {
  const item = gc.graph.byUid(req.name);
  if (item === undefined) return;
  const obj = item.object;
  if (isTerminating(obj)) {
    if (hasFinalizer(obj, foregroundFinalizer)) return finishForegroundDeletion(gc, ctx, item);
    if (hasFinalizer(obj, orphanFinalizer)) return orphanDependents(gc, ctx, item);
    // Being deleted is a one-way trip: its dependents are looked at once it is gone.
    return;
  }
  if (ownerRefsOf(obj).length === 0) return;
  // First from the caches (cheap), then, only if something is to be done, on the object as it is now.
  const first = await classifyReferences(gc.client, gc.graph, item, ownerRefsOf(obj), ctx.signal);
  if (settled(gc, item, first, true)) return;
  const latest = await getLatest(gc.client, item.resource, obj, ctx.signal);
  if (latest === undefined || isTerminating(latest)) return;
  const current: Item = { object: latest, resource: item.resource };
  // The owners were just classified: only references that changed since the cached copy are looked at again.
  const unchanged = JSON.stringify(ownerRefsOf(latest)) === JSON.stringify(ownerRefsOf(obj));
  const refs = unchanged
    ? first
    : await classifyReferences(gc.client, gc.graph, current, ownerRefsOf(latest), ctx.signal);
  if (settled(gc, current, refs, false)) return;
  await act(gc, ctx, current, refs);
}

/**
 * True when nothing is to be done: an owner is there and none is gone or waiting, or the references are invalid
 * (then, with `report`, a Warning says why).
 */
function settled(gc: Collector, item: Item, refs: Classified, report: boolean): boolean {
  const namespace = item.object.metadata?.namespace ?? '';
  if (refs.namespacedOwnerOfClusterScoped !== undefined) {
    // Retrying cannot help: the object is left alone, and a user told why.
    if (report) invalidNamespace(gc, item, refs.namespacedOwnerOfClusterScoped, namespace);
    return true;
  }
  if (report) for (const ref of refs.wrongNamespace) invalidNamespace(gc, item, ref, namespace);
  return (
    ownerRefsOf(item.object).length === 0 || (refs.solid.length > 0 && refs.dangling.length + refs.waiting.length === 0)
  );
}

async function act(gc: Collector, ctx: ReconcileContext, item: Item, refs: Classified): Promise<void> {
  const { object: latest, resource } = item;
  const uid = uidOf(latest);
  if (refs.solid.length > 0) {
    // Still owned: only the references to gone and waiting owners go (a waiting owner must not wait on it).
    const dropped = [...refs.dangling, ...refs.waiting];
    if (
      await removeOwnerReferences(
        gc.client,
        resource,
        latest,
        dropped.map((r) => r.uid),
        ctx.signal,
      )
    ) {
      ctx.log.info('removed owner references', { uid, removed: dropped.map((r) => r.uid) });
      gc.recorder.event(
        latest,
        'Normal',
        'OwnerReferencesRemoved',
        `Removed references to owners gone or being deleted (${names(dropped)}); still owned by ${names(refs.solid)}`,
      );
    }
    return;
  }
  let policy: PropagationPolicy;
  let why: string;
  if (refs.waiting.length > 0 && gc.graph.dependents(uid).length > 0) {
    // Its owner waits for it and it has dependents: delete it in the foreground too, so the owner waits for those.
    if (gc.graph.dependents(uid).some((d) => isDeletingDependents(d.object))) {
      // A dependent waits on it while it waits on its owner: unblock its references so no cycle holds forever.
      await unblockOwnerReferences(gc.client, resource, latest, ctx.signal);
      const fresh = await getLatest(gc.client, resource, latest, ctx.signal);
      if (fresh === undefined) return;
      return remove(gc, ctx, { object: fresh, resource }, 'Foreground', waitingWhy(refs));
    }
    policy = 'Foreground';
    why = waitingWhy(refs);
  } else {
    policy = hasFinalizer(latest, orphanFinalizer)
      ? 'Orphan'
      : hasFinalizer(latest, foregroundFinalizer)
        ? 'Foreground'
        : 'Background';
    why = refs.waiting.length > 0 ? waitingWhy(refs) : `its owners are gone: ${names(refs.dangling)}`;
  }
  await remove(gc, ctx, item, policy, why);
}

async function remove(
  gc: Collector,
  ctx: ReconcileContext,
  item: Item,
  policy: PropagationPolicy,
  why: string,
): Promise<void> {
  if (!(await deleteObject(gc.client, item.resource, item.object, policy, ctx.signal))) return;
  ctx.log.info('deleted', { uid: uidOf(item.object), policy });
  gc.recorder.event(item.object, 'Normal', 'GarbageCollected', `Deleted with propagationPolicy ${policy}: ${why}`);
}

const waitingWhy = (refs: Classified): string => `its owner is being deleted in the foreground: ${names(refs.waiting)}`;

/** Foreground: the owner goes once no dependent that blocks its deletion is left. */
async function finishForegroundDeletion(gc: Collector, ctx: ReconcileContext, item: Item): Promise<Result | void> {
  const uid = uidOf(item.object);
  const blocking = gc.graph.dependents(uid).filter((d) => blocksOwner(d.object, uid));
  if (blocking.length > 0) {
    // Each is being deleted (or about to be); their delete events bring the owner back here.
    for (const d of blocking) if (!isDeletingDependents(d.object)) gc.enqueue(uidOf(d.object));
    return;
  }
  // A dependent of a kind whose cache is still filling would be missed: the owner must not go before it.
  if (!gc.graph.synced) return { requeueAfterMs: gc.unsyncedRequeueMs };
  if (await removeFinalizer(gc.client, item.resource, item.object, foregroundFinalizer, ctx.signal)) {
    ctx.log.info('foreground deletion finished', { uid });
    gc.recorder.event(
      item.object,
      'Normal',
      'DependentsDeleted',
      `No dependent blocks its deletion any more: removed finalizer ${foregroundFinalizer}`,
    );
  }
}

/** Orphan: every dependent lets go of the owner (it keeps running, unowned), then the owner goes. */
async function orphanDependents(gc: Collector, ctx: ReconcileContext, item: Item): Promise<Result | void> {
  if (!gc.graph.synced) return { requeueAfterMs: gc.unsyncedRequeueMs };
  const owner = item.object;
  const uid = uidOf(owner);
  const dependents = gc.graph.dependents(uid);
  const orphaned = await Promise.all(
    dependents.map(async (d) => {
      const changed = await removeOwnerReferences(gc.client, d.resource, d.object, [uid], ctx.signal);
      if (changed)
        gc.recorder.event(
          d.object,
          'Normal',
          'Orphaned',
          `Its owner ${describeRef(ownerOf(item))} was deleted with propagationPolicy Orphan: removed its owner reference`,
        );
      return changed;
    }),
  );
  if (await removeFinalizer(gc.client, item.resource, owner, orphanFinalizer, ctx.signal)) {
    const count = orphaned.filter(Boolean).length;
    ctx.log.info('dependents orphaned', { uid, count });
    gc.recorder.event(
      owner,
      'Normal',
      'DependentsOrphaned',
      `Removed its owner reference from ${count} dependent${count === 1 ? '' : 's'}: removed finalizer ${orphanFinalizer}`,
    );
  }
}

/** Kubernetes' Warning for an owner reference that names a namespaced owner outside the dependent's namespace. */
function invalidNamespace(gc: Collector, item: Item, ref: V1OwnerReference, namespace: string): void {
  gc.recorder.event(
    item.object,
    'Warning',
    'OwnerRefInvalidNamespace',
    `ownerRef ${formatRef(ref, namespace)} does not exist in namespace ${JSON.stringify(namespace)}`,
  );
}

const ownerOf = (item: Item): { kind: string; name: string } => ({
  kind: item.resource.kind,
  name: item.object.metadata?.name ?? '',
});

const names = (refs: readonly V1OwnerReference[]): string => refs.map(describeRef).join(', ');
