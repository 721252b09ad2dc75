// Sets of field paths (structured-merge-diff's fieldpath.Set) as a trie keyed by FieldsV1 path elements,
// with their FieldsV1 encoding and the `.spec.containers[name="web"].image` form used in conflict messages.

import { isJsonObject, type JsonObject, type JsonValue } from '../patch/json-value.js';

/**
 * A path element in FieldsV1 spelling: `f:<field>`, `k:<json object of key fields, sorted by name>`,
 * `v:<json value>` (set item) or `i:<index>`.
 */
export type PathElement = string;

/** A node of the trie: `member` says the path ending here is in the set (FieldsV1's `.`). */
export interface FieldSet {
  member: boolean;
  children: Map<PathElement, FieldSet> | undefined;
}

export function emptySet(): FieldSet {
  return { member: false, children: undefined };
}

export function isEmpty(s: FieldSet | undefined): boolean {
  return s === undefined || (!s.member && (s.children === undefined || s.children.size === 0));
}

/** Add `path` to `s` (mutates; used while building a set). */
export function insert(s: FieldSet, path: readonly PathElement[]): void {
  let n = s;
  for (const pe of path) {
    n.children ??= new Map();
    let c = n.children.get(pe);
    if (!c) {
      c = emptySet();
      n.children.set(pe, c);
    }
    n = c;
  }
  if (path.length > 0) n.member = true;
}

export function child(s: FieldSet | undefined, pe: PathElement): FieldSet | undefined {
  return s?.children?.get(pe);
}

export function has(s: FieldSet, path: readonly PathElement[]): boolean {
  let n: FieldSet | undefined = s;
  for (const pe of path) {
    n = n.children?.get(pe);
    if (!n) return false;
  }
  return path.length > 0 && n.member;
}

export function union(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  if (isEmpty(a)) return copy(b);
  if (isEmpty(b)) return copy(a);
  const x = a as FieldSet;
  const y = b as FieldSet;
  const out: FieldSet = { member: x.member || y.member, children: undefined };
  if (x.children || y.children) {
    out.children = new Map();
    for (const [k, v] of x.children ?? []) out.children.set(k, union(v, y.children?.get(k)));
    for (const [k, v] of y.children ?? []) if (!out.children.has(k)) out.children.set(k, copy(v));
  }
  return out;
}

/** Members of `a` not members of `b` (structured-merge-diff's Difference: not recursive under a member of `b`). */
export function difference(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  if (isEmpty(a)) return emptySet();
  const x = a as FieldSet;
  if (isEmpty(b)) return copy(x);
  const y = b as FieldSet;
  const out: FieldSet = { member: x.member && !y.member, children: undefined };
  for (const [k, v] of x.children ?? []) {
    const d = difference(v, y.children?.get(k));
    if (!isEmpty(d)) (out.children ??= new Map()).set(k, d);
  }
  return out;
}

/** `a` without any path that is a member of `b` or lies under one. */
export function recursiveDifference(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  if (isEmpty(a)) return emptySet();
  const x = a as FieldSet;
  if (isEmpty(b)) return copy(x);
  const y = b as FieldSet;
  const out: FieldSet = { member: x.member && !y.member, children: undefined };
  for (const [k, v] of x.children ?? []) {
    const yc = y.children?.get(k);
    if (yc?.member) continue;
    const d = recursiveDifference(v, yc);
    if (!isEmpty(d)) (out.children ??= new Map()).set(k, d);
  }
  return out;
}

export function intersection(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  if (isEmpty(a) || isEmpty(b)) return emptySet();
  const x = a as FieldSet;
  const y = b as FieldSet;
  const out: FieldSet = { member: x.member && y.member, children: undefined };
  const [small, big] = (x.children?.size ?? 0) <= (y.children?.size ?? 0) ? [x, y] : [y, x];
  for (const [k, v] of small.children ?? []) {
    const i = intersection(v, big.children?.get(k));
    if (!isEmpty(i)) (out.children ??= new Map()).set(k, i);
  }
  return out;
}

export function equalSets(a: FieldSet | undefined, b: FieldSet | undefined): boolean {
  if (isEmpty(a)) return isEmpty(b);
  if (isEmpty(b)) return false;
  const x = a as FieldSet;
  const y = b as FieldSet;
  if (x.member !== y.member) return false;
  const xc = x.children;
  const yc = y.children;
  let nx = 0;
  for (const [k, v] of xc ?? []) {
    if (isEmpty(v)) continue;
    nx++;
    if (!equalSets(v, yc?.get(k))) return false;
  }
  let ny = 0;
  for (const v of yc?.values() ?? []) if (!isEmpty(v)) ny++;
  return nx === ny;
}

export function copy(s: FieldSet | undefined): FieldSet {
  if (!s) return emptySet();
  const out: FieldSet = { member: s.member, children: undefined };
  if (s.children) {
    out.children = new Map();
    for (const [k, v] of s.children) out.children.set(k, copy(v));
  }
  return out;
}

/** Every member path, in FieldsV1 order. */
export function members(s: FieldSet): PathElement[][] {
  const out: PathElement[][] = [];
  const walk = (n: FieldSet, prefix: PathElement[]): void => {
    if (n.member && prefix.length > 0) out.push(prefix);
    for (const k of sortedKeys(n)) walk(n.children?.get(k) as FieldSet, [...prefix, k]);
  };
  walk(s, []);
  return out;
}

