// Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, as apimachinery's
// strategicpatch applies it: lists with patch strategy `merge` merge by their merge key, other lists are
// replaced, and the `$patch`, `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…`
// directives are honoured.

import { BerthError } from '@berth/api';
import { toApiError } from '../errors/status.js';
import {
  compileSchema,
  fieldType,
  type ListType,
  type MapType,
  type TypeNode,
  UNTYPED,
} from '../field-ownership/schema-type.js';
import { isJsonObject, jsonClone, type JsonObject, type JsonValue } from './json-value.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

export type StrategicMergeErrorCode =
  /** A malformed directive (Kubernetes: 400 BadRequest). */
  | 'BERTH_SMP_BAD_REQUEST'
  /** A patch the object cannot take: missing merge key, mixed list types (answered 422 Invalid). */
  | 'BERTH_SMP_INVALID';

/** A strategic merge patch that cannot be applied; `message` is apimachinery's wording. */
export class StrategicMergeError extends BerthError<StrategicMergeErrorCode> {
  /** The HTTP status the API server answers with (from its one table). */
  get httpStatus(): 400 | 422 {
    return toApiError(this).error.httpStatus as 400 | 422;
  }
}

const bad = (m: string): StrategicMergeError => new StrategicMergeError('BERTH_SMP_BAD_REQUEST', m);
const invalid = (m: string): StrategicMergeError => new StrategicMergeError('BERTH_SMP_INVALID', m);
const ERR_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const ERR_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_SET_ORDER = 'invalid patch format of setElementOrder list';

/**
 * Apply a strategic merge `patch` to `original`, typed by the kind's schema (JSONSchemaProps with
 * `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`). Inputs are not mutated.
 */
export function applyStrategicMergePatch(
  original: JsonObject,
  patch: JsonValue,
  schema: JsonObject | undefined,
): JsonObject {
  if (!isJsonObject(patch)) throw bad('invalid JSON document');
  const type = compileSchema(schema);
  const out = mergeMap(jsonClone(original), jsonClone(patch), type);
  return out ?? {};
}

function asMap(t: TypeNode): MapType | undefined {
  return t.kind === 'map' ? t : undefined;
}

function childType(t: TypeNode, key: string): TypeNode {
  const m = asMap(t);
  return m ? fieldType(m, key).type : UNTYPED;
}

function mergeMap(original: JsonObject | undefined, patch: JsonObject, t: TypeNode): JsonObject | undefined {
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (d === 'delete') return {};
    throw invalid(`unknown patch type: ${String(d)} in map: ${goMap(patch)}`);
  }
  const orig: JsonObject = original ?? {};
  applyRetainKeys(orig, patch);
  mergeSetElementOrder(orig, patch, t);

  for (const key of Object.keys(patch)) {
    const patchV = patch[key] as JsonValue;
    let k = key;
    let isDeleteList = false;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(key, DELETE_FROM_PRIMITIVE_LIST, ERR_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    const origV = orig[k];
    if (origV === undefined || kindOf(origV) !== kindOf(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) orig[k] = v as JsonValue;
        else delete orig[k];
      }
      continue;
    }
    const ct = childType(t, k);
    if (isJsonObject(origV) && isJsonObject(patchV)) {
      const replace = ct.kind === 'map' && ct.patchReplace;
      const merged = replace ? patchV : mergeMap(origV, patchV, ct);
      if (merged === undefined) delete orig[k];
      else orig[k] = merged;
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const lt = ct.kind === 'list' ? ct : undefined;
      orig[k] = lt?.patchMerge || isDeleteList ? mergeSlice(origV, patchV, lt, isDeleteList) : patchV;
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) orig[k] = v as JsonValue;
      else delete orig[k];
    }
  }
  return orig;
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!(RETAIN_KEYS in patch)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw bad(ERR_RETAIN_KEYS);
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw bad(ERR_RETAIN_KEYS);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function extractKey(s: string, prefix: string, err: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) throw bad(err);
  return s.slice(i + 1);
}

