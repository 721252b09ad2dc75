// Failures of turning a Container into a container, each coded with the Kubernetes reason its status shows.
import { BerthError } from '@berth/api';

export type AgentErrorCode =
  /** The spec cannot be turned into a runtime config: a missing ConfigMap/Secret key, an unknown user, a bad quantity. */
  | 'CreateContainerConfigError'
  /** The runtime refused the container: the command does not exist, impossible limits. */
  | 'CreateContainerError'
  /** The image could not be pulled. */
  | 'ErrImagePull'
  /** imagePullPolicy Never and the image is not on this node. */
  | 'ErrImageNeverPull';

/** `code` is the reason status shows; `AgentError.isInstance` holds across copies of the package (BerthError's brand). */
export class AgentError extends BerthError<AgentErrorCode> {}

/**
 * A reconcile that wrote its failure to status and wants the queue's back-off before the next try (a failed pull or
 * create). Thrown so the workqueue's per-key back-off is the one timer; its cause is the AgentError.
 */
export class BackOffError extends BerthError<'BackOff'> {
  constructor(message: string, cause: unknown) {
    super('BackOff', message, { cause });
  }
}
