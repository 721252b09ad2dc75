// Applies `default:` values from a structural schema, as the Kubernetes apiserver does for CRDs: a missing
// property with a default gets it, recursively, including inside list items and map values.

import { cloneJson, isPlainObject } from '../objects/object.js';
import type { JSONSchemaProps } from './json-schema.js';

export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && prop.default !== undefined) value[key] = cloneJson(prop.default);
    applyDefaults(value[key], prop);
  }
  const additional = schema.additionalProperties;
  if (typeof additional === 'object') {
    for (const key of Object.keys(value)) {
      if (schema.properties?.[key] === undefined) applyDefaults(value[key], additional);
    }
  }
}
