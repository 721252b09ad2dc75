// Applies `default:` values from a structural schema, as the Kubernetes apiserver does for CRDs on every decode
// (request bodies and objects read from storage): nulls in non-nullable fields without a default are dropped
// first, then a missing (or non-nullable null) property with a default gets it, recursively, list items and map
// values included.

import { cloneJson, isPlainObject } from '../objects/object.js';
import type { JSONSchemaProps } from './json-schema.js';

/** Whether it changed `value` (a null dropped, a default set). */
export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined) return false;
  const pruned = pruneNulls(value, schema);
  return fill(value, schema) || pruned;
}

/** Whether any node of `schema` has a default (reads skip defaulting for kinds that have none). */
export function hasDefaults(schema: JSONSchemaProps): boolean {
  let known = withDefaults.get(schema);
  if (known === undefined) {
    known =
      schema.default !== undefined ||
      Object.values(schema.properties ?? {}).some(hasDefaults) ||
      (schema.items !== undefined && hasDefaults(schema.items)) ||
      (typeof schema.additionalProperties === 'object' && hasDefaults(schema.additionalProperties));
    withDefaults.set(schema, known);
  }
  return known;
}

// Per schema node, so `fill` skips every subtree that has nothing to default (most of an object) in one lookup.
const withDefaults = new WeakMap<JSONSchemaProps, boolean>();

const fieldSchema = (schema: JSONSchemaProps | undefined, key: string): JSONSchemaProps | undefined =>
  schema?.properties?.[key] ??
  (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);

const nonNullableNull = (v: unknown, s: JSONSchemaProps | undefined): boolean =>
  v === null && s !== undefined && s.nullable !== true;

/**
 * Drops `null`s the schema does not allow and cannot default (Kubernetes' PruneNonNullableNullsWithoutDefaults).
 * Below a node without a schema nothing can be dropped, so the walk stops there.
 */
function pruneNulls(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined || typeof value !== 'object' || value === null) return false;
  let changed = false;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items !== undefined) for (const item of value) changed = pruneNulls(item, items) || changed;
    return changed;
  }
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) {
    const v = value[key];
    const s = fieldSchema(schema, key);
    if (s === undefined) continue;
    if (v === null) {
      if (s.nullable !== true && s.default === undefined) {
        delete value[key];
        changed = true;
      }
    } else if (typeof v === 'object') changed = pruneNulls(v, s) || changed;
  }
  return changed;
}

function fill(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined || !hasDefaults(schema)) return false;
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
  const plan = fillPlan(schema);
  for (const [key, prop] of plan.defaulted) {
    if (value[key] === undefined || nonNullableNull(value[key], prop)) {
      value[key] = cloneJson(prop.default);
      changed = true;
    }
  }
  for (const [key, prop] of plan.nested) if (Object.hasOwn(value, key)) changed = fill(value[key], prop) || changed;
  const additional = plan.additional;
  if (additional === undefined) return changed;
  for (const key of Object.keys(value)) {
    if (schema.properties?.[key] !== undefined) continue;
    if (nonNullableNull(value[key], additional) && additional.default !== undefined) {
      value[key] = cloneJson(additional.default);
      changed = true;
    }
    changed = fill(value[key], additional) || changed;
  }
  return changed;
}

/** What `fill` does at one object node: the properties it defaults, those it descends into, map values' schema. */
interface FillPlan {
  readonly defaulted: readonly (readonly [string, JSONSchemaProps])[];
  readonly nested: readonly (readonly [string, JSONSchemaProps])[];
  /** additionalProperties, when it has defaults somewhere (else map values have nothing to fill). */
  readonly additional: JSONSchemaProps | undefined;
}

const fillPlans = new WeakMap<JSONSchemaProps, FillPlan>();

function fillPlan(schema: JSONSchemaProps): FillPlan {
  let plan = fillPlans.get(schema);
  if (plan === undefined) {
    const props = Object.entries(schema.properties ?? {});
    const additional = schema.additionalProperties;
    plan = {
      defaulted: props.filter(([, prop]) => prop.default !== undefined),
      nested: props.filter(([, prop]) => hasDefaults(prop)),
      additional: typeof additional === 'object' && hasDefaults(additional) ? additional : undefined,
    };
    fillPlans.set(schema, plan);
  }
  return plan;
}
