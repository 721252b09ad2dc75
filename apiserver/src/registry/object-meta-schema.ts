// ObjectMeta as a schema: what every kind's `metadata` may hold, with the list and map semantics that apply,
// strategic merge and OpenAPI need. Validation of names, labels and the like is done by code, not here.

import type { JSONSchemaProps } from '../schema/json-schema.js';

const stringMap: JSONSchemaProps = { type: 'object', additionalProperties: { type: 'string' } };

export const objectMetaSchema: JSONSchemaProps = {
  type: 'object',
  description:
    "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    generateName: { type: 'string', description: 'Optional prefix the server uses to generate a unique name.' },
    namespace: { type: 'string', description: 'Namespace defines the space within which each name must be unique.' },
    uid: { type: 'string', description: 'UID is the unique in time and space value for this object. Read-only.' },
    resourceVersion: {
      type: 'string',
      description: 'An opaque value that represents the internal version of this object.',
    },
    generation: {
      type: 'integer',
      format: 'int64',
      description: 'A sequence number representing a specific generation of the desired state.',
    },
    creationTimestamp: { type: 'string', format: 'date-time', description: 'When this object was created. Read-only.' },
    deletionTimestamp: {
      type: 'string',
      format: 'date-time',
      description: 'When this object will be deleted. Read-only.',
    },
    deletionGracePeriodSeconds: {
      type: 'integer',
      format: 'int64',
      description: 'Seconds allowed for graceful termination.',
    },
    labels: {
      ...stringMap,
      description: 'Map of string keys and values that can be used to organize and categorize objects.',
    },
    annotations: { ...stringMap, description: 'Unstructured key value map stored with a resource.' },
    finalizers: {
      type: 'array',
      items: { type: 'string' },
      'x-kubernetes-list-type': 'set',
      'x-kubernetes-patch-strategy': 'merge',
      description: 'Must be empty before the object is deleted from the registry.',
    },
    ownerReferences: {
      type: 'array',
      description: 'List of objects depended by this object.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'uid',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          name: { type: 'string' },
          uid: { type: 'string' },
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
      },
    },
    managedFields: {
      type: 'array',
      description: 'Maps workflow-id and version to the set of fields that are managed by that workflow.',
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'object',
        properties: {
          manager: { type: 'string' },
          operation: { type: 'string' },
          apiVersion: { type: 'string' },
          time: { type: 'string', format: 'date-time' },
          fieldsType: { type: 'string' },
          fieldsV1: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          subresource: { type: 'string' },
        },
      },
    },
    selfLink: { type: 'string' },
  },
};
