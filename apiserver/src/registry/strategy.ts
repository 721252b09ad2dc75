// A kind's behaviour beyond its schema, as small optional hooks the generic object store calls (Kubernetes'
// RESTCreateStrategy / RESTUpdateStrategy idea). A kind with no special behaviour uses `defaultStrategy`; the
// main resource and /status each wrap the kind's hooks in their own strategy (status-strategy.ts).

import type { FieldError } from '@berth/api';
import type { KubeObject } from '../objects/object.js';

/**
 * The top-level fields a write through a strategy may not change: they are reset to the stored object's, and
 * server-side apply neither tracks nor lets the writer own them (Kubernetes' GetResetFields). Either `fields`
 * are reset, or every field `allBut` the listed ones is.
 */
export type ResetFields = { readonly fields: readonly string[] } | { readonly allBut: readonly string[] };

export interface Strategy {
  /** Fill server-owned fields on create (after defaulting, before validation). */
  prepareForCreate?(obj: KubeObject): void;
  /** Adjust `next` from `prev` on update (e.g. keep immutable server fields). */
  prepareForUpdate?(next: KubeObject, prev: KubeObject): void;
  /** What is wrong with a name, when the kind's names are not DNS subdomains (RBAC's are path segments). */
  validateName?(name: string): string[];
  /** Kind-specific checks beyond the schema, on create and update: every problem at once. */
  validate?(obj: KubeObject): FieldError[];
  /** Checks that compare with the previous object (immutability). */
  validateUpdate?(next: KubeObject, prev: KubeObject): FieldError[];
  /** Warnings for a valid create (deprecated fields, odd values): sent to the client, never refusing the write. */
  warningsOnCreate?(obj: KubeObject): string[];
  /** Warnings for a valid update. */
  warningsOnUpdate?(next: KubeObject, prev: KubeObject): string[];
  /** Rewrite into canonical form before storing (e.g. Secret stringData into data). */
  canonicalize?(obj: KubeObject): void;
  /** What a write through this strategy may not change (see ResetFields). @default nothing */
  getResetFields?(): ResetFields | undefined;
  /** Values of selectable fields beyond metadata.name/namespace, for field selectors. */
  fieldsOf?(obj: KubeObject): Record<string, string>;
  /** Finalizers still holding a terminating object (default: metadata.finalizers). */
  pendingFinalizers?(obj: KubeObject): string[];
  /**
   * Graceful deletion (Kubernetes' CheckGracefulDelete): the grace period a delete gives the object, from the one
   * the client asked for (DeleteOptions.gracePeriodSeconds). Absent: the kind is deleted without grace.
   */
  gracePeriodOnDelete?(obj: KubeObject, requested: number | undefined): number;
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
  /** The kind is a question (an access review): served for create only, answered by the server, never stored. */
  readonly createOnly?: boolean;
  /** The kind's finalize subresource (Namespace's PUT …/finalize): the strategy of a write through it. */
  readonly finalize?: Strategy;
  /** The kind's binding subresource (a Container's POST …/binding, as pods/binding): the strategy of the bind. */
  readonly binding?: Strategy;
}

/** Finalizers that keep a terminating object alive under its kind's rules. */
export const pendingFinalizers = (strategy: Strategy, obj: KubeObject): string[] =>
  strategy.pendingFinalizers?.(obj) ?? obj.metadata.finalizers ?? [];

export const defaultStrategy: Strategy = {};
