// x-kubernetes-list-type semantics Kubernetes enforces on custom resources: a `set` holds no value twice, a
// `map` list no two items with the same keys (each reported once, at its second occurrence, as Duplicate).

import type { FieldError } from '@berth/api';
import { isPlainObject } from '../objects/object.js';
import type { JSONSchemaProps } from './json-schema.js';

/** Duplicate and shape problems of set and map lists anywhere in `value`. */
export function validateListTypes(value: unknown, schema: JSONSchemaProps, path = ''): FieldError[] {
  const problems: FieldError[] = [];
  walk(value, schema, path, problems);
  return problems;
}

function walk(value: unknown, schema: JSONSchemaProps | undefined, path: string, problems: FieldError[]): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    const type = schema['x-kubernetes-list-type'];
    if (type === 'set') {
      for (const i of secondOccurrences(value.map((v) => JSON.stringify(v))))
        problems.push(duplicateOf(`${path}[${i}]`, value[i]));
    } else if (type === 'map') {
      const bad = value.findIndex((x) => x !== null && !isPlainObject(x));
      if (bad >= 0) {
        problems.push({
          type: 'FieldValueInvalid',
          field: `${path}[${bad}]`,
          message: 'must be an object for an array of list-type map',
          badValue: value[bad],
        });
      } else {
        const keys = schema['x-kubernetes-list-map-keys'] ?? [];
        const keyOf = (x: unknown) =>
          Object.fromEntries(
            keys
              .filter((k) => isPlainObject(x) && x[k] !== undefined)
              .map((k) => [k, (x as Record<string, unknown>)[k]]),
          );
        for (const i of secondOccurrences(value.map((x) => JSON.stringify(keyOf(x)))))
          problems.push(duplicateOf(`${path}[${i}]`, keyOf(value[i])));
      }
    }
    for (const [i, item] of value.entries()) walk(item, schema.items, `${path}[${i}]`, problems);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const prop = schema.properties?.[k];
    if (prop !== undefined) walk(v, prop, path === '' ? k : `${path}.${k}`, problems);
    else if (typeof schema.additionalProperties === 'object')
      walk(v, schema.additionalProperties, `${path}[${k}]`, problems);
  }
}

/** Indices where a value is seen the second time (a third sighting is not reported again, as in Kubernetes). */
function secondOccurrences(ids: readonly string[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  ids.forEach((id, i) => {
    const times = seen.get(id) ?? 0;
    if (times === 1) out.push(i);
    seen.set(id, times + 1);
  });
  return out;
}

/** Kubernetes renders the duplicate with Go's %v/%#v: `"a"`, `1`, `map[string]interface {}{"name":"http"}`. */
function duplicateOf(field: string, v: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, message: goSyntax(v) };
}

function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goNested).join(', ')}}`;
  if (isPlainObject(v))
    return `map[string]interface {}{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goNested(v[k])}`)
      .join(', ')}}`;
  return String(v);
}

const goNested = (v: unknown): string => (v === null || v === undefined ? 'interface {}(nil)' : goSyntax(v));
