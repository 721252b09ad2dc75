// Kubernetes' object metadata and common API shapes (metav1), hand-written to match the wire format.

/** A value that is either an integer or a string, as Kubernetes' `IntOrString` (ports, `25%`, quantities). */
export type IntOrString = number | string;

/** A Kubernetes quantity on the wire: `128Mi`, `500m`, `1.5G`, or a plain number. See quantity.ts. */
export type Quantity = number | string;

/** RFC 3339 UTC timestamp, e.g. `2026-11-24T02:05:04Z`. */
export type Time = string;

/** metav1.OwnerReference: points at the object that owns this one (garbage collection, controllers). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** If true, this reference points to the managing controller. At most one per object. */
  controller?: boolean;
  /** If true, foreground deletion of the owner waits for this object to be deleted. */
  blockOwnerDeletion?: boolean;
}

/** metav1.ManagedFieldsEntry: which manager owns which fields (server-side apply). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: Time;
  fieldsType?: 'FieldsV1';
  /** The owned fields as a FieldsV1 trie (`f:spec`, `k:{"name":"x"}`, `v:value`, `.`). */
  fieldsV1?: FieldsV1;
  subresource?: string;
}

/** A FieldsV1 trie: keys are `f:<field>`, `k:<json key>`, `v:<json value>`, `i:<index>` or `.`. */
export interface FieldsV1 {
  [key: string]: FieldsV1;
}

/** metav1.ObjectMeta: metadata every persisted object has. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: Time;
  deletionTimestamp?: Time;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  /** Never set by berth; kept so round-tripped objects from other tools are accepted. */
  selfLink?: string;
}

/** metav1.ListMeta: metadata of a list response. */
export interface ListMeta {
  resourceVersion?: string;
  /** Opaque token to fetch the next page; empty when no more items remain. */
  continue?: string;
  remainingItemCount?: number;
  selfLink?: string;
}

/** A typed list of objects, as `ContainerList` on the wire. */
export interface ObjectList<T> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/** The smallest shape every Kubernetes object has. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** metav1.StatusCause: one cause of a failure, often a field path. */
export interface StatusCause {
  /** A machine-readable reason, e.g. `FieldValueRequired`, `FieldManagerConflict`. */
  reason?: string;
  message?: string;
  /** The field path, e.g. `spec.image` or `metadata.labels[app]`. */
  field?: string;
}

/** metav1.StatusDetails: what the failure is about. */
export interface StatusDetails {
  name?: string;
  group?: string;
  /** The plural resource for NotFound/AlreadyExists/Conflict, the Kind for Invalid. */
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The reasons Kubernetes puts in a Status (metav1.StatusReason); open-ended on the wire. */
export type StatusReason =
  | ''
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'ServerTimeout'
  | 'StoreReadError'
  | 'Timeout'
  | 'TooManyRequests'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable'
  /** A remote command (exec/attach) ended with a non-zero exit code. */
  | 'NonZeroExitCode';

/** metav1.Status: the body of every failed (and some successful) API answers. */
export interface Status {
  apiVersion: 'v1';
  kind: 'Status';
  metadata: ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  /** HTTP status code; absent on a Success sent on an exec/attach error channel. */
  code?: number;
}

/** The status of a condition, as Kubernetes spells it. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition: one aspect of an object's observed state (`Ready`, `Scheduled`, …). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime?: Time;
  reason?: string;
  message?: string;
}

/** metav1.LabelSelectorRequirement. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** metav1.LabelSelector: matchLabels and matchExpressions, ANDed. An empty selector matches everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}
