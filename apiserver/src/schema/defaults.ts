// Applies `default:` values from a structural schema, as the Kubernetes apiserver does for CRDs on every decode
// (request bodies and objects read from storage): nulls in non-nullable fields without a default are dropped
// first, then a missing (or non-nullable null) property with a default gets it, recursively, list items and map
// values included.

import { cloneJson, isPlainObject } from '../objects/object.js';
import type { JSONSchemaProps } from './json-schema.js';

export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  pruneNulls(value, schema);
  fill(value, schema);
}

/** Whether any node of `schema` has a default (reads skip defaulting for kinds that have none). */
export function hasDefaults(schema: JSONSchemaProps): boolean {
  let known = withDefaults.get(schema);
  if (known === undefined) withDefaults.set(schema, (known = findDefault(schema)));
  return known;
}

const withDefaults = new WeakMap<JSONSchemaProps, boolean>();

function findDefault(s: JSONSchemaProps | undefined): boolean {
  if (s === undefined) return false;
  if (s.default !== undefined) return true;
  if (Object.values(s.properties ?? {}).some(findDefault)) return true;
  return findDefault(s.items) || (typeof s.additionalProperties === 'object' && findDefault(s.additionalProperties));
}

const fieldSchema = (schema: JSONSchemaProps | undefined, key: string): JSONSchemaProps | undefined =>
  schema?.properties?.[key] ??
  (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);

const nonNullableNull = (v: unknown, s: JSONSchemaProps | undefined): boolean =>
  v === null && s !== undefined && s.nullable !== true;

/** Drops `null`s the schema does not allow and cannot default (Kubernetes' PruneNonNullableNullsWithoutDefaults). */
function pruneNulls(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (Array.isArray(value)) {
    for (const item of value) pruneNulls(item, schema?.items);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const s = fieldSchema(schema, key);
    if (nonNullableNull(v, s) && s?.default === undefined) delete value[key];
    else pruneNulls(v, s);
  }
}

function fill(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    const items = schema.items;
    value.forEach((item, i) => {
      if (nonNullableNull(item, items) && items?.default !== undefined) value[i] = cloneJson(items.default);
      fill(value[i], items);
    });
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default !== undefined && (value[key] === undefined || nonNullableNull(value[key], prop)))
      value[key] = cloneJson(prop.default);
  }
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    const prop = schema.properties?.[key];
    if (prop !== undefined) fill(value[key], prop);
    else if (typeof additional === 'object') {
      if (nonNullableNull(value[key], additional) && additional.default !== undefined)
        value[key] = cloneJson(additional.default);
      fill(value[key], additional);
    }
  }
}
