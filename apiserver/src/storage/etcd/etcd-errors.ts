// The etcd backend's own errors: a request etcd could not carry out, and a URL or TLS option that is wrong.

import { BerthError } from '@berth/api';

/** etcd did not answer a request, or refused it; etcd's own error is in `cause`. */
export class EtcdRequestError extends BerthError<'BERTH_ETCD_REQUEST_FAILED'> {
  constructor(what: string, cause: unknown) {
    super('BERTH_ETCD_REQUEST_FAILED', `etcd ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** etcd answers "mvcc: required revision has been compacted" (a range or compaction below the mark). */
export function isCompactedResponse(e: unknown): boolean {
  return e instanceof Error && e.message.includes('required revision has been compacted');
}

/** etcd answers "mvcc: required revision is a future revision". */
export function isFutureRevisionResponse(e: unknown): boolean {
  return e instanceof Error && e.message.includes('required revision is a future revision');
}
