// The gitops controller's own failures: a fetch, an artifact, a build, an apply or a health check that did not
// succeed. The Stalled/Ready conditions carry the same message; the code says which step failed.
import { BerthError } from '@berth/api';

export type GitOpsErrorCode =
  | 'BERTH_GITOPS_INVALID_SPEC'
  | 'BERTH_GITOPS_FETCH'
  | 'BERTH_GITOPS_AUTH'
  | 'BERTH_GITOPS_ARTIFACT'
  | 'BERTH_GITOPS_BUILD'
  | 'BERTH_GITOPS_VALIDATION'
  | 'BERTH_GITOPS_APPLY'
  | 'BERTH_GITOPS_PRUNE'
  | 'BERTH_GITOPS_HEALTH';

export class GitOpsError extends BerthError<GitOpsErrorCode> {}

/** Messages of thrown values, for conditions (a status message says what went wrong, never `[object Object]`). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
