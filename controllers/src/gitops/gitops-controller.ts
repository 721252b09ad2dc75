// The gitops controller: the GitRepository reconciler (fetch into an artifact), the Sync reconciler (apply the
// artifact) and, when asked, the push webhook receiver, added to one Manager. A GitRepository's change (a new
// artifact) reconciles the Syncs that use it; a Sync's change reconciles the Syncs that depend on it.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  newControllerManagedBy,
  type Controller,
  type Manager,
  type Request,
  checkNumber,
} from '@berth/controller-runtime';
import { gitRepositories, syncs, type GitRepositoryObject, type SyncObject } from './kinds.js';
import { WebhookReceiver, type WebhookReceiverOptions } from './receiver/webhook-receiver.js';
import { reconcileGitRepository } from './source/git-repository-controller.js';
import { reconcileSync } from './sync/sync-controller.js';

export interface GitOpsControllerOptions {
  /** Where clones and artifacts are kept (created when first needed). @default a new directory under the system's temp dir */
  readonly dataDir?: string;
  /** The largest artifact (bytes of files after ignore) a source may produce. @default 50 MiB */
  readonly maxArtifactBytes?: number;
  /** Start the push webhook receiver. @default off */
  readonly receiver?: WebhookReceiverOptions;
  /** The kubectl binary whose `kustomize` builds a path with a kustomization.yaml. @default 'kubectl' on PATH */
  readonly kubectl?: string;
  /** Objects of each kind reconciled at once. @default 2 */
  readonly workers?: number;
}

export interface GitOpsControllers {
  readonly gitRepository: Controller;
  readonly sync: Controller;
  readonly receiver: WebhookReceiver | undefined;
  readonly dataDir: string;
}

export async function addGitOpsController(
  mgr: Manager,
  options: GitOpsControllerOptions = {},
): Promise<GitOpsControllers> {
  const maxArtifactBytes = checkNumber('maxArtifactBytes', options.maxArtifactBytes ?? 50 * 1024 * 1024, {
    integer: true,
    positive: true,
  });
  const workers = checkNumber('workers', options.workers ?? 2, { integer: true, positive: true });
  if (options.receiver !== undefined) checkNumber('receiver.port', options.receiver.port, { integer: true, min: 0 });
  // Created on the first fetch, so a manager that never sees a GitRepository leaves nothing on disk.
  const dataDir = options.dataDir ?? join(tmpdir(), `berth-gitops-${process.pid}-${randomBytes(4).toString('hex')}`);
  // A folder of our own making goes with the manager; one the caller gave is theirs to keep (a cache across restarts).
  if (options.dataDir === undefined)
    await mgr.add({ start: () => undefined, stop: () => rm(dataDir, { recursive: true, force: true }) });
  const client = mgr.client;
  const sources = await mgr.cache.informerFor<GitRepositoryObject>(gitRepositories);
  const syncCache = await mgr.cache.informerFor<SyncObject>(syncs);
  const queueOptions = { workers, baseDelayMs: 200, maxDelayMs: 30_000, log: mgr.log };
  const recorder = mgr.eventRecorder('gitops-controller');

  const gitRepository = await newControllerManagedBy(mgr)
    .for(gitRepositories)
    .named('gitrepository')
    .withOptions(queueOptions)
    .complete((ctx, req) =>
      reconcileGitRepository({ client, cache: sources, dataDir, maxArtifactBytes, recorder }, ctx, req),
    );

  const syncsUsing = (repo: GitRepositoryObject): Request[] =>
    syncCache
      .list()
      .filter((s) => {
        const ref = s.spec?.sourceRef;
        return (
          ref?.name === repo.metadata?.name && (ref?.namespace ?? s.metadata?.namespace) === repo.metadata?.namespace
        );
      })
      .map((s) => ({ namespace: s.metadata?.namespace ?? '', name: s.metadata?.name ?? '' }));
  const dependents = (dep: SyncObject): Request[] =>
    syncCache
      .list()
      .filter((s) =>
        (s.spec?.dependsOn ?? []).some(
          (d) => d.name === dep.metadata?.name && (d.namespace ?? s.metadata?.namespace) === dep.metadata?.namespace,
        ),
      )
      .map((s) => ({ namespace: s.metadata?.namespace ?? '', name: s.metadata?.name ?? '' }));
  const sync = await newControllerManagedBy(mgr)
    .for(syncs)
    .watches<GitRepositoryObject>(gitRepositories, syncsUsing)
    .watches<SyncObject>(syncs, dependents)
    .named('sync')
    .withOptions(queueOptions)
    .complete((ctx, req) =>
      reconcileSync(
        { client, syncs: syncCache, sources, dataDir, kubectl: options.kubectl ?? 'kubectl', recorder },
        ctx,
        req,
      ),
    );

  let receiver: WebhookReceiver | undefined;
  if (options.receiver !== undefined) {
    receiver = new WebhookReceiver(client, sources, mgr.log, options.receiver);
    await mgr.add(receiver);
  }
  return { gitRepository, sync, receiver, dataDir };
}
