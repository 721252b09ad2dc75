// The Kubernetes kinds berth serves itself, written as CustomResourceDefinitions so they flow through the same
// registry, validation, OpenAPI and discovery code as berth's kinds and users' CRDs.

import type { JSONSchemaProps } from '../schema/json-schema.js';
import type { CustomResourceDefinition } from './crd.js';

const str = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
const int = (description: string): JSONSchemaProps => ({ type: 'integer', format: 'int32', description });
const time = (description: string): JSONSchemaProps => ({ type: 'string', format: 'date-time', nullable: true, description });
const stringMap = (description: string): JSONSchemaProps => ({ type: 'object', additionalProperties: { type: 'string' }, description });

const envelope = (kind: string, description: string, properties: Record<string, JSONSchemaProps>): JSONSchemaProps => ({
  type: 'object',
  description,
  properties: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str(`Kind is a string value representing the REST resource this object represents (${kind}).`),
    metadata: { type: 'object', description: "Standard object's metadata." },
    ...properties,
  },
});

const objectReference: JSONSchemaProps = {
  type: 'object',
  description: 'ObjectReference contains enough information to let you inspect or modify the referred object.',
  properties: {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    name: str('Name of the referent.'),
    namespace: str('Namespace of the referent.'),
    uid: str('UID of the referent.'),
    resourceVersion: str('Specific resourceVersion to which this reference is made, if any.'),
    fieldPath: str('If referring to a piece of an object instead of an entire object, the path to it.'),
  },
};

interface Builtin {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  schema: JSONSchemaProps;
  status?: boolean;
  columns?: CustomResourceDefinition['spec']['versions'][number]['additionalPrinterColumns'];
  selectableFields?: string[];
}

const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' } as const;

