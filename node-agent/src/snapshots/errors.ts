// Errors of the overlay snapshotter, with stable codes a Container's status can carry.
import { BerthError } from '@berth/api';

export type SnapshotErrorCode = 'INVALID_SNAPSHOT_ID' | 'TOO_MANY_LAYERS' | 'MOUNT_FAILED' | 'UNMOUNT_FAILED';

/** `SnapshotError.isInstance` (or instanceof) holds across package copies (BerthError's brand). */
export class SnapshotError extends BerthError<SnapshotErrorCode> {}
