// A kind's behaviour beyond its schema, as small optional hooks the generic object store calls (Kubernetes'
// RESTCreateStrategy / RESTUpdateStrategy idea). A kind with no special behaviour uses `defaultStrategy`.

import type { FieldError } from '@berth/api';
import type { KubeObject } from '../objects/object.js';

export interface Strategy {
  /** Fill server-owned fields on create (after defaulting, before validation). */
  prepareForCreate?(obj: KubeObject): void;
  /** Adjust `next` from `prev` on update (e.g. keep immutable server fields). */
  prepareForUpdate?(next: KubeObject, prev: KubeObject): void;
  /** Kind-specific checks beyond the schema, on create and update. */
  validate?(obj: KubeObject): FieldError[];
  /** Checks that compare with the previous object (immutability). */
  validateUpdate?(next: KubeObject, prev: KubeObject): FieldError[];
  /** Rewrite into canonical form before storing (e.g. Secret stringData into data). */
  canonicalize?(obj: KubeObject): void;
  /** Values of selectable fields beyond metadata.name/namespace, for field selectors. */
  fieldsOf?(obj: KubeObject): Record<string, string>;
  /** Finalizers still holding a terminating object (default: metadata.finalizers). */
  pendingFinalizers?(obj: KubeObject): string[];
  /** Marks an object as terminating when a delete finds finalizers (e.g. a Namespace's phase). */
  onTerminating?(obj: KubeObject): void;
  /** Whether create keeps the `status` it is given although the kind has a status subresource (Node). */
  readonly statusOnCreate?: boolean;
  /** Whether DELETE answers with the object (Namespace) instead of a Success Status. */
  readonly returnsDeletedObject?: boolean;
  /** Names no client may delete (Kubernetes' immortal namespaces): a 403 before anything is read. */
  readonly undeletable?: ReadonlySet<string>;
  /** Whether the collection serves `deletecollection` (Kubernetes serves none on namespaces). @default true */
  readonly deleteCollection?: boolean;
}

/** Finalizers that keep a terminating object alive under its kind's rules. */
export const pendingFinalizers = (strategy: Strategy, obj: KubeObject): string[] =>
  strategy.pendingFinalizers?.(obj) ?? obj.metadata.finalizers ?? [];

export const defaultStrategy: Strategy = {};
