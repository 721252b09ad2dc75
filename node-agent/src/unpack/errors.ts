// Errors of applying a layer tar, with stable codes a Container's status can carry.
import { BerthError } from '@berth/api';

export type UnpackErrorCode = 'LAYER_PATH_ESCAPE' | 'LAYER_INVALID' | 'LAYER_UNSUPPORTED_COMPRESSION';

/** A layer that cannot be applied; `UnpackError.isInstance` (or instanceof) holds across package copies. */
export class UnpackError extends BerthError<UnpackErrorCode> {}
