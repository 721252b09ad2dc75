// Schema-driven walks over JSON objects, as structured-merge-diff's typed package does them: the field
// set an object sets, the difference between two objects, merging an applied config, removing fields.

import { BerthError } from '@berth/api';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../patch/json-value.js';
import {
  emptySet,
  fieldElement,
  insert,
  isEmpty,
  keyElement,
  valueElement,
  type FieldSet,
  type PathElement,
} from './field-set.js';
import { fieldType, resolveType, type ListType, type MapType, type TypeNode } from './schema-type.js';

/** An object that the schema's list semantics cannot index (map-list item without keys, set of objects). */
export class InvalidObjectError extends BerthError<'BERTH_APPLY_INVALID_OBJECT'> {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('BERTH_APPLY_INVALID_OBJECT', `${path}: ${message}`);
  }
}

/** The path element that identifies `item` in an associative (set or map) list. */
export function listItemElement(t: ListType, item: JsonValue, where: () => string): PathElement {
  if (t.listType === 'map') {
    if (!isJsonObject(item))
      throw new InvalidObjectError(where(), 'associative list with keys may not have non-map elements');
    const fields: Array<[string, JsonValue]> = [];
    for (const k of t.keys) {
      const v = item[k];
      if (v !== undefined) fields.push([k, v]);
      else {
        const d = t.keyDefaults.get(k);
        if (d !== undefined) fields.push([k, d]);
      }
    }
    if (fields.length === 0) {
      throw new InvalidObjectError(
        where(),
        `associative list with keys has an element that omits all key fields ${JSON.stringify(t.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    return keyElement(fields);
  }
  if (item === null)
    throw new InvalidObjectError(where(), "associative list without keys has an element that's an explicit null");
  if (typeof item === 'object') {
    throw new InvalidObjectError(
      where(),
      Array.isArray(item)
        ? 'not supported: associative list with lists as elements'
        : "associative list without keys has an element that's a map type",
    );
  }
  return valueElement(item);
}

type Shape = 'leaf' | 'list' | 'map';

/** How a value is walked at a node: atomic things and mismatched shapes are leaves. */
function shapeOf(t: TypeNode, v: JsonValue | undefined): Shape {
  if (t.kind === 'list')
    return t.listType === 'atomic' || !(Array.isArray(v) || v === null || v === undefined) ? 'leaf' : 'list';
  if (t.kind === 'map')
    return t.atomic || !(isJsonObject(v as JsonValue) || v === null || v === undefined) ? 'leaf' : 'map';
  return 'leaf';
}

// --- the field set of an object (typed.ToFieldSet) ----------------------------------------------------

/** The set of fields `value` sets: leaves, list items, non-struct map keys, empty or null values. */
export function toFieldSet(value: JsonValue, t: TypeNode): FieldSet {
  const root = emptySet();
  fill(value, t, root, () => '');
  return root;
}

function fill(v: JsonValue, t0: TypeNode, node: FieldSet, where: () => string): void {
  const t = resolveType(t0, v);
  const shape = shapeOf(t, v);
  if (shape === 'leaf') {
    node.member = true;
    return;
  }
  if (shape === 'list') {
    if (!Array.isArray(v)) return;
    const lt = t as ListType;
    const seen = new Set<PathElement>();
    const dups = new Set<PathElement>();
    const pes: PathElement[] = [];
    for (let i = 0; i < v.length; i++) {
      const pe = listItemElement(lt, v[i] as JsonValue, () => `${where()}[${i}]`);
      pes.push(pe);
      if (seen.has(pe)) dups.add(pe);
      seen.add(pe);
    }
    for (let i = 0; i < v.length; i++) {
      const pe = pes[i] as PathElement;
      const c = childNode(node, pe);
      if (!dups.has(pe)) fill(v[i] as JsonValue, lt.items, c, () => `${where()}[${i}]`);
      c.member = true;
    }
    return;
  }
  if (!isJsonObject(v)) return;
  const mt = t as MapType;
  for (const k in v) {
    const val = v[k] as JsonValue;
    const { type, named } = fieldType(mt, k);
    const c = childNode(node, fieldElement(k));
    fill(val, type, c, () => `${where()}.${k}`);
    if (val === null || (isJsonObject(val) && isEmptyObject(val)) || !named) c.member = true;
    if (isEmpty(c)) node.children?.delete(fieldElement(k));
  }
}

function childNode(n: FieldSet, pe: PathElement): FieldSet {
  n.children ??= new Map();
  let c = n.children.get(pe);
  if (!c) {
    c = emptySet();
    n.children.set(pe, c);
  }
  return c;
}

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * structured-merge-diff's EnsureNamedFieldsAreMembers: also count as members the struct fields that
 * only appear as parents of members.
 */
export function withNamedFields(s: FieldSet, t: TypeNode): FieldSet {
  const out: FieldSet = { member: s.member, children: undefined };
  if (!s.children) return out;
  out.children = new Map();
  for (const [pe, c] of s.children) {
    let ct: TypeNode;
    let named = false;
    if (pe.startsWith('f:') && t.kind === 'map') {
      const f = fieldType(t, pe.slice(2));
      ct = f.type;
      named = f.named;
    } else if (t.kind === 'list') ct = t.items;
    else if (t.kind === 'untyped') ct = t;
    else ct = { kind: 'untyped' };
    const sub = withNamedFields(c, ct);
    if (named) sub.member = true;
    out.children.set(pe, sub);
  }
  return out;
}

// --- comparing two objects (typed.Compare) -----------------------------------------------------------

export interface Comparison {
  readonly added: FieldSet;
  readonly removed: FieldSet;
  readonly modified: FieldSet;
}

export function compare(lhs: JsonValue | undefined, rhs: JsonValue | undefined, t: TypeNode): Comparison {
  const c = { added: emptySet(), removed: emptySet(), modified: emptySet() };
  cmp(lhs, rhs, t, [], c);
  return c;
}

function cmp(
  l: JsonValue | undefined,
  r: JsonValue | undefined,
  t0: TypeNode,
  path: PathElement[],
  c: Comparison,
): void {
  if (l === r) return; // same reference (or both absent): nothing below can differ
  const tl = resolveType(t0, l);
  const tr = resolveType(t0, r);
  const t = r !== undefined ? tr : tl;
  let shape = shapeOf(t, r !== undefined ? r : l);
  if (l !== undefined && r !== undefined && (tl.kind !== tr.kind || shapeOf(tl, l) !== shapeOf(tr, r))) shape = 'leaf';
  if (shape === 'list') {
    const la = Array.isArray(l) ? l : [];
    const ra = Array.isArray(r) ? r : [];
    if (la.length === 0 && ra.length === 0) shape = 'leaf';
    else {
      const lt = t as ListType;
      const where = (): string => path.join('.');
      const lm = new Map<PathElement, JsonValue>();
      for (const item of la) {
        const pe = listItemElement(lt, item, where);
        if (!lm.has(pe)) lm.set(pe, item);
      }
      const rm = new Map<PathElement, JsonValue>();
      for (const item of ra) {
        const pe = listItemElement(lt, item, where);
        if (!rm.has(pe)) rm.set(pe, item);
      }
      for (const [pe, li] of lm) {
        path.push(pe);
        cmp(li, rm.get(pe), lt.items, path, c);
        path.pop();
      }
      for (const [pe, ri] of rm) {
        if (lm.has(pe)) continue;
        path.push(pe);
        cmp(undefined, ri, lt.items, path, c);
        path.pop();
      }
    }
  } else if (shape === 'map') {
    const lo = isJsonObject(l as JsonValue) ? (l as JsonObject) : undefined;
    const ro = isJsonObject(r as JsonValue) ? (r as JsonObject) : undefined;
    if ((lo === undefined || isEmptyObject(lo)) && (ro === undefined || isEmptyObject(ro))) shape = 'leaf';
    else {
      const mt = t as MapType;
      if (lo) {
        for (const k in lo) {
          path.push(fieldElement(k));
          cmp(lo[k], ro?.[k], fieldType(mt, k).type, path, c);
          path.pop();
        }
      }
      if (ro) {
        for (const k in ro) {
          if (lo && Object.hasOwn(lo, k)) continue;
          path.push(fieldElement(k));
          cmp(undefined, ro[k], fieldType(mt, k).type, path, c);
          path.pop();
        }
      }
    }
  }
  if (shape === 'leaf') {
    if (l === undefined) insert(c.added, path);
    else if (r === undefined) insert(c.removed, path);
    else if (!jsonEqual(l, r)) insert(c.modified, path);
    return;
  }
  if (l === undefined) insert(c.added, path);
  else if (r === undefined) insert(c.removed, path);
}

// --- merging an applied config into a live object (typed.Merge, keep-RHS rule) -----------------------

/** Merge `rhs` into `lhs`: rhs wins on leaves, maps merge per key, associative lists merge per item. */
export function merge(
  lhs: JsonValue | undefined,
  rhs: JsonValue | undefined,
  t0: TypeNode,
  path = '',
): JsonValue | undefined {
  if (rhs === undefined) return lhs;
  if (lhs === undefined) return rhs;
  const tl = resolveType(t0, lhs);
  const t = resolveType(t0, rhs);
  if (tl.kind !== t.kind) return rhs;
  const shape = shapeOf(t, rhs);
  if (shape !== shapeOf(tl, lhs) || shape === 'leaf') return rhs;
  if (shape === 'map') {
    const lo = isJsonObject(lhs) ? lhs : {};
    const ro = isJsonObject(rhs) ? rhs : {};
    if (isEmptyObject(lo) && isEmptyObject(ro)) return rhs;
    if (rhs === null) return lhs; // a null map merges as an empty one: the live keys stay
    const mt = t as MapType;
    const out: JsonObject = {};
    for (const k in lo) {
      const rv = ro[k];
      out[k] =
        rv === undefined
          ? (lo[k] as JsonValue)
          : (merge(lo[k], rv, fieldType(mt, k).type, `${path}.${k}`) as JsonValue);
    }
    for (const k in ro) if (!(k in out)) out[k] = ro[k] as JsonValue;
    return out;
  }
  const la = Array.isArray(lhs) ? lhs : [];
  const ra = Array.isArray(rhs) ? rhs : [];
  if (la.length === 0 && ra.length === 0) return rhs;
  if (rhs === null) return lhs;
  return mergeList(la, ra, t as ListType, path);
}

/** structured-merge-diff's list merge: rhs order wins for shared items, lhs-only items stay near their place. */
function mergeList(la: JsonValue[], ra: JsonValue[], t: ListType, path: string): JsonValue[] {
  const where = (): string => path;
  const lPEs: PathElement[] = [];
  const lm = new Map<PathElement, JsonValue>();
  for (const item of la) {
    const pe = listItemElement(t, item, where);
    lPEs.push(pe);
    if (!lm.has(pe)) lm.set(pe, item);
  }
  const rPEs: PathElement[] = [];
  const rm = new Map<PathElement, JsonValue>();
  for (const item of ra) {
    const pe = listItemElement(t, item, where);
    if (rm.has(pe)) throw new InvalidObjectError(path, `duplicate entries for key ${pe}`);
    rPEs.push(pe);
    rm.set(pe, item);
  }
  const shared = rPEs.filter((pe) => lm.has(pe));
  let sharedI = 0;
  let nextShared: PathElement | undefined = shared[sharedI++];
  const mergedRHS = new Set<PathElement>();
  const out: JsonValue[] = [];
  const push = (v: JsonValue | undefined): void => {
    if (v !== undefined) out.push(v);
  };
  for (let lI = 0, rI = 0; lI < lPEs.length || rI < rPEs.length; ) {
    if (lI < lPEs.length && rI < rPEs.length) {
      const pe = lPEs[lI] as PathElement;
      if (pe === rPEs[rI]) {
        mergedRHS.add(pe);
        push(merge(lm.get(pe), rm.get(pe), t.items, path));
        lI++;
        rI++;
        nextShared = shared[sharedI++];
        continue;
      }
      if (rm.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < lPEs.length) {
      const pe = lPEs[lI] as PathElement;
      if (!rm.has(pe)) {
        push(la[lI]);
        lI++;
        continue;
      } else if (mergedRHS.has(pe)) {
        lI++;
      }
    }
    if (rI < rPEs.length) {
      const pe = rPEs[rI] as PathElement;
      mergedRHS.add(pe);
      push(merge(lm.get(pe), rm.get(pe), t.items, path));
      rI++;
      if (nextShared !== undefined && nextShared === pe) nextShared = shared[sharedI++];
    }
  }
  return out;
}

// --- removing fields (typed.RemoveItems) -------------------------------------------------------------

/**
 * `value` without every path that is a member of `s` (with everything under it). Containers emptied
 * by the removal stay as `{}`/`[]`, as structured-merge-diff does since it stopped turning them into null.
 */
export function removeItems(value: JsonValue, s: FieldSet, t0: TypeNode): JsonValue {
  if (isEmpty(s) || !s.children) return value;
  const t = resolveType(t0, value);
  const shape = shapeOf(t, value);
  if (shape === 'map' && isJsonObject(value)) {
    const mt = t as MapType;
    let out: JsonObject | undefined;
    for (const k in value) {
      const c = s.children.get(fieldElement(k));
      if (!c) continue;
      out ??= { ...value };
      if (c.member) delete out[k];
      else out[k] = removeItems(value[k] as JsonValue, c, fieldType(mt, k).type);
    }
    return out ?? value;
  }
  if (shape === 'list' && Array.isArray(value)) {
    const lt = t as ListType;
    let changed = false;
    const out: JsonValue[] = [];
    for (const item of value) {
      const c = s.children.get(listItemElement(lt, item, () => ''));
      if (!c) {
        out.push(item);
        continue;
      }
      changed = true;
      if (!c.member) out.push(removeItems(item, c, lt.items));
    }
    return changed ? out : value;
  }
  return value;
}

/** Keep only the top-level fields `keep` says (used for the status subresource). */
export function pickTop(o: JsonObject, keep: (k: string) => boolean): JsonObject {
  const out: JsonObject = {};
  for (const k in o) if (keep(k)) out[k] = o[k] as JsonValue;
  return out;
}

// --- does a config change anything? ------------------------------------------------------------------

/**
 * True when `merge(lhs, rhs)` would equal `lhs` in content and order, checked without building the merge
 * (the common no-op re-apply). False also when unsure; callers then take the full path.
 */
export function covers(lhs: JsonValue | undefined, rhs: JsonValue | undefined, t0: TypeNode): boolean {
  if (rhs === undefined || lhs === rhs) return true;
  if (lhs === undefined) return false;
  const tl = resolveType(t0, lhs);
  const t = resolveType(t0, rhs);
  if (tl.kind !== t.kind) return false;
  const shape = shapeOf(t, rhs);
  if (shape !== shapeOf(tl, lhs) || shape === 'leaf') return jsonEqual(lhs, rhs);
  if (shape === 'map') {
    if (rhs === null) return isJsonObject(lhs) && !isEmptyObject(lhs);
    if (!isJsonObject(lhs) || !isJsonObject(rhs)) return false;
    if (isEmptyObject(rhs)) return isEmptyObject(lhs);
    const mt = t as MapType;
    for (const k in rhs) {
      if (!covers(lhs[k], rhs[k], fieldType(mt, k).type)) return false;
    }
    return true;
  }
  if (rhs === null) return Array.isArray(lhs) && lhs.length > 0;
  if (!Array.isArray(lhs) || !Array.isArray(rhs)) return false;
  if (rhs.length === 0) return lhs.length === 0;
  const lt = t as ListType;
  // Every rhs item must match an lhs item, in the same relative order (then the merge keeps lhs's order).
  const where = (): string => '';
  const index = new Map<PathElement, number>();
  for (let i = 0; i < lhs.length; i++) {
    const pe = listItemElement(lt, lhs[i] as JsonValue, where);
    if (index.has(pe)) return false;
    index.set(pe, i);
  }
  let prev = -1;
  for (const item of rhs) {
    const i = index.get(listItemElement(lt, item, where));
    if (i === undefined || i <= prev) return false;
    prev = i;
    if (!covers(lhs[i], item, lt.items)) return false;
  }
  return true;
}
