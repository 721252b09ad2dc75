// Field ownership wired to the apply engine: managedFields on every write, server-side apply through the generic
// update path, strategic merge for built-in kinds. The engine's typed errors reach the client through
// errors/status.ts, the one table of Statuses.

import { apply, conflictStatus, recordUpdate } from './index.js';
import { ApiError, badRequest, invalid } from '../errors/api-error.js';
import { validateMetadataTypes } from '../objects/metadata-validation.js';
import type { KubeObject } from '../objects/object.js';
import { noChange, type WriteOptions } from '../objects/object-store.js';
import { nowTimestamp } from '../objects/object.js';
import type { JsonObject, JsonValue } from '../patch/json-value.js';
import { applyStrategicMergePatch } from '../patch/strategic-merge.js';
import { objectMetaSchema } from '../registry/object-meta-schema.js';
import { groupVersion, type Resource } from '../registry/resource.js';
import { writeStrategy } from '../registry/status-strategy.js';
import type { ApplyOptions, FieldOwnership } from './ownership.js';

/** A kind's schema with full ObjectMeta, built once per schema object (the engine caches by identity). */
const schemas = new WeakMap<object, JsonObject>();
function schemaOf(resource: Resource): JsonObject {
  let s = schemas.get(resource.schema);
  if (s === undefined) {
    s = {
      ...resource.schema,
      properties: { ...(resource.schema.properties ?? {}), metadata: objectMetaSchema },
    } as unknown as JsonObject;
    schemas.set(resource.schema, s);
  }
  return s;
}

/** Apply conflicts as the 409 Status a Kubernetes server answers, one FieldManagerConflict cause per field. */
function conflictError(conflicts: Parameters<typeof conflictStatus>[0]): ApiError {
  const status = conflictStatus(conflicts);
  return new ApiError('Conflict', status.message, { causes: [...status.details.causes] });
}

export const managedFieldOwnership: FieldOwnership = {
  recordUpdate(resource, before, after, manager, part) {
    const fields = recordUpdate({
      before: before as unknown as JsonObject | undefined,
      after: after as unknown as JsonObject,
      manager,
      apiVersion: groupVersion(resource),
      schema: schemaOf(resource),
      now: nowTimestamp(),
      subresource: part === 'status' ? 'status' : undefined,
      statusSubresource: resource.subresources.status,
      resetFields: writeStrategy(resource, part).getResetFields?.(),
    });
    if (fields === undefined) delete after.metadata.managedFields;
    else after.metadata.managedFields = fields as NonNullable<KubeObject['metadata']['managedFields']>;
  },

  async apply(objects, scope, name, part, config, options: ApplyOptions) {
    const { resource } = scope;
    const typeProblems = validateMetadataTypes(config.metadata ?? {});
    if (typeProblems.length > 0) throw invalid(resource.kind, resource.group, name, typeProblems);
    const configName = config.metadata?.name;
    if (configName !== undefined && configName !== name) {
      throw badRequest(`the name of the object (${configName}) does not match the name on the URL (${name})`);
    }
    let fields: JsonValue | undefined;
    const merge = (live: KubeObject | undefined): KubeObject | typeof noChange => {
      const result = apply({
        live: live as unknown as JsonObject | undefined,
        config: config as unknown as JsonObject,
        manager: options.manager,
        apiVersion: groupVersion(resource),
        force: options.force,
        schema: schemaOf(resource),
        now: nowTimestamp(),
        subresource: part === 'status' ? 'status' : undefined,
        statusSubresource: resource.subresources.status,
        resetFields: writeStrategy(resource, part).getResetFields?.(),
      });
      if (!result.ok) throw conflictError(result.conflicts);
      // An apply that changes nothing skips the whole write pipeline: the GitOps no-op re-apply path.
      if (!result.changed && live !== undefined) return noChange;
      fields = (result.object['metadata'] as JsonObject | undefined)?.['managedFields'];
      return result.object as unknown as KubeObject;
    };
    // Apply is strict about unknown fields whatever fieldValidation says (as the Kubernetes apiserver is).
    const writeOptions: WriteOptions = {
      dryRun: options.dryRun,
      fieldValidation: 'Strict',
      warnings: [],
      ...(options.user === undefined ? {} : { user: options.user }),
      // The apply's managedFields, set again after the write's strategy: a /status write keeps metadata as stored.
      trackFields: (_before, after) => {
        if (fields === undefined) delete after.metadata.managedFields;
        else after.metadata.managedFields = fields as NonNullable<KubeObject['metadata']['managedFields']>;
      },
    };
    let created = false;
    const { object } = await objects.update(
      scope,
      name,
      part,
      (current) => merge(current),
      writeOptions,
      async () => {
        if (part === 'status')
          throw new ApiError(
            'NotFound',
            `${resource.plural}${resource.group === '' ? '' : `.${resource.group}`} "${name}" not found`,
          );
        created = true;
        const fresh = merge(undefined);
        if (fresh === noChange) throw new Error('apply of a new object reported no change');
        fresh.metadata = { ...fresh.metadata, name };
        return objects.create(scope, fresh, writeOptions);
      },
    );
    return { status: created ? 201 : 200, body: object, warnings: writeOptions.warnings };
  },

  strategicMerge(resource, current, patch) {
    return applyStrategicMergePatch(current as unknown as JsonObject, patch as JsonValue, schemaOf(resource));
  },
};
