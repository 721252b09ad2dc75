// Applies `default:` values from a structural schema, as the Kubernetes apiserver does for CRDs on every decode
// (request bodies and objects read from storage): nulls in non-nullable fields without a default are dropped
// first, then a missing (or non-nullable null) property with a default gets it, recursively, list items and map
// values included.

import { cloneJson, isPlainObject } from '../objects/object.js';
import type { JSONSchemaProps } from './json-schema.js';

/** Returns whether it changed anything (a read that changes nothing can serve the stored bytes next time). */
export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined) return false;
  const pruned = pruneNulls(value, schema);
  return fill(value, schema) || pruned;
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
function pruneNulls(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  let changed = false;
  if (Array.isArray(value)) {
    for (const item of value) changed = pruneNulls(item, schema?.items) || changed;
    return changed;
  }
  if (!isPlainObject(value)) return false;
  for (const [key, v] of Object.entries(value)) {
    const s = fieldSchema(schema, key);
    if (nonNullableNull(v, s) && s?.default === undefined) {
      delete value[key];
      changed = true;
    } else changed = pruneNulls(v, s) || changed;
  }
  return changed;
}

function fill(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined) return false;
  let changed = false;
  if (Array.isArray(value)) {
    const items = schema.items;
    value.forEach((item, i) => {
      if (nonNullableNull(item, items) && items?.default !== undefined) {
        value[i] = cloneJson(items.default);
        changed = true;
      }
      changed = fill(value[i], items) || changed;
    });
    return changed;
  }
  if (!isPlainObject(value)) return false;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default !== undefined && (value[key] === undefined || nonNullableNull(value[key], prop))) {
      value[key] = cloneJson(prop.default);
      changed = true;
    }
  }
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    const prop = schema.properties?.[key];
    if (prop !== undefined) changed = fill(value[key], prop) || changed;
    else if (typeof additional === 'object') {
      if (nonNullableNull(value[key], additional) && additional.default !== undefined) {
        value[key] = cloneJson(additional.default);
        changed = true;
      }
      changed = fill(value[key], additional) || changed;
    }
  }
  return changed;
}
