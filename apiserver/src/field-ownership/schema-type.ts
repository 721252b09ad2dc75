// Turns a CRD-style OpenAPI v3 schema (JSONSchemaProps as plain JSON) into the small type tree that
// field ownership and merging walk: scalars, lists (atomic | set | map by keys), maps (granular | atomic).

import { isJsonObject, type JsonObject, type JsonValue } from '../patch/json-value.js';

export type TypeNode = ScalarType | ListType | MapType | UntypedType;

export interface ScalarType {
  readonly kind: 'scalar';
}

export interface ListType {
  readonly kind: 'list';
  /** atomic: replaced whole; set: items are scalars identified by value; map: items identified by `keys`. */
  readonly listType: 'atomic' | 'set' | 'map';
  readonly keys: readonly string[];
  /** Schema defaults of key fields, used when an item omits a key (as structured-merge-diff does). */
  readonly keyDefaults: ReadonlyMap<string, JsonValue>;
  readonly items: TypeNode;
  /** Strategic merge patch: `x-kubernetes-patch-strategy` contains `merge`. */
  readonly patchMerge: boolean;
  readonly patchMergeKey: string | undefined;
}

export interface MapType {
  readonly kind: 'map';
  /** Named fields (`properties`): a struct's fields are not themselves owned, only their leaves. */
  readonly fields: ReadonlyMap<string, TypeNode>;
  /** Type of keys not named in `fields` (`additionalProperties`, or untyped when unknown fields are kept). */
  readonly elements: TypeNode | undefined;
  readonly atomic: boolean;
  /** Strategic merge patch: `x-kubernetes-patch-strategy` contains `retainKeys`. */
  readonly retainKeys: boolean;
  /** Strategic merge patch: `x-kubernetes-patch-strategy: replace` on a map field. */
  readonly patchReplace: boolean;
}

/** No schema: structured-merge-diff's "deduced" type (objects are granular maps, arrays are atomic). */
export interface UntypedType {
  readonly kind: 'untyped';
}

export const UNTYPED: UntypedType = { kind: 'untyped' };
const SCALAR: ScalarType = { kind: 'scalar' };
const DEDUCED_MAP: MapType = {
  kind: 'map',
  fields: new Map(),
  elements: UNTYPED,
  atomic: false,
  retainKeys: false,
  patchReplace: false,
};
const DEDUCED_LIST: ListType = {
  kind: 'list',
  listType: 'atomic',
  keys: [],
  keyDefaults: new Map(),
  items: UNTYPED,
  patchMerge: false,
  patchMergeKey: undefined,
};

/** The type that applies to `value` at a node typed `t` (untyped nodes are deduced from the value). */
export function resolveType(t: TypeNode, value: JsonValue | undefined): TypeNode {
  if (t.kind !== 'untyped') return t;
  if (Array.isArray(value)) return DEDUCED_LIST;
  if (isJsonObject(value as JsonValue)) return DEDUCED_MAP;
  return SCALAR;
}

/** The type of map key `key` under a map type; also says whether it is a named (struct) field. */
export function fieldType(m: MapType, key: string): { type: TypeNode; named: boolean } {
  const f = m.fields.get(key);
  if (f !== undefined) return { type: f, named: true };
  return { type: m.elements ?? UNTYPED, named: false };
}

const compiled = new WeakMap<object, TypeNode>();

/**
 * Compile a resource's root schema (cached per schema object, so pass the same object each time).
 * `undefined` means "no schema". The root always gets Kubernetes' ObjectMeta for `metadata` (labels and
 * annotations granular, finalizers a set, ownerReferences a map keyed by uid), and `apiVersion`/`kind`.
 */
export function compileSchema(schema: JsonObject | undefined): TypeNode {
  if (schema === undefined) return compileRoot({});
  const hit = compiled.get(schema);
  if (hit) return hit;
  const t = compileRoot(schema);
  compiled.set(schema, t);
  return t;
}

