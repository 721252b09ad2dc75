// Server-side apply of a Pod (`kubectl apply --server-side`), as of any other kind: the apply engine merges the
// applied configuration into the Pod the Container projects, with the Pod's managedFields (projected from the
// Container's), so a field a manager stops applying is removed and another manager's field is a 409 unless forced.
// The merged Pod is carried back onto the Container like any Pod write, with the managedFields in Container paths.

import { apply, conflictStatus } from '../field-ownership/index.js';
import { ApiError, notFound } from '../errors/api-error.js';
import { decodeBody, readBody } from '../http/body.js';
import { noChange, type ObjectScope, type WriteOptions } from '../objects/object-store.js';
import { nowTimestamp, type KubeObject } from '../objects/object.js';
import type { JsonObject } from '../patch/json-value.js';
import { groupVersion } from '../registry/resource.js';
import type { Reply } from '../request-chain/reply.js';
import { applyDefaults } from '../schema/defaults.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';
import {
  applyFieldManager,
  asObject,
  writeOptions,
  type ResourceCall,
  type ResourceHandlerDeps,
} from '../handlers/resources.js';
import { containerManagedFields, podContainerItem } from './pod-managed-fields.js';
import { containerFields, containerToPod, podFields } from './pod-projection.js';
import { podStatusWriteToContainer } from './pod-status-write.js';
import { podToContainer, podWriteToContainer } from './pod-to-container.js';

type Props = Record<string, JSONSchemaProps>;
const propsOf = (s: JSONSchemaProps | undefined): Props => (s?.properties ?? {}) as Props;
const pick = (from: Props, keys: readonly string[]): Props =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]!]));

const schemas = new WeakMap<object, JsonObject>();
/**
 * The Pod's schema for apply, built from the Container's: each field the Pod shares with the Container has the
 * Container's type (so both views list-key and own it alike), the containers list is keyed by name as Kubernetes'.
 */
function podApplySchema(containerSchema: JSONSchemaProps): JsonObject {
  let s = schemas.get(containerSchema);
  if (s !== undefined) return s;
  const spec = propsOf(propsOf(containerSchema)['spec']);
  const status = propsOf(propsOf(containerSchema)['status']);
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;
  s = {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      spec: {
        ...open,
        properties: {
          ...pick(spec, podFields),
          containers: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: {
              ...open,
              properties: { name: { type: 'string' }, ...pick(spec, [...containerFields, 'resources']) },
            },
          },
        },
      },
      status: { ...open, properties: pick(status, ['conditions']) },
    },
  } as unknown as JsonObject;
  schemas.set(containerSchema, s);
  return s;
}

/** Apply conflicts as the 409 Status a Kubernetes server answers, one FieldManagerConflict cause per field. */
function conflictError(conflicts: Parameters<typeof conflictStatus>[0]): ApiError {
  const status = conflictStatus(conflicts);
  return new ApiError('Conflict', status.message, { causes: [...status.details.causes] });
}

/** PATCH …/pods/NAME with application/apply-patch+yaml: created when there is no such Container. */
export async function applyPod(
  deps: ResourceHandlerDeps,
  call: ResourceCall,
  containers: ObjectScope,
  name: string,
  /** `status`: an apply of pods/NAME/status (a client's own conditions, as pods/status writes take them). */
  part: 'main' | 'status' = 'main',
): Promise<Reply> {
  const { req, query } = call;
  const manager = applyFieldManager(query);
  const config = asObject(decodeBody(await readBody(req), req.headers['content-type']));
  const configName = config.metadata?.name;
  if (configName !== undefined && configName !== name)
    throw new ApiError(
      'BadRequest',
      `the name of the object (${configName}) does not match the name on the URL (${name})`,
    );
  const containerVersion = groupVersion(containers.resource);
  const schema = podApplySchema(containers.resource.schema);
  const merge = (live: KubeObject | undefined): KubeObject | undefined => {
    const result = apply({
      live: live === undefined ? undefined : (containerToPod(live) as unknown as JsonObject),
      config: config as unknown as JsonObject,
      manager,
      apiVersion: 'v1',
      force: query.get('force') === 'true',
      schema,
      now: nowTimestamp(),
      subresource: part === 'status' ? 'status' : undefined,
      statusSubresource: true,
    });
    if (!result.ok) throw conflictError(result.conflicts);
    if (!result.changed) return undefined;
    // A defaulted field the manager no longer applies is pruned, then defaulted again (as Kubernetes decodes an
    // applied object): `restartPolicy` a client-side apply's create came to own is no change of the spec.
    applyDefaults(result.object, schema as unknown as JSONSchemaProps);
    return result.object as unknown as KubeObject;
  };
  // The fields are the apply's, not an Update's; set after the write's strategy, which keeps a status write's
  // metadata as stored.
  let fields: KubeObject['metadata']['managedFields'];
  const options: WriteOptions = {
    ...writeOptions(deps, call, containers.resource, part),
    trackFields: (_before, after) => {
      if (fields === undefined) delete after.metadata.managedFields;
      else after.metadata.managedFields = fields;
    },
  };
  let created = false;
  const { object } = await deps.objects.update(
    containers,
    name,
    part,
    (current) => {
      const pod = merge(current);
      if (pod === undefined) return noChange;
      const next = part === 'status' ? podStatusWriteToContainer(current, pod) : podWriteToContainer(current, pod);
      fields = containerManagedFields(
        current,
        pod.metadata.managedFields,
        containerVersion,
        podContainerItem(current),
      ) as KubeObject['metadata']['managedFields'] | undefined;
      return next;
    },
    options,
    async () => {
      if (part === 'status') throw notFound({ group: '', plural: 'pods' }, name);
      created = true;
      const pod = merge(undefined)!;
      const { managedFields, ...metadata } = pod.metadata;
      const container = podToContainer({ ...pod, metadata: { ...metadata, name } }, containerVersion);
      fields = containerManagedFields(undefined, managedFields, containerVersion, podContainerItem(container)) as
        | KubeObject['metadata']['managedFields']
        | undefined;
      return deps.objects.create(containers, container, options);
    },
  );
  return { status: created ? 201 : 200, body: containerToPod(object), warnings: options.warnings };
}
