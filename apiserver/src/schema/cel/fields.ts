// Which schema an expression's value has, when it is a field path from self, oldSelf or an iteration variable:
// the estimator sizes comprehensions by it, the compiler rejects fields a structural schema does not declare.

import type { JSONSchemaProps } from '../json-schema.js';
import { escapePropertyName } from './values.js';

/** Fields every object has at a kind's root, listed in its schema or not (metadata shows only these two). */
const rootEnvelope: Record<string, JSONSchemaProps> = {
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: { type: 'object', properties: { name: { type: 'string' }, generateName: { type: 'string' } } },
};

/** The schema of field `name` (as a rule spells it, escaped) of a value of `schema`; undefined = not declared. */
export function fieldSchema(schema: JSONSchemaProps, name: string, isRoot: boolean): JSONSchemaProps | undefined {
  const props = schema.properties ?? {};
  const key = Object.keys(props).find((p) => escapePropertyName(p) === name);
  if (key !== undefined) return props[key];
  if (isRoot && name in rootEnvelope) return rootEnvelope[name];
  if (typeof schema.additionalProperties === 'object') return schema.additionalProperties;
  return undefined;
}

/** Whether selecting an undeclared field of `schema` is a compile error (a closed object type in Kubernetes' CEL). */
export function isClosedObject(schema: JSONSchemaProps): boolean {
  return (
    schema.type === 'object' &&
    schema.properties !== undefined &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true &&
    schema['x-kubernetes-embedded-resource'] !== true
  );
}
