// apiextensions.k8s.io/v1 CustomResourceDefinition as TypeScript types: berth's kinds and users' CRDs share them.
import type { Condition, ObjectMeta } from './meta.js';

/** An OpenAPI v3 schema as a CRD holds it (apiextensions JSONSchemaProps), with Kubernetes' extensions. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  title?: string;
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  example?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: {
    rule: string;
    message?: string;
    messageExpression?: string;
    reason?: string;
    fieldPath?: string;
  }[];
  /** Strategic merge patch semantics of built-in kinds (merge, replace, retainKeys), as Kubernetes publishes them. */
  'x-kubernetes-patch-strategy'?: string;
  /** The key list items are merged by under strategic merge patch. */
  'x-kubernetes-patch-merge-key'?: string;
  /** Published on OpenAPI documents (not in CRDs): which kinds a schema describes. */
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  $ref?: string;
}

/** One extra column of `kubectl get` output, read from each object by a JSONPath. */
export interface CustomResourceColumnDefinition {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  format?: string;
  description?: string;
  /** 0 = shown by default; greater = only with `-o wide`. */
  priority?: number;
  /** A simple JSONPath relative to the object, e.g. `.status.ips[0].ip`. */
  jsonPath: string;
}

/** The scale subresource's mapping onto the object. */
export interface CustomResourceSubresourceScale {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface CustomResourceSubresources {
  status?: Record<string, never>;
  scale?: CustomResourceSubresourceScale;
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: CustomResourceSubresources;
  additionalPrinterColumns?: CustomResourceColumnDefinition[];
  /** Fields (besides metadata.name and metadata.namespace) usable in field selectors. */
  selectableFields?: { jsonPath: string }[];
}

export interface CustomResourceDefinitionNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CustomResourceDefinitionSpec {
  group: string;
  names: CustomResourceDefinitionNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CustomResourceDefinitionVersion[];
  conversion?: { strategy: 'None' | 'Webhook'; webhook?: unknown };
  preserveUnknownFields?: boolean;
}

export interface CustomResourceDefinitionStatus {
  conditions?: (Condition & {
    type:
      | 'Established'
      | 'NamesAccepted'
      | 'NonStructuralSchema'
      | 'Terminating'
      | 'KubernetesAPIApprovalPolicyConformant'
      | string;
  })[];
  acceptedNames?: CustomResourceDefinitionNames;
  storedVersions?: string[];
}

/** apiextensions.k8s.io/v1 CustomResourceDefinition. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: ObjectMeta;
  spec: CustomResourceDefinitionSpec;
  status?: CustomResourceDefinitionStatus;
}