// --- path elements ---------------------------------------------------------------------------------

export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/** `k:{...}` with the key fields sorted by name, as structured-merge-diff serializes them. */
export function keyElement(fields: ReadonlyArray<readonly [string, JsonValue]>): PathElement {
  const sorted = fields.length > 1 ? [...fields].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) : fields;
  let s = 'k:{';
  for (let i = 0; i < sorted.length; i++) {
    const [name, value] = sorted[i] as readonly [string, JsonValue];
    if (i > 0) s += ',';
    s += `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return `${s}}`;
}

export function valueElement(v: JsonValue): PathElement {
  return `v:${JSON.stringify(v)}`;
}

/** Normalize an element read from client-written FieldsV1 (key order, number spelling). */
function canonicalElement(pe: string): PathElement {
  if (pe.startsWith('k:')) {
    const parsed: unknown = JSON.parse(pe.slice(2));
    if (!isJsonObject(parsed as JsonValue)) throw new Error(`invalid key path element ${pe}`);
    return keyElement(Object.entries(parsed as JsonObject));
  }
  if (pe.startsWith('v:')) return valueElement(JSON.parse(pe.slice(2)) as JsonValue);
  if (pe.startsWith('f:') || pe.startsWith('i:')) return pe;
  throw new Error(`invalid path element ${JSON.stringify(pe)}`);
}

const TYPE_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function compareElements(a: PathElement, b: PathElement): number {
  const ta = TYPE_ORDER[a[0] as string] ?? 9;
  const tb = TYPE_ORDER[b[0] as string] ?? 9;
  if (ta !== tb) return ta - tb;
  if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  if (a[0] === 'v' || a[0] === 'k') {
    const va = JSON.parse(a.slice(2)) as JsonValue;
    const vb = JSON.parse(b.slice(2)) as JsonValue;
    return compareValues(va, vb);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Value order of structured-merge-diff (value.Compare): numbers numerically, then by type. */
function compareValues(a: JsonValue, b: JsonValue): number {
  const rank = (v: JsonValue): number =>
    v === null
      ? 0
      : typeof v === 'boolean'
        ? 1
        : typeof v === 'number'
          ? 2
          : typeof v === 'string'
            ? 3
            : Array.isArray(v)
              ? 4
              : 5;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const x = ka[i] as string;
      const y = kb[i] as string;
      if (x !== y) return x < y ? -1 : 1;
      const c = compareValues(a[x] as JsonValue, b[y] as JsonValue);
      if (c !== 0) return c;
    }
    return ka.length - kb.length;
  }
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function sortedKeys(n: FieldSet): PathElement[] {
  if (!n.children) return [];
  const keys: PathElement[] = [];
  let fieldsOnly = true;
  for (const [k, c] of n.children) {
    if (isEmpty(c)) continue;
    keys.push(k);
    if (k[0] !== 'f') fieldsOnly = false;
  }
  // Field names alone (most levels of an object) order as plain strings: no element parsing per comparison.
  return fieldsOnly ? keys.sort() : keys.sort(compareElements);
}

// --- FieldsV1 ----------------------------------------------------------------------------------------

/** Encode a set as FieldsV1 JSON: `.` first, then elements in structured-merge-diff order. */
export function encodeFieldsV1(s: FieldSet): JsonObject {
  const out: JsonObject = {};
  const walk = (n: FieldSet, into: JsonObject): void => {
    for (const k of sortedKeys(n)) {
      const c = n.children?.get(k) as FieldSet;
      const o: JsonObject = {};
      if (c.member && c.children && c.children.size > 0) o['.'] = {};
      walk(c, o);
      into[k] = o;
    }
  };
  walk(s, out);
  return out;
}

/** Decode FieldsV1 JSON; throws on anything that is not a FieldsV1 tree. */
export function decodeFieldsV1(v: JsonValue | undefined): FieldSet {
  const root = emptySet();
  if (v === undefined || v === null) return root;
  if (!isJsonObject(v)) throw new Error('FieldsV1 must be an object');
  const walk = (o: JsonObject, n: FieldSet): void => {
    for (const [k, sub] of Object.entries(o)) {
      if (!isJsonObject(sub)) throw new Error(`FieldsV1 entry ${JSON.stringify(k)} must be an object`);
      if (k === '.') {
        n.member = true;
        continue;
      }
      const c = emptySet();
      if (Object.keys(sub).length === 0) c.member = true;
      else walk(sub, c);
      (n.children ??= new Map()).set(canonicalElement(k), c);
    }
  };
  walk(v, root);
  root.member = false;
  return root;
}

/** `.spec.containers[name="web"].image`, the form Kubernetes puts in conflict messages and causes. */
export function pathString(path: readonly PathElement[]): string {
  let s = '';
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        s += `.${body}`;
        break;
      case 'k': {
        const o = JSON.parse(body) as JsonObject;
        s += `[${Object.entries(o)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
        break;
      }
      case 'v':
        s += `[=${body}]`;
        break;
      default:
        s += `[${body}]`;
    }
  }
  return s;
}
