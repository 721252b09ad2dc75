// Kubernetes' validation ratcheting for custom resources (CRDValidationRatcheting, on by default in 1.32): on
// update, a schema error on a value that did not change from the stored object is not an error, so a CRD can
// tighten its schema without locking existing objects.

import { jsonEqual } from '../objects/object.js';

/** The segments of a field path as errors render it: `spec.ports[0].name`, `metadata.labels[app.kubernetes.io/x]`. */
export function parseFieldPath(path: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '.') {
      if (cur !== '') out.push(cur);
      cur = '';
    } else if (c === '[') {
      if (cur !== '') out.push(cur);
      const end = path.indexOf(']', i);
      out.push(path.slice(i + 1, end < 0 ? path.length : end));
      cur = '';
      i = end < 0 ? path.length : end;
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

const MISSING = Symbol('missing');

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (Array.isArray(v)) v = /^\d+$/.test(s) ? v[Number(s)] : MISSING;
    else if (typeof v === 'object' && v !== null) v = s in v ? (v as Record<string, unknown>)[s] : MISSING;
    else return MISSING;
    if (v === undefined) return MISSING;
  }
  return v;
}

/** Whether the value at `path` is the same in `next` and `prev` (both absent counts as the same). */
export function unchangedAt(path: string, next: unknown, prev: unknown): boolean {
  const segments = parseFieldPath(path);
  const a = valueAt(next, segments);
  const b = valueAt(prev, segments);
  return a === MISSING ? b === MISSING : b !== MISSING && jsonEqual(a, b);
}