const builtins: Builtin[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    status: true,
    columns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }, age],
    selectableFields: ['status.phase'],
    schema: envelope('Namespace', 'Namespace provides a scope for Names.', {
      spec: {
        type: 'object',
        description: 'Spec defines the behavior of the Namespace.',
        properties: {
          finalizers: {
            type: 'array',
            items: { type: 'string' },
            'x-kubernetes-list-type': 'atomic',
            description: 'Finalizers is an opaque list of values that must be empty to permanently remove the namespace.',
          },
        },
      },
      status: {
        type: 'object',
        description: 'Status describes the current status of a Namespace.',
        properties: {
          phase: str('Phase is the current lifecycle phase of the namespace.', { enum: ['Active', 'Terminating'] }),
          conditions: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['type'],
            'x-kubernetes-patch-strategy': 'merge',
            'x-kubernetes-patch-merge-key': 'type',
            items: {
              type: 'object',
              required: ['type', 'status'],
              properties: {
                type: str('Type of namespace controller condition.'),
                status: str('Status of the condition, one of True, False, Unknown.'),
                lastTransitionTime: time('Last time the condition transitioned.'),
                reason: str('Unique, one-word, CamelCase reason for the condition.'),
                message: str('Human-readable message.'),
              },
            },
          },
        },
      },
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
    columns: [{ name: 'Data', type: 'integer', jsonPath: '.data' }, age],
    schema: envelope('ConfigMap', 'ConfigMap holds configuration data for pods to consume.', {
      data: stringMap('Data contains the configuration data.'),
      binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' }, description: 'BinaryData contains the binary data.' },
      immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.' },
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    columns: [{ name: 'Type', type: 'string', jsonPath: '.type' }, { name: 'Data', type: 'integer', jsonPath: '.data' }, age],
    selectableFields: ['type'],
    schema: envelope('Secret', 'Secret holds secret data of a certain type.', {
      data: { type: 'object', additionalProperties: { type: 'string', format: 'byte' }, description: 'Data contains the secret data, base64 encoded.' },
      stringData: stringMap('stringData allows specifying non-binary secret data in string form; merged into data on write.'),
      type: str('Used to facilitate programmatic handling of secret data.'),
      immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the Secret cannot be updated.' },
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
    columns: [age],
    schema: envelope('ServiceAccount', 'ServiceAccount binds together a name, a principal and a set of secrets.', {
      secrets: {
        type: 'array',
        items: objectReference,
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'name',
        description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
      },
      imagePullSecrets: {
        type: 'array',
        items: { type: 'object', properties: { name: str('Name of the referent.') } },
        description: 'ImagePullSecrets is a list of references to secrets for pulling images.',
      },
      automountServiceAccountToken: { type: 'boolean', description: 'Whether pods should automount an API token.' },
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    columns: [
      { name: 'Last Seen', type: 'string', jsonPath: '.lastTimestamp' },
      { name: 'Type', type: 'string', jsonPath: '.type' },
      { name: 'Reason', type: 'string', jsonPath: '.reason' },
      { name: 'Object', type: 'string', jsonPath: '.involvedObject.name' },
      { name: 'Message', type: 'string', jsonPath: '.message' },
    ],
    selectableFields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
    schema: envelope('Event', 'Event is a report of an event somewhere in the cluster.', {
      involvedObject: objectReference,
      reason: str('A short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      message: str('A human-readable description of the status of this operation.'),
      source: {
        type: 'object',
        description: 'The component reporting this event.',
        properties: { component: str('Component from which the event is generated.'), host: str('Node name on which the event is generated.') },
      },
      firstTimestamp: time('The time at which the event was first recorded.'),
      lastTimestamp: time('The time at which the most recent occurrence of this event was recorded.'),
      count: int('The number of times this event has occurred.'),
      type: str('Type of this event (Normal, Warning).'),
      eventTime: { type: 'string', format: 'date-time', nullable: true, description: 'Time when this Event was first observed.' },
      series: {
        type: 'object',
        description: 'Data about the Event series this event represents.',
        properties: { count: int('Number of occurrences in this series up to the last heartbeat time.'), lastObservedTime: time('Time of the last occurrence observed.') },
      },
      action: str('What action was taken/failed regarding to the Regarding object.'),
      related: objectReference,
      reportingComponent: str('Name of the controller that emitted this Event.'),
      reportingInstance: str('ID of the controller instance.'),
    }),
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    columns: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, age],
    schema: envelope('Lease', 'Lease defines a lease concept.', {
      spec: {
        type: 'object',
        description: 'spec contains the specification of the Lease.',
        properties: {
          holderIdentity: str('holderIdentity contains the identity of the holder of a current lease.'),
          leaseDurationSeconds: int('leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it.'),
          acquireTime: { type: 'string', format: 'date-time', description: 'acquireTime is a time when the current lease was acquired.' },
          renewTime: { type: 'string', format: 'date-time', description: 'renewTime is a time when the current holder of a lease has last updated the lease.' },
          leaseTransitions: int('leaseTransitions is the number of transitions of a lease between holders.'),
          strategy: str('Strategy indicates the strategy for picking the leader for coordinated leader election.'),
          preferredHolder: str('PreferredHolder signals to a lease holder that the lease has a more optimal holder.'),
        },
      },
    }),
  },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    status: true,
    columns: [{ name: 'Created At', type: 'string', jsonPath: '.metadata.creationTimestamp' }],
    schema: envelope('CustomResourceDefinition', 'CustomResourceDefinition represents a resource that should be exposed on the API server.', {
      spec: {
        type: 'object',
        description: 'spec describes how the user wants the resources to appear.',
        required: ['group', 'names', 'scope', 'versions'],
        properties: {
          group: str('group is the API group of the defined custom resource.'),
          names: {
            type: 'object',
            required: ['plural', 'kind'],
            description: 'names specify the resource and kind names for the custom resource.',
            properties: {
              plural: str('plural is the plural name of the resource to serve.'),
              singular: str('singular is the singular name of the resource.'),
              kind: str('kind is the serialized kind of the resource.'),
              listKind: str('listKind is the serialized kind of the list for this resource.'),
              shortNames: { type: 'array', items: { type: 'string' }, description: 'shortNames are short names for the resource.' },
              categories: { type: 'array', items: { type: 'string' }, description: 'categories is a list of grouped resources this custom resource belongs to.' },
            },
          },
          scope: str('scope indicates whether the defined custom resource is cluster- or namespace-scoped.', { enum: ['Cluster', 'Namespaced'] }),
          versions: {
            type: 'array',
            description: 'versions is the list of all API versions of the defined custom resource.',
            items: { type: 'object', required: ['name', 'served', 'storage'], 'x-kubernetes-preserve-unknown-fields': true, properties: {
              name: str('name is the version name, e.g. "v1".'),
              served: { type: 'boolean', description: 'served is a flag enabling/disabling this version from being served via REST APIs.' },
              storage: { type: 'boolean', description: 'storage indicates this version should be used when persisting custom resources to storage.' },
            } },
          },
          conversion: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'conversion defines conversion settings for the CRD.' },
          preserveUnknownFields: { type: 'boolean', description: 'Deprecated: must be false.' },
        },
      },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'status indicates the actual state of the CustomResourceDefinition.' },
    }),
  },
];

/** The built-in kinds as CRD objects (not stored; the registry adds them at start). */
export function builtinDefinitions(): CustomResourceDefinition[] {
  return builtins.map((b) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: b.group === '' ? `${b.plural}` : `${b.plural}.${b.group}` },
    spec: {
      group: b.group,
      names: {
        plural: b.plural,
        singular: b.singular,
        kind: b.kind,
        listKind: `${b.kind}List`,
        ...(b.shortNames === undefined ? {} : { shortNames: b.shortNames }),
      },
      scope: b.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: b.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: b.schema },
          ...(b.status === true ? { subresources: { status: {} } } : {}),
          ...(b.columns === undefined ? {} : { additionalPrinterColumns: b.columns }),
          ...(b.selectableFields === undefined ? {} : { selectableFields: b.selectableFields.map((f) => ({ jsonPath: `.${f}` })) }),
        },
      ],
    },
  }));
}
