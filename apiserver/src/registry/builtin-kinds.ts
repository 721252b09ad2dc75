// The Kubernetes kinds berth serves itself, written as CustomResourceDefinitions so they flow through the same
// registry, validation, OpenAPI and discovery code as berth's kinds and users' CRDs.

import type { JSONSchemaProps } from '../schema/json-schema.js';
import type { CustomResourceDefinition } from './crd.js';
import { podBuiltin } from '../pod-view/pod-kind.js';
import { rbacBuiltins } from './rbac-kinds.js';

const str = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: 'string',
  description,
  ...extra,
});
const int = (description: string): JSONSchemaProps => ({ type: 'integer', format: 'int32', description });
const time = (description: string): JSONSchemaProps => ({
  type: 'string',
  format: 'date-time',
  nullable: true,
  description,
});
const stringMap = (description: string): JSONSchemaProps => ({
  type: 'object',
  additionalProperties: { type: 'string' },
  description,
});
const stringList = (description: string): JSONSchemaProps => ({
  type: 'array',
  items: { type: 'string' },
  'x-kubernetes-list-type': 'atomic',
  description,
});
const quantityPattern =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
const resourceList = (description: string): JSONSchemaProps => ({
  type: 'object',
  description,
  additionalProperties: {
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: quantityPattern,
    'x-kubernetes-int-or-string': true,
  },
});

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

export interface Builtin {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  schema: JSONSchemaProps;
  status?: boolean;
  columns?: CustomResourceDefinition['spec']['versions'][number]['additionalPrinterColumns'];
  selectableFields?: string[];
}

