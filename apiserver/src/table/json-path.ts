// The JSONPath subset CRD printer columns and selectable fields use: `.a.b`, `.a[0].b`, `.a[*].b`, `.a['x.y']`,
// and equality filters `.a[?(@.type=="Ready")].status`.

import { isPlainObject } from '../objects/object.js';

type Step = { field: string } | { index: number } | { all: true } | { filter: { field: string; value: string } };

const cache = new Map<string, Step[]>();

function compile(path: string): Step[] {
  let steps = cache.get(path);
  if (steps !== undefined) return steps;
  steps = [];
  const re =
    /\.([^.[\]]+)|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\["([^"]*)"\]|\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*["']([^"']*)["']\)\]/g;
  let m: RegExpExecArray | null;
  const body = path.trim().replace(/^\{(.*)\}$/, '$1');
  while ((m = re.exec(body)) !== null) {
    if (m[1] !== undefined) steps.push({ field: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ field: m[3] });
    else if (m[4] !== undefined) steps.push({ field: m[4] });
    else if (m[5] !== undefined) steps.push({ filter: { field: m[5], value: m[6] ?? '' } });
    else steps.push({ all: true });
  }
  cache.set(path, steps);
  return steps;
}

/** Every value the path selects (several when it contains `[*]`). */
export function evaluateJsonPath(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const step of compile(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('field' in step) {
        if (isPlainObject(v) && v[step.field] !== undefined) next.push(v[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if ('filter' in step) {
        if (Array.isArray(v))
          next.push(...v.filter((x) => isPlainObject(x) && String(x[step.filter.field]) === step.filter.value));
      } else if (Array.isArray(v)) {
        next.push(...v);
      }
    }
    current = next;
  }
  return current;
}
