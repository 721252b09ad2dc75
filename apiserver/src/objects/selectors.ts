// Turns the `labelSelector` and `fieldSelector` query parameters into one predicate over objects, refusing field
// labels the kind does not declare selectable (as a real server does).

import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, requiredFieldValue } from '@berth/api';
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

/**
 * One value an object must have for a selector to match it (Kubernetes' watch-cache trigger): the watch cache
 * indexes watchers by it, so an event reaches only the watchers whose value the object had or has.
 */
export interface SelectorIndex {
  /** What `of` reads, e.g. "field:spec.nodeName" or "label:app". */
  readonly name: string;
  readonly value: string;
  /** The object's value, as the selector compares it; undefined when it has none (a missing label). */
  readonly of: (obj: KubeObject) => string | undefined;
}

/** Fields a watcher is indexed by when its field selector names one value of them, most selective first. */
const indexedFields = ['metadata.name', 'spec.nodeName'];

/**
 * The index a watch with these selectors (and on one object's path, `name`) can be served from, or undefined:
 * a name, then a field selector's `spec.nodeName=` (or another declared field's single value), then a label
 * selector's `key=value`. Call after buildFilter accepted the selectors.
 */
export function selectorIndex(
  resource: Resource,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
  name?: string,
): SelectorIndex | undefined {
  if (name !== undefined) return { name: 'field:metadata.name', value: name, of: (obj) => obj.metadata.name ?? '' };
  const fields = fieldSelector === undefined || fieldSelector.trim() === '' ? [] : parseFieldSelector(fieldSelector);
  for (const field of [...indexedFields, ...resource.selectableFields]) {
    const value = requiredFieldValue(fields, field);
    if (value !== undefined)
      return { name: `field:${field}`, value, of: (obj) => selectableFieldsOf(resource, obj)[field] ?? '' };
  }
  const labels = labelSelector === undefined || labelSelector.trim() === '' ? [] : parseLabelSelector(labelSelector);
  const one = labels.find(
    (r) => (r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1,
  );
  if (one !== undefined) {
    const key = one.key;
    return { name: `label:${key}`, value: one.values[0] ?? '', of: (obj) => obj.metadata.labels?.[key] };
  }
  return undefined;
}
