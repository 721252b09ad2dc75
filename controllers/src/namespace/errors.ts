// The namespace controller's own failure: a pass that could not discover or delete all of a namespace's content
// (retried with the queue's back-off; the details are also in the Namespace's status conditions).
import { BerthError } from '@berth/api';

export class NamespaceDeletionError extends BerthError<'BERTH_NAMESPACE_DELETION'> {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('BERTH_NAMESPACE_DELETION', message, options);
  }
}
