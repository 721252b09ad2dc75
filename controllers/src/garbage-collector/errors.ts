// The garbage collector's own failure: an owner reference it cannot resolve yet (a kind discovery does not
// serve), retried with the queue's back-off as Kubernetes' collector retries a REST mapping error.
import { BerthError } from '@berth/api';

export class GarbageCollectionError extends BerthError<'BERTH_GARBAGE_COLLECTION'> {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('BERTH_GARBAGE_COLLECTION', message, options);
  }
}
