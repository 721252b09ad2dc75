// Drops fields a structural schema does not declare (Kubernetes pruning) and reports each one, so
// fieldValidation=Strict can refuse them and Warn can name them.

import { isPlainObject } from '../objects/object.js';
import { fieldPath, type JSONSchemaProps } from './json-schema.js';

/** Fields of an embedded resource that are always allowed (the object's own envelope). */
const embeddedEnvelope = ['apiVersion', 'kind', 'metadata'];

/**
 * Removes undeclared fields from `value` in place; returns their paths (e.g. `spec.bogus`).
 * `path` is where `value` sits in the object. With `objectRoot`, `value` is a whole object, whose apiVersion, kind
 * and metadata are allowed whether its schema lists them or not (most CRD schemas list only spec and status).
 */
export function pruneUnknownFields(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  path: (string | number)[] = [],
  objectRoot = false,
): string[] {
  const unknown: string[] = [];
  walk(value, schema, path, unknown, objectRoot);
  return unknown;
}

function walk(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  path: (string | number)[],
  unknown: string[],
  envelope = false,
): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) walk(item, schema.items, [...path, i], unknown);
    return;
  }
  if (!isPlainObject(value)) return;
  const props = schema.properties;
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    const declared = props?.[key];
    if (declared !== undefined) {
      walk(value[key], declared, [...path, key], unknown);
    } else if (typeof additional === 'object') {
      walk(value[key], additional, [...path, key], unknown);
    } else if (additional === true || preserve) {
    } else if ((envelope || schema['x-kubernetes-embedded-resource'] === true) && embeddedEnvelope.includes(key)) {
    } else if (props !== undefined || schema.type === 'object') {
      unknown.push(fieldPath([...path, key]));
      delete value[key];
    }
  }
}
