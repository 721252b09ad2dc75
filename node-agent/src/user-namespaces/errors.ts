// Errors of user namespaces (hostUsers: false): no id range left, or an idmapped mount the kernel refused.
import { BerthError } from '@berth/api';

export type UserNamespaceErrorCode = 'NO_FREE_RANGE' | 'IDMAP_UNSUPPORTED' | 'IDMAP_FAILED' | 'USERNS_FAILED';

/** `UserNamespaceError.isInstance` (or instanceof) holds across package copies (BerthError's brand). */
export class UserNamespaceError extends BerthError<UserNamespaceErrorCode> {}
