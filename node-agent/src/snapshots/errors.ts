// Errors of the overlay snapshotter, with stable codes a Container's status can carry.

const brand = Symbol.for('berth.node-agent.SnapshotError');

export type SnapshotErrorCode = 'INVALID_SNAPSHOT_ID' | 'TOO_MANY_LAYERS' | 'MOUNT_FAILED' | 'UNMOUNT_FAILED';

export class SnapshotError extends Error {
  readonly [brand] = true;
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SnapshotError';
  }
  static isInstance(value: unknown): value is SnapshotError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}