const age = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
} as const;

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
    columns: [
      { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'The status of the namespace' },
      age,
    ],
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
            description:
              'Finalizers is an opaque list of values that must be empty to permanently remove the namespace.',
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
    columns: [
      { name: 'Data', type: 'integer', jsonPath: '.data', description: 'Number of entries in data and binaryData.' },
      age,
    ],
    schema: envelope('ConfigMap', 'ConfigMap holds configuration data for pods to consume.', {
      data: stringMap('Data contains the configuration data.'),
      binaryData: {
        type: 'object',
        additionalProperties: { type: 'string', format: 'byte' },
        description: 'BinaryData contains the binary data.',
      },
      immutable: {
        type: 'boolean',
        description: 'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.',
      },
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    columns: [
      {
        name: 'Type',
        type: 'string',
        jsonPath: '.type',
        description: 'Used to facilitate programmatic handling of secret data.',
      },
      { name: 'Data', type: 'integer', jsonPath: '.data', description: 'Number of entries in data.' },
      age,
    ],
    selectableFields: ['type'],
    schema: envelope('Secret', 'Secret holds secret data of a certain type.', {
      data: {
        type: 'object',
        additionalProperties: { type: 'string', format: 'byte' },
        description: 'Data contains the secret data, base64 encoded.',
      },
      stringData: stringMap(
        'stringData allows specifying non-binary secret data in string form; merged into data on write.',
      ),
      type: str('Used to facilitate programmatic handling of secret data.'),
      immutable: {
        type: 'boolean',
        description: 'Immutable, if set to true, ensures that data stored in the Secret cannot be updated.',
      },
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
    columns: [
      {
        name: 'Secrets',
        type: 'integer',
        jsonPath: '.secrets',
        description: 'Number of secrets the service account may use.',
      },
      age,
    ],
    schema: envelope('ServiceAccount', 'ServiceAccount binds together a name, a principal and a set of secrets.', {
      secrets: {
        type: 'array',
        items: objectReference,
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'name',
        description:
          'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
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
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    status: true,
    // NAME, STATUS, ROLES, AGE, VERSION and the wide columns as Kubernetes' node printer; cells computed in table/.
    columns: [
      { name: 'Status', type: 'string', jsonPath: '.status.conditions', description: 'The status of the node' },
      { name: 'Roles', type: 'string', jsonPath: '.metadata.labels', description: 'The roles of the node' },
      age,
      {
        name: 'Version',
        type: 'string',
        jsonPath: '.status.nodeInfo.kubeletVersion',
        description: 'Kubelet Version reported by the node.',
      },
      {
        name: 'Internal-IP',
        type: 'string',
        jsonPath: '.status.addresses',
        priority: 1,
        description: 'List of addresses reachable to the node.',
      },
      {
        name: 'External-IP',
        type: 'string',
        jsonPath: '.status.addresses',
        priority: 1,
        description: 'List of addresses reachable to the node.',
      },
      {
        name: 'OS-Image',
        type: 'string',
        jsonPath: '.status.nodeInfo.osImage',
        priority: 1,
        description: 'OS Image reported by the node from /etc/os-release.',
      },
      {
        name: 'Kernel-Version',
        type: 'string',
        jsonPath: '.status.nodeInfo.kernelVersion',
        priority: 1,
        description: "Kernel Version reported by the node from 'uname -r'.",
      },
      {
        name: 'Container-Runtime',
        type: 'string',
        jsonPath: '.status.nodeInfo.containerRuntimeVersion',
        priority: 1,
        description: 'ContainerRuntime Version reported by the node through runtime remote API.',
      },
    ],
    selectableFields: ['spec.unschedulable'],
    schema: envelope(
      'Node',
      'Node is a worker node; berth registers one per node agent, which heartbeats through a Lease in kube-node-lease.',
      {
        spec: {
          type: 'object',
          description: 'Spec defines the behavior of a node.',
          properties: {
            podCIDR: str('PodCIDR represents the pod IP range assigned to the node.'),
            podCIDRs: stringList(
              'podCIDRs represents the IP ranges assigned to the node for usage by Pods on that node.',
            ),
            providerID: str('ID of the node assigned by the cloud provider.'),
            unschedulable: {
              type: 'boolean',
              description:
                'Unschedulable controls node schedulability of new pods (berth: Containers). By default, node is schedulable.',
            },
            taints: {
              type: 'array',
              'x-kubernetes-list-type': 'atomic',
              description: "If specified, the node's taints.",
              items: {
                type: 'object',
                required: ['key', 'effect'],
                description:
                  'The node this Taint is attached to has the "effect" on any pod that does not tolerate the Taint.',
                properties: {
                  key: str('Required. The taint key to be applied to a node.'),
                  value: str('The taint value corresponding to the taint key.'),
                  effect: str('Required. The effect of the taint on pods that do not tolerate the taint.', {
                    enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
                  }),
                  timeAdded: time('TimeAdded represents the time at which the taint was added.'),
                },
              },
            },
            externalID: str('Deprecated. Not all kubelets will set this field.'),
          },
        },
        status: {
          type: 'object',
          description: 'Most recently observed status of the node.',
          properties: {
            capacity: resourceList('Capacity represents the total resources of a node.'),
            allocatable: resourceList(
              'Allocatable represents the resources of a node that are available for scheduling.',
            ),
            phase: str('NodePhase is the recently observed lifecycle phase of the node (deprecated).'),
            conditions: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['type'],
              'x-kubernetes-patch-strategy': 'merge',
              'x-kubernetes-patch-merge-key': 'type',
              description: 'Conditions is an array of current observed node conditions.',
              items: {
                type: 'object',
                required: ['type', 'status'],
                description: 'NodeCondition contains condition information for a node.',
                properties: {
                  type: str('Type of node condition.'),
                  status: str('Status of the condition, one of True, False, Unknown.'),
                  lastHeartbeatTime: time('Last time we got an update on a given condition.'),
                  lastTransitionTime: time('Last time the condition transit from one status to another.'),
                  reason: str("(brief) reason for the condition's last transition."),
                  message: str('Human readable message indicating details about last transition.'),
                },
              },
            },
            addresses: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['type', 'address'],
              description: 'List of addresses reachable to the node.',
              items: {
                type: 'object',
                required: ['type', 'address'],
                description: "NodeAddress contains information for the node's address.",
                properties: {
                  type: str('Node address type, one of Hostname, ExternalIP or InternalIP.'),
                  address: str('The node address.'),
                },
              },
            },
            daemonEndpoints: {
              type: 'object',
              description: 'Endpoints of daemons running on the Node.',
              properties: {
                kubeletEndpoint: {
                  type: 'object',
                  description: 'Endpoint on which Kubelet is listening.',
                  properties: { Port: int('Port number of the given endpoint.') },
                },
                agentEndpoint: {
                  type: 'object',
                  description:
                    'berth: where the node agent serves log, exec and attach (a unix: socket path for an all-in-one berth).',
                  properties: { address: str('Address of the endpoint.') },
                },
              },
            },
            nodeInfo: {
              type: 'object',
              description: 'Set of ids/uuids to uniquely identify the node.',
              properties: {
                machineID: str('MachineID reported by the node (/etc/machine-id).'),
                systemUUID: str('SystemUUID reported by the node.'),
                bootID: str('Boot ID reported by the node.'),
                kernelVersion: str("Kernel Version reported by the node from 'uname -r'."),
                osImage: str('OS Image reported by the node from /etc/os-release.'),
                containerRuntimeVersion: str(
                  'ContainerRuntime Version reported by the node (berth: the OCI runtime, e.g. crun://1.8.1).',
                ),
                kubeletVersion: str("Kubelet Version reported by the node (berth: the node agent's version)."),
                kubeProxyVersion: str('Deprecated: KubeProxy Version reported by the node.'),
                operatingSystem: str('The Operating System reported by the node.'),
                architecture: str('The Architecture reported by the node.'),
                monitorVersion: str('berth: the container monitor and its version, e.g. conmon://2.1.6.'),
                cgroupVersion: str('berth: the cgroup layout of the node: v1, v2 or hybrid.'),
                storageDriver: str('berth: how container filesystems are made, e.g. overlay (docker info).'),
                securityOptions: {
                  type: 'array',
                  'x-kubernetes-list-type': 'atomic',
                  description:
                    'berth: what every container is confined by, e.g. name=seccomp,profile=builtin (docker info).',
                  items: { type: 'string' },
                },
              },
            },
            images: {
              type: 'array',
              'x-kubernetes-list-type': 'atomic',
              description: 'List of container images on this node.',
              items: {
                type: 'object',
                description: 'Describe a container image.',
                properties: {
                  names: stringList('Names by which this image is known.'),
                  sizeBytes: { type: 'integer', format: 'int64', description: 'The size of the image in bytes.' },
                },
              },
            },
            volumesInUse: stringList('List of attachable volumes in use (mounted) by the node.'),
          },
        },
      },
    ),
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
      // As Kubernetes' event printer: no leading NAME (it is the last, wide column); ages and kind/name computed in table/.
      {
        name: 'Last Seen',
        type: 'string',
        jsonPath: '.lastTimestamp',
        description: 'The time at which the most recent occurrence of this event was recorded.',
      },
      { name: 'Type', type: 'string', jsonPath: '.type', description: 'Type of this event (Normal, Warning).' },
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.reason',
        description:
          "A short, machine understandable string that gives the reason for the transition into the object's current status.",
      },
      {
        name: 'Object',
        type: 'string',
        jsonPath: '.involvedObject',
        description: 'The object that this event is about.',
      },
      {
        name: 'Subobject',
        type: 'string',
        jsonPath: '.involvedObject.fieldPath',
        priority: 1,
        description: 'If referring to a piece of an object instead of an entire object, the path to it.',
      },
      {
        name: 'Source',
        type: 'string',
        jsonPath: '.source',
        priority: 1,
        description: 'The component reporting this event.',
      },
      {
        name: 'Message',
        type: 'string',
        jsonPath: '.message',
        description: 'A human-readable description of the status of this operation.',
      },
      {
        name: 'First Seen',
        type: 'string',
        jsonPath: '.firstTimestamp',
        priority: 1,
        description: 'The time at which the event was first recorded.',
      },
      {
        name: 'Count',
        type: 'string',
        jsonPath: '.count',
        priority: 1,
        description: 'The number of times this event has occurred.',
      },
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        jsonPath: '.metadata.name',
        priority: 1,
        description: 'Name must be unique within a namespace.',
      },
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
      reason: str(
        "A short, machine understandable string that gives the reason for the transition into the object's current status.",
      ),
      message: str('A human-readable description of the status of this operation.'),
      source: {
        type: 'object',
        description: 'The component reporting this event.',
        properties: {
          component: str('Component from which the event is generated.'),
          host: str('Node name on which the event is generated.'),
        },
      },
      firstTimestamp: time('The time at which the event was first recorded.'),
      lastTimestamp: time('The time at which the most recent occurrence of this event was recorded.'),
      count: int('The number of times this event has occurred.'),
      type: str('Type of this event (Normal, Warning).'),
      eventTime: {
        type: 'string',
        format: 'date-time',
        nullable: true,
        description: 'Time when this Event was first observed.',
      },
      series: {
        type: 'object',
        description: 'Data about the Event series this event represents.',
        properties: {
          count: int('Number of occurrences in this series up to the last heartbeat time.'),
          lastObservedTime: time('Time of the last occurrence observed.'),
        },
      },
      action: str('What action was taken/failed regarding to the Regarding object.'),
      related: objectReference,
      reportingComponent: str('Name of the controller that emitted this Event.'),
      reportingInstance: str('ID of the controller instance.'),
    }),
  },
  {
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    singular: 'resourcequota',
    namespaced: true,
    shortNames: ['quota'],
    status: true,
    columns: [age],
    schema: envelope('ResourceQuota', 'ResourceQuota sets aggregate quota restrictions enforced per namespace.', {
      spec: {
        type: 'object',
        description: 'Spec defines the desired quota.',
        properties: {
          hard: resourceList('hard is the set of desired hard limits for each named resource.'),
          scopes: stringList('A collection of filters that must match each object tracked by a quota.'),
          scopeSelector: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
            description: 'scopeSelector is also a collection of filters like scopes.',
          },
        },
      },
      status: {
        type: 'object',
        description: 'Status defines the actual enforced quota and its current usage.',
        properties: {
          hard: resourceList('Hard is the set of enforced hard limits for each named resource.'),
          used: resourceList('Used is the current observed total usage of the resource in the namespace.'),
        },
      },
    }),
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    columns: [
      {
        name: 'Holder',
        type: 'string',
        jsonPath: '.spec.holderIdentity',
        description: 'holderIdentity contains the identity of the holder of a current lease.',
      },
      age,
    ],
    schema: envelope('Lease', 'Lease defines a lease concept.', {
      spec: {
        type: 'object',
        description: 'spec contains the specification of the Lease.',
        properties: {
          holderIdentity: str('holderIdentity contains the identity of the holder of a current lease.'),
          leaseDurationSeconds: int(
            'leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it.',
          ),
          acquireTime: {
            type: 'string',
            format: 'date-time',
            description: 'acquireTime is a time when the current lease was acquired.',
          },
          renewTime: {
            type: 'string',
            format: 'date-time',
            description: 'renewTime is a time when the current holder of a lease has last updated the lease.',
          },
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
    columns: [
      {
        name: 'Created At',
        type: 'string',
        jsonPath: '.metadata.creationTimestamp',
        description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
      },
    ],
    schema: envelope(
      'CustomResourceDefinition',
      'CustomResourceDefinition represents a resource that should be exposed on the API server.',
      {
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
                shortNames: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'shortNames are short names for the resource.',
                },
                categories: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'categories is a list of grouped resources this custom resource belongs to.',
                },
              },
            },
            scope: str('scope indicates whether the defined custom resource is cluster- or namespace-scoped.', {
              enum: ['Cluster', 'Namespaced'],
            }),
            versions: {
              type: 'array',
              description: 'versions is the list of all API versions of the defined custom resource.',
              items: {
                type: 'object',
                required: ['name', 'served', 'storage'],
                'x-kubernetes-preserve-unknown-fields': true,
                properties: {
                  name: str('name is the version name, e.g. "v1".'),
                  served: {
                    type: 'boolean',
                    description: 'served is a flag enabling/disabling this version from being served via REST APIs.',
                  },
                  storage: {
                    type: 'boolean',
                    description:
                      'storage indicates this version should be used when persisting custom resources to storage.',
                  },
                },
              },
            },
            conversion: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
              description: 'conversion defines conversion settings for the CRD.',
            },
            preserveUnknownFields: { type: 'boolean', description: 'Deprecated: must be false.' },
          },
        },
        status: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          description: 'status indicates the actual state of the CustomResourceDefinition.',
        },
      },
    ),
  },
  ...rbacBuiltins,
  podBuiltin,
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
        ...(b.categories === undefined ? {} : { categories: b.categories }),
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
          ...(b.selectableFields === undefined
            ? {}
            : { selectableFields: b.selectableFields.map((f) => ({ jsonPath: `.${f}` })) }),
        },
      ],
    },
  }));
}
