// The GitRepository reconciler: every interval (or on a spec change, a reconcile request, a missing artifact) it
// fetches the ref into the source's own bare clone, builds the artifact of the commit and records it in status as
// `<ref>@sha1:<commit>`. A failure keeps the last artifact (Syncs go on applying it) and says why in conditions.
import { stat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatTime, type Artifact, type GitRepositoryStatus } from '@berth/api';
import type {
  ApiClient,
  EventRecorder,
  ReconcileContext,
  Request,
  Result,
  SharedInformer,
} from '@berth/controller-runtime';
import { writeStatus } from '../conditions.js';
import { parseDuration } from '../duration.js';
import { GitOpsError, messageOf } from '../errors.js';
import { gitRepositories, type GitRepositoryObject } from '../kinds.js';
import { hasPendingRequest, requestedAt } from '../reconcile-request.js';
import { buildArtifact, pruneArtifacts } from './artifact.js';
import { readAuth } from './credentials.js';
import { ensureClone, fetchCommit, lastFetchTime } from './git.js';
import { checkRef, resolveRef, revisionOf } from './ref.js';

export interface SourceReconcilerDeps {
  readonly client: ApiClient;
  readonly cache: SharedInformer<GitRepositoryObject>;
  readonly dataDir: string;
  readonly maxArtifactBytes: number;
  /** Events on transitions only (a new artifact, a new failure), so a quiet interval writes nothing. */
  readonly recorder: EventRecorder;
}

/** Where a source's clone and artifacts live under the data dir. */
export function sourceDirs(namespace: string, name: string): { clone: string; artifacts: string } {
  return { clone: join('repositories', namespace, name), artifacts: join('artifacts', namespace, name) };
}

export async function reconcileGitRepository(
  deps: SourceReconcilerDeps,
  ctx: ReconcileContext,
  req: Request,
): Promise<Result | void> {
  const namespace = req.namespace ?? '';
  const dirs = sourceDirs(namespace, req.name);
  const clone = join(deps.dataDir, dirs.clone);
  const repo = deps.cache.get(namespace, req.name);
  if (repo === undefined) {
    // Deleted: its clone and artifacts go too (a Sync still pointing at it reports the source missing).
    await rm(clone, { recursive: true, force: true });
    await rm(join(deps.dataDir, dirs.artifacts), { recursive: true, force: true });
    return;
  }
  const spec = repo.spec;
  if (spec === undefined || spec.suspend === true) return;
  const generation = repo.metadata?.generation ?? 1;
  const status: GitRepositoryStatus = repo.status ?? {};

  let intervalMs: number;
  let timeoutMs: number;
  try {
    intervalMs = parseDuration(spec.interval ?? '1m', 'spec.interval');
    timeoutMs = parseDuration(spec.timeout ?? '60s', 'spec.timeout');
    checkRef(spec.ref);
  } catch (err) {
    // Retrying cannot fix a spec: Stalled until the spec changes (which enqueues it again).
    await writeStatus(deps.client, gitRepositories, repo, status, {
      set: [
        { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: messageOf(err) },
        { type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: messageOf(err) },
      ],
      remove: ['Reconciling'],
    });
    return;
  }

  const artifactOnDisk =
    status.artifact?.path !== undefined &&
    (await stat(join(deps.dataDir, status.artifact.path)).then(
      () => true,
      () => false,
    ));
  const fetchedAt = await lastFetchTime(clone);
  const sinceFetch = fetchedAt === undefined ? Number.POSITIVE_INFINITY : Date.now() - fetchedAt;
  const due =
    status.observedGeneration !== generation ||
    hasPendingRequest(repo, status.lastHandledReconcileAt) ||
    !artifactOnDisk ||
    sinceFetch >= intervalMs ||
    status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True';
  // Not due: this pass was caused by a status write (ours or another's); wait for the rest of the interval.
  if (!due) return { requeueAfterMs: Math.max(1, intervalMs - sinceFetch) };

  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
  const handled = requestedAt(repo);
  try {
    const auth = await readAuth(deps.client, namespace, spec.secretRef?.name, signal);
    await ensureClone(clone, signal);
    const ref = await resolveRef(spec.url, spec.ref, { auth, signal });
    const commit = await fetchCommit(clone, spec.url, ref.fetch, { auth, signal });
    if (ref.commit !== undefined && commit !== ref.commit)
      throw new GitOpsError('BERTH_GITOPS_FETCH', `fetched ${commit}, not the commit ${ref.commit} spec.ref asks for`);
    const revision = revisionOf(ref, commit);
    let artifact: Artifact;
    if (status.artifact?.revision === revision && artifactOnDisk && status.observedGeneration === generation) {
      artifact = status.artifact;
    } else {
      const built = await buildArtifact({
        dataDir: deps.dataDir,
        artifactsDir: dirs.artifacts,
        clone,
        commit,
        ignore: spec.ignore,
        maxBytes: deps.maxArtifactBytes,
        signal,
      });
      const same = status.artifact?.digest === built.digest && status.artifact.revision === revision;
      artifact = {
        revision,
        digest: built.digest,
        path: built.path,
        size: built.size,
        lastUpdateTime:
          same && status.artifact?.lastUpdateTime ? status.artifact.lastUpdateTime : formatTime(new Date()),
      };
      // The previous artifact stays one more round: a Sync may be reading it right now.
      await pruneArtifacts(deps.dataDir, dirs.artifacts, [artifact.path ?? '', status.artifact?.path ?? '']);
    }
    const message = `stored artifact for revision '${revision}'`;
    await writeStatus(
      deps.client,
      gitRepositories,
      repo,
      { ...status, artifact, observedGeneration: generation, ...(handled ? { lastHandledReconcileAt: handled } : {}) },
      {
        set: [
          { type: 'Ready', status: 'True', reason: 'Succeeded', message },
          { type: 'ArtifactInStorage', status: 'True', reason: 'Succeeded', message },
        ],
        remove: ['Reconciling', 'Stalled', 'FetchFailed'],
      },
    );
    if (status.artifact?.revision !== revision) {
      deps.recorder.event(involved(repo), 'Normal', 'NewArtifact', message);
      ctx.log.info('fetched', { namespace, name: req.name, revision });
    }
    return { requeueAfterMs: intervalMs };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const reason =
      GitOpsError.isInstance(err) && err.code === 'BERTH_GITOPS_AUTH'
        ? 'AuthenticationFailed'
        : GitOpsError.isInstance(err) && err.code === 'BERTH_GITOPS_ARTIFACT'
          ? 'ArtifactFailed'
          : 'GitOperationFailed';
    const message = messageOf(err);
    const changed = await writeStatus(
      deps.client,
      gitRepositories,
      repo,
      { ...status, observedGeneration: generation, ...(handled ? { lastHandledReconcileAt: handled } : {}) },
      {
        set: [
          { type: 'Ready', status: 'False', reason, message },
          { type: 'FetchFailed', status: 'True', reason, message },
          { type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: `retrying: ${message}` },
        ],
        remove: ['Stalled'],
      },
    );
    if (changed) deps.recorder.event(involved(repo), 'Warning', reason, message);
    // Thrown, so the queue retries with its back-off (not at the next interval).
    throw new GitOpsError('BERTH_GITOPS_FETCH', `${namespace}/${req.name}: ${message}`, { cause: err });
  }
}

/** The object as an Event's involvedObject (informer items may lack apiVersion and kind). */
export function involved(repo: GitRepositoryObject): GitRepositoryObject {
  return { ...repo, apiVersion: 'berth.dev/v1alpha1', kind: 'GitRepository' };
}