/** Handle every `$setElementOrder/<field>`: merge that field's list, then order it as the directive says. */
function mergeSetElementOrder(original: JsonObject, patch: JsonObject, t: TypeNode): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw invalid(`expected a []interface {}, but received a ${goType(order)}`);
    const field = extractKey(key, SET_ELEMENT_ORDER, ERR_SET_ORDER);
    const origList = original[field];
    const patchList = patch[field];
    if (origList !== undefined && !Array.isArray(origList))
      throw invalid(`expected a []interface {}, but received a ${goType(origList)}`);
    if (patchList !== undefined && !Array.isArray(patchList))
      throw invalid(`expected a []interface {}, but received a ${goType(patchList)}`);
    const ct = childType(t, field);
    const lt = ct.kind === 'list' ? ct : undefined;
    const mergeKey = lt?.patchMergeKey ?? '';
    validateSetOrder(patchList ?? [], order, mergeKey);
    let merged: JsonValue[];
    if (origList !== undefined && patchList === undefined) merged = origList;
    else if (origList === undefined && patchList !== undefined) {
      const [v, keep] = removeDirectives(patchList);
      if (!keep) continue;
      merged = v as JsonValue[];
    } else if (origList !== undefined && patchList !== undefined) {
      merged = lt?.patchMerge ? mergeSlice(origList, patchList, lt, false) : patchList;
    } else continue;
    const [inOrder, serverOnly] =
      mergeKey === '' ? partitionPrimitives(merged, order) : partitionMaps(merged, order, mergeKey);
    const kind = elementKind(origList ?? [], patchList ?? []);
    original[field] = normalizeElementOrder(inOrder, serverOnly, order, origList ?? [], mergeKey, kind);
    delete patch[field];
  }
}

function validateSetOrder(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete =
    mergeKey !== '' ? patchList.filter((v) => !(isJsonObject(v) && v[DIRECTIVE] === 'delete')) : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < nonDelete.length && oi < order.length) {
    const p = nonDelete[pi] as JsonValue;
    if (isJsonObject(p) && DIRECTIVE in p) {
      pi++;
      continue;
    }
    if (mergeKeyValueEqual(p, order[oi] as JsonValue, mergeKey)) pi++;
    oi++;
  }
  if (pi < nonDelete.length && oi >= order.length) {
    throw invalid(
      `The order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goValue(order)}\n`,
    );
  }
}

function mergeKeyValueEqual(l: JsonValue, r: JsonValue, mergeKey: string): boolean {
  if (mergeKey === '') return l === r;
  if (!isJsonObject(l) || !isJsonObject(r))
    throw invalid(`expected a map[string]interface {}, but received a ${goType(isJsonObject(l) ? r : l)}`);
  if (!(mergeKey in l)) throw noMergeKey(l, mergeKey);
  if (!(mergeKey in r)) throw noMergeKey(r, mergeKey);
  return l[mergeKey] === r[mergeKey];
}

function noMergeKey(m: JsonObject, k: string): StrategicMergeError {
  return invalid(`map: ${goMap(m)} does not contain declared merge key: ${k}`);
}

type Kind = 'map' | 'scalar';

function kindOf(v: JsonValue): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function elementKind(...lists: JsonValue[][]): Kind {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = kindOf(v);
      if (prev === undefined) {
        if (k === 'array') throw invalid('lists of lists are not supported');
        prev = k;
      } else if (prev !== k)
        throw invalid(`list element types are not identical: ${goValue(lists as unknown as JsonValue)}`);
    }
  }
  if (prev === undefined) throw invalid('no elements in any of the given slices');
  return prev === 'object' ? 'map' : 'scalar';
}

function mergeSlice(
  original: JsonValue[],
  patch: JsonValue[],
  lt: ListType | undefined,
  isDeleteList: boolean,
): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  const mergeKey = lt?.patchMergeKey ?? '';
  let merged: JsonValue[];
  let orig = original;
  let p = patch;
  if (kind !== 'map') {
    if (isDeleteList) {
      const del = new Set(patch);
      return original.filter((v) => !del.has(v));
    }
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw invalid(`cannot merge lists without merge key for ${''}`);
    [orig, p] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(orig, p, mergeKey, lt?.items ?? UNTYPED);
  }
  const [inPatch, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, p) : partitionMaps(merged, p, mergeKey);
  return normalizeElementOrder(inPatch, serverOnly, p, orig, mergeKey, kind);
}

function mergeSliceWithSpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
): [JsonValue[], JsonValue[]] {
  const plain: JsonValue[] = [];
  let replace = false;
  let orig = original;
  for (const v of patch) {
    const m = v as JsonObject;
    if (!(DIRECTIVE in m)) {
      plain.push(v);
      continue;
    }
    const d = m[DIRECTIVE];
    if (d === 'delete') {
      if (!(mergeKey in m)) throw noMergeKey(m, mergeKey);
      const key = m[mergeKey];
      orig = orig.filter((o) => !(isJsonObject(o) && o[mergeKey] === key));
    } else if (d === 'replace') replace = true;
    else if (d === 'merge') throw invalid('merging lists cannot yet be specified in the patch');
    else throw invalid(`unknown patch type: ${String(d)} in map: ${goMap(m)}`);
  }
  return replace ? [plain, []] : [orig, plain];
}

function mergeSliceWithoutSpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
  itemType: TypeNode,
): JsonValue[] {
  const out = [...original];
  for (const v of patch) {
    const m = v as JsonObject;
    if (!(mergeKey in m)) throw noMergeKey(m, mergeKey);
    const key = m[mergeKey];
    const i = out.findIndex((o) => {
      if (!isJsonObject(o)) throw invalid(`value for key ${out.indexOf(o)} is not a map`);
      return mergeKey in o && o[mergeKey] === key;
    });
    if (i >= 0) {
      const merged = mergeMap(out[i] as JsonObject, m, itemType);
      out[i] = merged ?? {};
    } else out.push(v);
  }
  return out;
}

/** apimachinery's deduplicateScalars, order quirks included (a duplicate is replaced by the last item). */
function deduplicateScalars(s: JsonValue[]): JsonValue[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length] as JsonValue;
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

function partitionPrimitives(list: JsonValue[], by: JsonValue[]): [JsonValue[], JsonValue[]] {
  const inBy = new Set(by);
  const a: JsonValue[] = [];
  const b: JsonValue[] = [];
  for (const v of list) (inBy.has(v) ? a : b).push(v);
  return [a, b];
}

function partitionMaps(list: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const a: JsonValue[] = [];
  const b: JsonValue[] = [];
  for (const v of list) {
    if (!isJsonObject(v)) throw invalid(`expected a map[string]interface {}, but received a ${goType(v)}`);
    if (!(mergeKey in v)) throw noMergeKey(v, mergeKey);
    const found = by.some((o) => isJsonObject(o) && mergeKey in o && o[mergeKey] === v[mergeKey]);
    (found ? a : b).push(v);
  }
  return [a, b];
}

function indexIn(l: JsonValue[], v: JsonValue, mergeKey: string, kind: Kind): number {
  const get = (x: JsonValue): JsonValue | undefined =>
    kind === 'map' ? (isJsonObject(x) ? x[mergeKey] : undefined) : x;
  const want = get(v);
  for (let i = 0; i < l.length; i++) if (get(l[i] as JsonValue) === want) return i;
  return -1;
}

function normalizeSliceOrder(toSort: JsonValue[], order: JsonValue[], mergeKey: string, kind: Kind): JsonValue[] {
  let items = toSort;
  let toDelete: JsonValue[] = [];
  if (kind === 'map') {
    for (const l of [toSort, order])
      for (const v of l) if (isJsonObject(v) && !(mergeKey in v)) throw noMergeKey(v, mergeKey);
    items = toSort.filter((v) => !(isJsonObject(v) && v[DIRECTIVE] === 'delete'));
    toDelete = toSort.filter((v) => isJsonObject(v) && v[DIRECTIVE] === 'delete');
  }
  const sorted = [...items].sort((a, b) => {
    const ia = indexIn(order, a, mergeKey, kind);
    const ib = indexIn(order, b, mergeKey, kind);
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  });
  return [...sorted, ...toDelete];
}

/** Interleave the server-only items into the patch's items, keeping the live object's relative order. */
function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: Kind,
): JsonValue[] {
  const right = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++] as JsonValue);
    else if (j >= right.length) out.push(left[i++] as JsonValue);
    else {
      const li = indexIn(serverOrder, left[i] as JsonValue, mergeKey, kind);
      const ri = indexIn(serverOrder, right[j] as JsonValue, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++] as JsonValue);
      else out.push(right[j++] as JsonValue);
    }
  }
  return out;
}

/** Strip directive markers from a value that is copied in whole; `false` when it says `$patch` itself. */
function removeDirectives(v: JsonValue): [JsonValue | undefined, boolean] {
  if (isJsonObject(v)) {
    if (DIRECTIVE in v) return [undefined, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k] as JsonValue);
      if (keep) v[k] = nv as JsonValue;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const [nv, keep] = removeDirectives(x);
      if (keep) out.push(nv as JsonValue);
    }
    return [out, true];
  }
  return [v, true];
}

function discardNulls(v: JsonValue): void {
  if (isJsonObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k] as JsonValue);
    }
  } else if (Array.isArray(v)) for (const x of v) discardNulls(x);
}

// Go's fmt spelling of values, used where apimachinery's messages embed them.
function goType(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return typeof v === 'number' ? 'float64' : typeof v === 'boolean' ? 'bool' : 'string';
}
function goValue(v: JsonValue): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') return goMap(v);
  return String(v);
}
function goMap(m: JsonObject): string {
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${goValue(m[k] as JsonValue)}`)
    .join(' ')}]`;
}
