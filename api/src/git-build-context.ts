// A build context from git, as both sides of a build read it: the image build controller fetches it and uploads it
// as a ConfigMap of this name, and the node's agent builds from that ConfigMap. A git URL is docker's
// `URL#ref:subdir` (the ref a branch, a tag or a commit; the subdir a directory of the repository).
import type { ImageBuild } from './generated/index.js';

export interface GitContextUrl {
  readonly url: string;
  /** What to fetch; undefined: the remote's HEAD. */
  readonly ref: string | undefined;
  /** A directory of the repository; '' for its root. */
  readonly subdir: string;
}

const gitUrl = /^(file|git|https?|ssh):\/\//;

/** Whether `context` is a git URL (else it is a directory on the node). */
export function isGitUrl(context: string | undefined): boolean {
  return context !== undefined && gitUrl.test(context);
}

/** `file:///srv/app.git#v1:web` → url, ref `v1`, subdir `web`. */
export function parseGitContextUrl(context: string): GitContextUrl {
  const hash = context.indexOf('#');
  if (hash < 0) return { url: context, ref: undefined, subdir: '' };
  const fragment = context.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1).replace(/^\/+|\/+$/g, '');
  return { url: context.slice(0, hash), ref: ref === '' ? undefined : ref, subdir };
}

/** Whether the build's context comes from git (a URL or a GitRepository). */
export function hasGitContext(build: ImageBuild | undefined): boolean {
  return build !== undefined && (build.contextGitRepository !== undefined || isGitUrl(build.context));
}

/** The ConfigMap the fetched context of the Image's `generation` is uploaded to (≤ 253 characters). */
export function gitContextConfigMapName(imageName: string, generation: number): string {
  return `${imageName.slice(0, 220)}-git-context-${generation}`;
}

/** The label naming the Image a context ConfigMap belongs to (as `berth build` labels its uploads). */
export const buildContextLabel = 'berth.dev/build-context-of';
