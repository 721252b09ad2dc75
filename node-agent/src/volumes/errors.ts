// Failures of the volumes subsystem, each with a stable code; the Container reconciler words them for users.
import { BerthError } from '@berth/api';

export type VolumeErrorCode =
  /** A subPath that is absolute, has a ".." component, or resolves (through a symlink) outside its volume. */
  | 'SubPathEscape'
  /** A subPath component that exists but cannot be entered or made (a file where a directory is needed). */
  | 'SubPathInvalid'
  /** A hostPath outside the directories the node allows (none by default). */
  | 'HostPathNotAllowed'
  /** A hostPath missing, or not of its `type`. */
  | 'HostPathInvalid'
  /** A host operation (mount, umount) failed. */
  | 'MountFailed';

export class VolumeError extends BerthError<VolumeErrorCode> {}
