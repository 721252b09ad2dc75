// Field ownership on writes: managedFields for every update, server-side apply, and strategic merge for
// built-in kinds. The handlers depend on this interface; the merge engine lives beside it and in ../patch.

import type { ObjectStore, ObjectScope, Subresource, FieldValidation } from '../objects/object-store.js';
import type { UserInfo } from '../authentication/authenticator.js';
import type { KubeObject } from '../objects/object.js';
import type { Resource } from '../registry/resource.js';
import type { Reply } from '../request-chain/reply.js';

export interface ApplyOptions {
  readonly manager: string;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  /** Who applies, for admission. */
  readonly user?: UserInfo;
}

export interface FieldOwnership {
  /** Records the fields a non-apply write changed under `manager` (operation Update) in `after`'s managedFields. */
  recordUpdate(
    resource: Resource,
    before: KubeObject | undefined,
    after: KubeObject,
    manager: string,
    part: Subresource,
  ): void;
  /** Server-side apply of `config` to the named object (created when absent). */
  apply(
    objects: ObjectStore,
    scope: ObjectScope,
    name: string,
    part: Subresource,
    config: KubeObject,
    options: ApplyOptions,
  ): Promise<Reply>;
  /** Strategic merge patch of a built-in kind. */
  strategicMerge(resource: Resource, current: KubeObject, patch: unknown): unknown;
}
