// OpenAPI documents generated from the live registry. v3 is what kubectl relies on (server-side field
// validation detection, `explain`); v2 is answered with the empty protobuf document (kubernetes-api.md §5).

import { createHash } from 'node:crypto';
import { objectMetaSchema } from '../registry/object-meta-schema.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { groupVersion, type Resource } from '../registry/resource.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';

const objectMetaRef = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const statusRef = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';

/** The component name Kubernetes gives a kind's schema: reversed group, version, kind. */
export function schemaName(r: { group: string; version: string; kind: string }): string {
  const prefix = r.group === '' ? 'io.k8s.api.core' : r.group.split('.').reverse().join('.');
  return `${prefix}.${r.version}.${r.kind}`;
}

const query = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  description,
  schema: { type },
  uniqueItems: true,
});

const writeParams = [
  query('dryRun', 'When present, indicates that modifications should not be persisted.'),
  query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  query(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.',
  ),
];
const listParams = [
  query('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  query('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  query('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  query('continue', 'The continue option should be set when retrieving more results from the server.'),
  query('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  query('watch', 'Watch for changes to the described resources.', 'boolean'),
  query('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  query('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
];

function operations(r: Resource, withStatus: 'main' | 'status') {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
  const body = { content: { 'application/json': { schema: ref }, 'application/yaml': { schema: ref } } };
  const ok = (description: string) => ({
    description,
    content: { 'application/json': { schema: ref }, 'application/yaml': { schema: ref } },
  });
  const patchTypes = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
    ...(r.builtin ? ['application/strategic-merge-patch+json'] : []),
  ];
  const action = (verb: string) => ({ 'x-kubernetes-action': verb, 'x-kubernetes-group-version-kind': gvk });
  const suffix = withStatus === 'status' ? 'Status' : '';
  return {
    get: { operationId: `read${r.kind}${suffix}`, ...action('get'), responses: { '200': ok('OK') } },
    put: {
      operationId: `replace${r.kind}${suffix}`,
      ...action('put'),
      parameters: writeParams,
      requestBody: body,
      responses: { '200': ok('OK'), '201': ok('Created') },
    },
    patch: {
      operationId: `patch${r.kind}${suffix}`,
      ...action('patch'),
      parameters: [...writeParams, query('force', 'Force is going to "force" Apply requests.', 'boolean')],
      requestBody: { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { type: 'object' } }])) },
      responses: { '200': ok('OK'), '201': ok('Created') },
    },
    ...(withStatus === 'main'
      ? {
          delete: {
            operationId: `delete${r.kind}`,
            ...action('delete'),
            parameters: [
              query('dryRun', 'dry run'),
              query('gracePeriodSeconds', 'grace period', 'integer'),
              query('propagationPolicy', 'propagation policy'),
            ],
            responses: {
              '200': {
                description: 'OK',
                content: { 'application/json': { schema: { $ref: `#/components/schemas/${statusRef}` } } },
              },
            },
          },
        }
      : {}),
  };
}

function pathsOf(r: Resource): Record<string, unknown> {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
  const paths: Record<string, unknown> = {
    [collection]: {
      get: {
        operationId: `list${r.kind}`,
        'x-kubernetes-action': 'list',
        'x-kubernetes-group-version-kind': gvk,
        parameters: listParams,
        responses: { '200': { description: 'OK' } },
      },
      post: {
        operationId: `create${r.kind}`,
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': gvk,
        parameters: writeParams,
        requestBody: { content: { 'application/json': { schema: ref } } },
        responses: { '201': { description: 'Created' } },
      },
      ...(r.strategy.deleteCollection === false
        ? {}
        : {
            delete: {
              operationId: `deletecollection${r.kind}`,
              'x-kubernetes-action': 'deletecollection',
              'x-kubernetes-group-version-kind': gvk,
              parameters: listParams,
              responses: { '200': { description: 'OK' } },
            },
          }),
      ...(r.namespaced
        ? { parameters: [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] }
        : {}),
    },
    [`${collection}/{name}`]: operations(r, 'main'),
  };
  if (r.subresources.status) paths[`${collection}/{name}/status`] = operations(r, 'status');
  return paths;
}

/** The kind's schema as published: metadata points at ObjectMeta, as Kubernetes publishes CRD schemas. */
function publishedSchema(r: Resource): JSONSchemaProps {
  const schema = r.schema;
  return {
    ...schema,
    properties: {
      ...(schema.properties ?? {}),
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: {
        description: "Standard object's metadata.",
        allOf: [{ $ref: `#/components/schemas/${objectMetaRef}` }],
      },
    },
    'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
  };
}

export interface OpenApiDocument {
  readonly body: string;
  readonly hash: string;
}

export class OpenApiCache {
  #generation = -1;
  #documents = new Map<string, OpenApiDocument>();

  constructor(private readonly registry: ResourceRegistry) {}

  /** Per group-version documents, keyed `api/v1` or `apis/<group>/<version>`. */
  documents(): Map<string, OpenApiDocument> {
    if (this.#generation !== this.registry.generation) {
      this.#generation = this.registry.generation;
      this.#documents = this.#build();
    }
    return this.#documents;
  }

  index(): unknown {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, doc] of this.documents())
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
    return { paths };
  }

  #build(): Map<string, OpenApiDocument> {
    const byGv = new Map<string, Resource[]>();
    for (const r of this.registry.all()) {
      const key = r.group === '' ? `api/${r.version}` : `apis/${groupVersion(r)}`;
      byGv.set(key, [...(byGv.get(key) ?? []), r]);
    }
    const out = new Map<string, OpenApiDocument>();
    for (const [key, resources] of [...byGv.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      resources.sort((a, b) => a.plural.localeCompare(b.plural));
      const doc = {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: 'v1.32.0-berth' },
        paths: Object.assign({}, ...resources.map(pathsOf)) as Record<string, unknown>,
        components: {
          schemas: {
            ...Object.fromEntries(resources.map((r) => [schemaName(r), publishedSchema(r)])),
            [objectMetaRef]: objectMetaSchema,
            [statusRef]: {
              type: 'object',
              description: "Status is a return value for calls that don't return other objects.",
              'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
            },
          },
        },
      };
      const body = JSON.stringify(doc);
      out.set(key, { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() });
    }
    return out;
  }
}
