// Turns a GitRepository's spec.ref into what to fetch and how to name the revision, Flux's way: a commit wins,
// then a semver range (the highest matching tag of the remote), then a tag, then a branch (default main).
// Revisions read `<branch or tag>@sha1:<commit>`, or `sha1:<commit>` for a bare commit.
import type { GitRepositoryRef } from '@berth/api';
import semver from 'semver';
import { GitOpsError } from '../errors.js';
import { remoteTags, type GitOptions } from './git.js';

export interface ResolvedRef {
  /** What `git fetch` is given: a full ref name, or a commit. */
  readonly fetch: string;
  /** The name before `@sha1:` in the revision ('' for a bare commit). */
  readonly name: string;
  /** When the ref pins a commit, the commit the fetch must produce. */
  readonly commit?: string;
}

/** Checks what can be checked without the network (a bad range is a spec error, not a fetch failure). */
export function checkRef(ref: GitRepositoryRef | undefined): void {
  if (ref?.semver !== undefined && semver.validRange(ref.semver) === null)
    throw new GitOpsError(
      'BERTH_GITOPS_INVALID_SPEC',
      `spec.ref.semver: ${JSON.stringify(ref.semver)} is not a semver range`,
    );
}

export async function resolveRef(
  url: string,
  ref: GitRepositoryRef | undefined,
  options: GitOptions,
): Promise<ResolvedRef> {
  checkRef(ref);
  if (ref?.commit !== undefined) {
    // With a branch the commit is fetched from it (servers that refuse fetching by SHA-1 still serve it).
    if (ref.branch !== undefined) return { fetch: ref.commit, name: ref.branch, commit: ref.commit };
    return { fetch: ref.commit, name: '', commit: ref.commit };
  }
  if (ref?.semver !== undefined) {
    const tags = await remoteTags(url, options);
    const byVersion = new Map<string, string>();
    for (const tag of tags.keys()) {
      const v = semver.clean(tag);
      if (v !== null && !byVersion.has(v)) byVersion.set(v, tag);
    }
    const best = semver.maxSatisfying([...byVersion.keys()], ref.semver);
    if (best === null)
      throw new GitOpsError(
        'BERTH_GITOPS_FETCH',
        `no tag of ${url} matches the semver range ${JSON.stringify(ref.semver)}`,
      );
    const tag = byVersion.get(best)!;
    return { fetch: `refs/tags/${tag}`, name: tag };
  }
  if (ref?.tag !== undefined) return { fetch: `refs/tags/${ref.tag}`, name: ref.tag };
  const branch = ref?.branch ?? 'main';
  return { fetch: `refs/heads/${branch}`, name: branch };
}

/** `main@sha1:<commit>`, or `sha1:<commit>` for a bare commit. */
export function revisionOf(ref: ResolvedRef, commit: string): string {
  return ref.name === '' ? `sha1:${commit}` : `${ref.name}@sha1:${commit}`;
}