function compileRoot(schema: JsonObject): TypeNode {
  const t = compileNode(schema);
  const base: MapType = t.kind === 'map' ? t : { ...DEDUCED_MAP, fields: new Map() };
  const fields = new Map(base.fields);
  fields.set('apiVersion', SCALAR);
  fields.set('kind', SCALAR);
  fields.set('metadata', OBJECT_META);
  return { ...base, fields, elements: base.elements ?? UNTYPED };
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function compileNode(s: JsonValue | undefined): TypeNode {
  if (!isJsonObject(s as JsonValue)) return UNTYPED;
  const schema = s as JsonObject;
  const type = str(schema['type']);
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema['x-kubernetes-int-or-string'] === true) return SCALAR;
  if (type === 'array' || schema['items'] !== undefined) {
    const lt = str(schema['x-kubernetes-list-type']);
    const keys = Array.isArray(schema['x-kubernetes-list-map-keys'])
      ? (schema['x-kubernetes-list-map-keys'] as JsonValue[]).filter((k): k is string => typeof k === 'string')
      : [];
    const items = compileNode(schema['items']);
    const strategy = str(schema['x-kubernetes-patch-strategy']) ?? '';
    const patchMerge = strategy.split(',').includes('merge');
    const mergeKey = str(schema['x-kubernetes-patch-merge-key']);
    let listType: ListType['listType'] = lt === 'set' ? 'set' : lt === 'map' && keys.length > 0 ? 'map' : 'atomic';
    if (lt === undefined && patchMerge) {
      // Built-in schemas without a list type: a strategic-merge list is associative (kube-openapi's schemaconv).
      listType = mergeKey !== undefined ? 'map' : 'set';
      if (mergeKey !== undefined) keys.push(mergeKey);
    }
    const keyDefaults = new Map<string, JsonValue>();
    if (items.kind === 'map') {
      const props = isJsonObject(schema['items'] as JsonValue)
        ? (schema['items'] as JsonObject)['properties']
        : undefined;
      for (const k of keys) {
        const d = isJsonObject(props as JsonValue)
          ? ((props as JsonObject)[k] as JsonObject | undefined)?.['default']
          : undefined;
        if (d !== undefined) keyDefaults.set(k, d);
      }
    }
    return {
      kind: 'list',
      listType,
      keys,
      keyDefaults,
      items,
      patchMerge,
      patchMergeKey: mergeKey,
    };
  }
  const props = schema['properties'];
  const addl = schema['additionalProperties'];
  if (
    type === 'object' ||
    isJsonObject(props as JsonValue) ||
    addl !== undefined ||
    preserve ||
    schema['x-kubernetes-embedded-resource'] === true
  ) {
    const fields = new Map<string, TypeNode>();
    if (isJsonObject(props as JsonValue)) {
      for (const [k, v] of Object.entries(props as JsonObject)) fields.set(k, compileNode(v));
    }
    if (schema['x-kubernetes-embedded-resource'] === true) {
      if (!fields.has('apiVersion')) fields.set('apiVersion', SCALAR);
      if (!fields.has('kind')) fields.set('kind', SCALAR);
      if (
        !fields.has('metadata') ||
        fields.get('metadata')?.kind !== 'map' ||
        (fields.get('metadata') as MapType).fields.size === 0
      ) {
        fields.set('metadata', OBJECT_META);
      }
    }
    let elements: TypeNode | undefined;
    if (isJsonObject(addl as JsonValue)) elements = compileNode(addl);
    else if (addl === true || preserve) elements = UNTYPED;
    // A struct without additionalProperties has no element type; unknown keys (pruned by the server
    // before we see them) are treated as untyped rather than refused.
    else if (fields.size === 0) elements = UNTYPED;
    const strategy = str(schema['x-kubernetes-patch-strategy']) ?? '';
    return {
      kind: 'map',
      fields,
      elements,
      atomic: str(schema['x-kubernetes-map-type']) === 'atomic',
      retainKeys: strategy.split(',').includes('retainKeys'),
      patchReplace: strategy === 'replace',
    };
  }
  if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') return SCALAR;
  return UNTYPED;
}

function map(fields: Record<string, TypeNode>, elements?: TypeNode): MapType {
  return {
    kind: 'map',
    fields: new Map(Object.entries(fields)),
    elements,
    atomic: false,
    retainKeys: false,
    patchReplace: false,
  };
}

const STRING_MAP = map({}, SCALAR);

/** metav1.ObjectMeta as the built-in OpenAPI describes it (list types included). */
export const OBJECT_META: MapType = map({
  name: SCALAR,
  generateName: SCALAR,
  namespace: SCALAR,
  selfLink: SCALAR,
  uid: SCALAR,
  resourceVersion: SCALAR,
  generation: SCALAR,
  creationTimestamp: SCALAR,
  deletionTimestamp: SCALAR,
  deletionGracePeriodSeconds: SCALAR,
  labels: STRING_MAP,
  annotations: STRING_MAP,
  ownerReferences: {
    kind: 'list',
    listType: 'map',
    keys: ['uid'],
    keyDefaults: new Map(),
    items: map({
      apiVersion: SCALAR,
      kind: SCALAR,
      name: SCALAR,
      uid: SCALAR,
      controller: SCALAR,
      blockOwnerDeletion: SCALAR,
    }),
    patchMerge: true,
    patchMergeKey: 'uid',
  },
  finalizers: {
    kind: 'list',
    listType: 'set',
    keys: [],
    keyDefaults: new Map(),
    items: SCALAR,
    patchMerge: true,
    patchMergeKey: undefined,
  },
  managedFields: {
    kind: 'list',
    listType: 'atomic',
    keys: [],
    keyDefaults: new Map(),
    items: UNTYPED,
    patchMerge: false,
    patchMergeKey: undefined,
  },
});
