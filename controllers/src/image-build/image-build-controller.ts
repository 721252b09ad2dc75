// The image build controller: binds each Image with a `spec.build` to a node that runs it, as the scheduler binds
// Containers. An Image whose build names no node (spec.build.nodeName) gets `status.nodeName` — the Ready, schedulable
// Node with the fewest builds bound to it (name order breaks ties) — and phase Pending; that node's agent builds it
// and writes the rest of the status. A build whose Node is gone or NotReady before it started is bound again.
// A build whose context is in git has it fetched and uploaded first (git-context.ts).
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '@berth/api';
import {
  resources,
  newControllerManagedBy,
  type Controller,
  type Manager,
  type ReconcileContext,
  type Request,
  type Result,
  type SharedInformer,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { nodes, type Node } from '../kinds.js';
import { ensureGitContext, fetchesGit } from './git-context.js';

export const { images } = resources;

type ImageObject = Image & KubernetesObject;

const ready = (n: Node) =>
  n.spec?.unschedulable !== true && (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Adds the image build controller to `mgr`. */
export async function addImageBuildController(
  mgr: Manager,
  options: { readonly gitDataDir?: string } = {},
): Promise<Controller> {
  // Created on the first git context, so a manager that never sees one leaves nothing on disk.
  const gitDataDir =
    options.gitDataDir ?? join(tmpdir(), `berth-image-build-git-${process.pid}-${randomBytes(4).toString('hex')}`);
  // The clones are a cache: a directory of this manager's own goes when it stops.
  if (options.gitDataDir === undefined)
    await mgr.add({ start: () => undefined, stop: () => rm(gitDataDir, { recursive: true, force: true }) });
  const imageCache = (await mgr.cache.informerFor<KubernetesObject>(images)) as unknown as SharedInformer<ImageObject>;
  const nodeCache = (await mgr.cache.informerFor<KubernetesObject>(nodes)) as unknown as SharedInformer<Node>;
  const unbound = () =>
    imageCache
      .list()
      .filter((i) => i.spec.build !== undefined && i.spec.build.nodeName === undefined && i.status?.phase !== 'Ready')
      .map((i) => ({ namespace: i.metadata.namespace ?? '', name: i.metadata.name ?? '' }));
  return (
    newControllerManagedBy(mgr)
      .for(images)
      // A Node turning Ready (or going) can bind a waiting build, or move one whose node went away.
      .watches<KubernetesObject>(nodes, () => unbound())
      .named('image-build')
      .withOptions({ workers: 1, baseDelayMs: 200, maxDelayMs: 30_000, log: mgr.log })
      .complete((ctx, req) => reconcile(mgr, imageCache, nodeCache, gitDataDir, ctx, req))
  );
}

async function reconcile(
  mgr: Manager,
  imageCache: SharedInformer<ImageObject>,
  nodeCache: SharedInformer<Node>,
  gitDataDir: string,
  ctx: ReconcileContext,
  req: Request,
): Promise<Result | void> {
  const image = imageCache.get(req.namespace, req.name);
  if (image === undefined) {
    // Its git clone, if it had one, goes with it.
    await rm(join(gitDataDir, req.namespace ?? '', req.name), { recursive: true, force: true });
    return;
  }
  if (image.spec.build === undefined || image.metadata.deletionTimestamp !== undefined) return;
  const status = image.status ?? {};
  const generation = image.metadata.generation ?? 0;
  if (fetchesGit(image) && status.phase !== 'Building' && status.observedGeneration !== generation) {
    const context = await ensureGitContext(mgr, image, gitDataDir, ctx.signal);
    if (context.kind === 'failed') {
      await writeStatus(
        mgr,
        image,
        { phase: 'Failed', observedGeneration: generation, message: context.message, steps: [] },
        ctx.signal,
      );
      return;
    }
    // A status write is what tells a node's agent (which may have seen this generation already) that it can build.
    if (context.created) {
      await writeStatus(mgr, image, { message: `fetched the build context from ${context.revision}` }, ctx.signal);
      return;
    }
  }
  if (image.spec.build.nodeName !== undefined) return;
  const candidates = (nodeCache.list() as Node[]).filter(ready);
  const bound = status.nodeName;
  const boundReady = bound !== undefined && candidates.some((n) => n.metadata?.name === bound);
  // Bound to a live node, or finished for this generation: the node's agent owns it now. A node that stopped being
  // Ready loses its unfinished build to another (a build is repeatable, and cheap again on a warm cache).
  const finished = status.observedGeneration === generation && (status.phase === 'Ready' || status.phase === 'Failed');
  if (boundReady || finished) return;
  if (candidates.length === 0) {
    if (status.phase !== 'Pending' || status.message === undefined)
      await writeStatus(mgr, image, { phase: 'Pending', message: '0 nodes are available to build on' }, ctx.signal);
    return;
  }
  const load = new Map<string, number>();
  for (const i of imageCache.list()) {
    const n = i.spec.build?.nodeName ?? i.status?.nodeName;
    if (n !== undefined && i.status?.phase !== 'Ready' && i.status?.phase !== 'Failed')
      load.set(n, (load.get(n) ?? 0) + 1);
  }
  const chosen = candidates
    .map((n) => n.metadata?.name ?? '')
    .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a.localeCompare(b))[0] as string;
  await writeStatus(
    mgr,
    image,
    { phase: 'Pending', nodeName: chosen, message: `build bound to node ${chosen}`, steps: [] },
    ctx.signal,
  );
}

/** Status with optimistic concurrency: a stale copy fails (and the key is retried) instead of undoing an agent's write. */
async function writeStatus(
  mgr: Manager,
  image: ImageObject,
  patch: Partial<NonNullable<Image['status']>>,
  signal: AbortSignal,
): Promise<void> {
  await mgr.client.patch(
    images,
    image.metadata.namespace,
    image.metadata.name ?? '',
    [
      { op: 'test', path: '/metadata/resourceVersion', value: image.metadata.resourceVersion },
      {
        op: image.status === undefined ? 'add' : 'replace',
        path: '/status',
        value: { ...(image.status ?? {}), ...patch },
      },
    ],
    { type: 'json', subresource: 'status', signal },
  );
}
