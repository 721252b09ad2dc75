// The git contexts of builds: an Image whose spec.build names a git URL (`URL#ref:subdir`) or a GitRepository (the
// gitops source kind: its URL, ref and credentials) has its context fetched here with the gitops controller's git
// code (a bare clone kept per Image, shallow fetches), packed by `git archive` and uploaded as the ConfigMap the
// node's agent builds from, as `berth build` uploads a directory. One ConfigMap per generation, owned by the Image.
import { join } from 'node:path';
import {
  buildContextLabel,
  type GitRepository,
  gitContextConfigMapName,
  type Image,
  isGitUrl,
  parseGitContextUrl,
} from '@berth/api';
import { resources, isAlreadyExists, isNotFound, type Manager } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { GitOpsError } from '../gitops/errors.js';
import { gitRepositories } from '../gitops/kinds.js';
import { readAuth } from '../gitops/source/credentials.js';
import { archiveTree, ensureClone, fetchCommit, type GitAuth } from '../gitops/source/git.js';
import { resolveRef } from '../gitops/source/ref.js';

const { configMaps } = resources;

/** What fits in one ConfigMap under the API server's 3 MiB request limit, after base64 (as `berth build` checks). */
const maxContextBytes = 2 * 1024 * 1024;

export type GitContext =
  | { readonly kind: 'ready'; readonly configMap: string; readonly revision: string; readonly created: boolean }
  | { readonly kind: 'failed'; readonly message: string };

interface Source {
  readonly url: string;
  readonly fetch: string;
  readonly subdir: string;
  readonly auth: GitAuth | undefined;
  readonly what: string;
}

async function sourceOf(mgr: Manager, image: Image, signal: AbortSignal): Promise<Source> {
  const build = image.spec.build ?? {};
  const namespace = image.metadata.namespace ?? '';
  if (build.contextGitRepository !== undefined) {
    const name = build.contextGitRepository.name;
    let repo: GitRepository;
    try {
      repo = await mgr.client.get<GitRepository & KubernetesObject>(gitRepositories, namespace, name, signal);
    } catch (err) {
      if (isNotFound(err)) throw new GitOpsError('BERTH_GITOPS_FETCH', `GitRepository ${namespace}/${name} not found`);
      throw err;
    }
    const spec = repo.spec;
    if (spec === undefined)
      throw new GitOpsError('BERTH_GITOPS_FETCH', `GitRepository ${namespace}/${name} has no spec`);
    const auth = await readAuth(mgr.client, namespace, spec.secretRef?.name, signal);
    const ref = await resolveRef(spec.url, spec.ref, { auth, signal });
    return {
      url: spec.url,
      fetch: ref.fetch,
      subdir: (build.contextGitRepository.path ?? '').replace(/^\/+|\/+$/g, ''),
      auth,
      what: `GitRepository ${name} (${spec.url})`,
    };
  }
  const parsed = parseGitContextUrl(build.context ?? '');
  return { url: parsed.url, fetch: parsed.ref ?? 'HEAD', subdir: parsed.subdir, auth: undefined, what: parsed.url };
}

/** Whether the Image's build context is fetched from git here. */
export const fetchesGit = (image: Image): boolean =>
  image.spec.build?.contextGitRepository !== undefined || isGitUrl(image.spec.build?.context);

/**
 * Makes the ConfigMap of the Image's generation if it is not there: fetches, packs and uploads the context, and
 * drops the ConfigMaps of earlier generations. A fetch that fails is the build's failure, said in its words.
 */
export async function ensureGitContext(
  mgr: Manager,
  image: Image,
  dataDir: string,
  signal: AbortSignal,
): Promise<GitContext> {
  const namespace = image.metadata.namespace ?? '';
  const imageName = image.metadata.name ?? '';
  const generation = image.metadata.generation ?? 0;
  const configMap = gitContextConfigMapName(imageName, generation);
  try {
    const existing = await mgr.client.get<KubernetesObject>(configMaps, namespace, configMap, signal);
    const revision = existing.metadata?.annotations?.['berth.dev/git-revision'] ?? '';
    return { kind: 'ready', configMap, revision, created: false };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  let bytes: Buffer;
  let revision: string;
  try {
    const source = await sourceOf(mgr, image, signal);
    const clone = join(dataDir, namespace, imageName);
    await ensureClone(clone, signal);
    const commit = await fetchCommit(clone, source.url, source.fetch, { auth: source.auth, signal });
    revision = `${source.what}@sha1:${commit}`;
    bytes = await archiveTree(
      clone,
      source.subdir === '' ? commit : `${commit}:${source.subdir}`,
      maxContextBytes,
      signal,
    );
  } catch (err) {
    if (signal.aborted || !GitOpsError.isInstance(err)) throw err;
    return { kind: 'failed', message: `the git context could not be fetched: ${err.message}` };
  }
  const labels = imageName.length <= 63 ? { [buildContextLabel]: imageName } : undefined;
  const made = await mgr.client
    .create(
      configMaps,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: configMap,
          namespace,
          ...(labels !== undefined ? { labels } : {}),
          annotations: { 'berth.dev/git-revision': revision },
          ownerReferences: [
            { apiVersion: 'berth.dev/v1alpha1', kind: 'Image', name: imageName, uid: image.metadata.uid ?? '' },
          ],
        },
        binaryData: { 'context.tar.gz': bytes.toString('base64') },
      } as KubernetesObject,
      signal,
    )
    .then(
      () => true,
      (err: unknown) => {
        // Another reconcile of this generation uploaded it first.
        if (isAlreadyExists(err)) return false;
        throw err;
      },
    );
  if (labels !== undefined) {
    const older = await mgr.client.list<KubernetesObject>(
      configMaps,
      { namespace, labelSelector: `${buildContextLabel}=${imageName}` },
      signal,
    );
    for (const c of older.items) {
      const name = c.metadata?.name ?? '';
      if (name !== configMap && name.startsWith(`${imageName.slice(0, 220)}-git-context-`))
        await mgr.client.delete(configMaps, namespace, name, { signal }).catch(() => undefined);
    }
  }
  return { kind: 'ready', configMap, revision, created: made };
}
