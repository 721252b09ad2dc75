// The `v1` Pod as the registry serves it: names, printer columns as `kubectl get pods` prints them (cells computed
// in pod-table.ts), the field selectors clients use (`spec.nodeName`, `status.phase`), an open schema (a Pod is a
// projection of a Container; what a create may say is checked where it becomes a Container).

import type { Builtin } from '../registry/builtin-kinds.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';

/** A list merged by `key` under strategic merge patch (kubectl apply of a Pod sends one), as in Kubernetes' Pod. */
const keyedList = (key: string, properties?: Record<string, JSONSchemaProps>): JSONSchemaProps => ({
  type: 'array',
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': 'merge',
  items: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...(properties === undefined ? {} : { properties }),
  },
});

const column = (name: string, jsonPath: string, description: string, priority = 0) =>
  ({ name, type: 'string', jsonPath, description, priority }) as const;

export const podBuiltin: Builtin = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  status: true,
  columns: [
    column('Ready', '.status.containerStatuses', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', '.status.phase', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      '.status.containerStatuses',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
    },
    column('IP', '.status.podIP', 'The IP address assigned to the pod.', 1),
    column('Node', '.spec.nodeName', 'The name of the node the pod is assigned to.', 1),
    column('Nominated Node', '.status.nominatedNodeName', 'The name of the node nominated for the pod.', 1),
    column('Readiness Gates', '.spec.readinessGates', 'The readiness gates of the pod.', 1),
  ],
  selectableFields: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  schema: {
    type: 'object',
    description: 'Pod is a view of a berth Container: one Container is one single-container Pod.',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        properties: {
          containers: keyedList('name', {
            env: keyedList('name'),
            ports: keyedList('containerPort'),
            volumeMounts: keyedList('mountPath'),
          }),
          ephemeralContainers: keyedList('name'),
          volumes: keyedList('name'),
          imagePullSecrets: keyedList('name'),
        },
      },
      status: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        // `kubectl patch --subresource=status` of one condition merges it by type, as Kubernetes' PodStatus.
        properties: { conditions: keyedList('type') },
      },
    },
  },
};

/** The Pod subresources served (pod-requests.ts and the node agent), as discovery names them, beside status. */
export const podSubresources: readonly { name: string; kind: { group: string; version: string; kind: string } }[] = [
  { name: 'log', kind: { group: '', version: 'v1', kind: 'Pod' } },
  { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' } },
  { name: 'attach', kind: { group: '', version: 'v1', kind: 'PodAttachOptions' } },
  { name: 'portforward', kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' } },
  { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' } },
  { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' } },
  { name: 'ephemeralcontainers', kind: { group: '', version: 'v1', kind: 'Pod' } },
];
