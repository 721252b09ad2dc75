// Turns the `labelSelector` and `fieldSelector` query parameters into one predicate over objects, refusing field
// labels the kind does not declare selectable (as a real server does).

import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '@berth/api';
import { badRequest } from '../errors/api-error.js';
import type { Resource } from '../registry/resource.js';
import { isPlainObject, type KubeObject } from './object.js';

export type ObjectFilter = (obj: KubeObject) => boolean;

/** Per decoded object: a watch event's object is shared by every watcher that filters it. */
const fieldsCache = new WeakMap<KubeObject, Record<string, string>>();

/** Field selector values of an object: metadata.name, metadata.namespace and the kind's selectable fields. */
export function selectableFieldsOf(resource: Resource, obj: KubeObject): Record<string, string> {
  let fields = fieldsCache.get(obj);
  if (fields === undefined) fieldsCache.set(obj, (fields = computeFields(resource, obj)));
  return fields;
}

function computeFields(resource: Resource, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': obj.metadata.name ?? '',
    'metadata.namespace': obj.metadata.namespace ?? '',
  };
  for (const path of resource.selectableFields) fields[path] = stringAt(obj, path);
  return { ...fields, ...(resource.strategy.fieldsOf?.(obj) ?? {}) };
}

function stringAt(obj: unknown, path: string): string {
  let v: unknown = obj;
  for (const part of path.split('.')) v = isPlainObject(v) ? v[part] : undefined;
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function buildFilter(
  resource: Resource,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ObjectFilter | undefined {
  const filters: ObjectFilter[] = [];
  if (labelSelector !== undefined && labelSelector.trim() !== '') {
    let selector: ReturnType<typeof parseLabelSelector>;
    try {
      selector = parseLabelSelector(labelSelector);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    filters.push((obj) => matchesLabels(selector, obj.metadata.labels ?? {}));
  }
  if (fieldSelector !== undefined && fieldSelector.trim() !== '') {
    let selector: ReturnType<typeof parseFieldSelector>;
    try {
      selector = parseFieldSelector(fieldSelector);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const allowed = new Set(['metadata.name', 'metadata.namespace', ...resource.selectableFields]);
    for (const r of selector) {
      if (!allowed.has(r.field)) throw badRequest(`field label not supported: ${r.field}`);
    }
    filters.push((obj) => matchesFields(selector, selectableFieldsOf(resource, obj)));
  }
  if (filters.length === 0) return undefined;
  return (obj) => filters.every((f) => f(obj));
}
