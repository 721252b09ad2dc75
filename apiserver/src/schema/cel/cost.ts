// A rough version of Kubernetes' CEL cost model: every node costs 1, a comprehension costs its body times the
// size of what it ranges over, string functions cost a tenth of their input's length. Sizes come from the
// schema (maxItems, maxProperties, maxLength, else what fits in a 3 MiB request) when a CRD is checked, and from
// the object itself when a rule runs.

import type { JSONSchemaProps } from '../json-schema.js';
import { nodesOf, type Expr } from './ast.js';
import { escapePropertyName } from './values.js';

/** Kubernetes' limits (apiextensions validation and celconfig). */
export const perExpressionEstimateLimit = 10_000_000;
export const perCrdEstimateLimit = 100_000_000;
export const perCallLimit = 1_000_000;
export const perObjectBudget = 10_000_000;

const maxRequestBytes = 3 * 1024 * 1024;
/** The shortest element of a list or map entry in JSON ("" plus a comma). */
const minElementBytes = 3;

/** The fewest bytes one element of a list (value and comma) or map (key, colon, value, comma) of `s` takes. */
function elementBytes(s: JSONSchemaProps | undefined): number {
  const value = (v: JSONSchemaProps | undefined) =>
    v?.type === 'integer' || v?.type === 'number' || v?.type === 'boolean' ? 1 : 2;
  if (s?.type === 'array') return value(s.items) + 1;
  if (s?.type === 'object')
    return 2 + 1 + value(typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined) + 1;
  return minElementBytes;
}

/** What the estimator knows about the value an expression yields. */
interface Shape {
  readonly schema: JSONSchemaProps | undefined;
  readonly value?: unknown;
  readonly known: boolean;
  /** The most bytes the value can take: a request's limit, shared among the elements of what holds it. */
  readonly bytes: number;
}

const unknownShape: Shape = { schema: undefined, known: false, bytes: maxRequestBytes };

export interface CostInputs {
  readonly self: JSONSchemaProps;
  /** At run time: the actual values of self and oldSelf, so sizes are the real ones. */
  readonly values?: { readonly self: unknown; readonly oldSelf?: unknown };
}

/** The estimated cost of `expr`. */
export function estimateCost(expr: Expr, inputs: CostInputs): number {
  const scope = new Map<string, Shape>([
    [
      'self',
      { schema: inputs.self, value: inputs.values?.self, known: inputs.values !== undefined, bytes: maxRequestBytes },
    ],
    [
      'oldSelf',
      {
        schema: inputs.self,
        value: inputs.values?.oldSelf,
        known: inputs.values !== undefined,
        bytes: maxRequestBytes,
      },
    ],
  ]);
  let cap: number | undefined;
  // At run time no size exceeds the object's own JSON length (computed only if a size is not known exactly).
  const capOf = () =>
    (cap ??= inputs.values === undefined ? Infinity : Math.max(1, JSON.stringify(inputs.values.self ?? null).length));
  return cost(expr, scope, capOf);
}

/** Whether an expression's cost depends on the sizes of its inputs (comprehensions, string functions). */
export function sizeDependent(expr: Expr): boolean {
  for (const n of nodesOf(expr)) {
    if (n.exprKind.case === 'comprehensionExpr') return true;
    if (n.exprKind.case === 'callExpr' && stringFunctions.has(n.exprKind.value.function)) return true;
  }
  return false;
}

function cost(e: Expr, scope: Map<string, Shape>, cap: () => number): number {
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
      return 0;
    case 'identExpr':
      return 1;
    case 'selectExpr':
      return 1 + (k.value.operand === undefined ? 0 : cost(k.value.operand, scope, cap));
    case 'listExpr':
      return 1 + k.value.elements.reduce((s, x) => s + cost(x, scope, cap), 0);
    case 'structExpr':
      return 1 + [...nodesOf(e)].length;
    case 'callExpr': {
      const parts = [...(k.value.target === undefined ? [] : [k.value.target]), ...k.value.args];
      let total = 1 + parts.reduce((s, x) => s + cost(x, scope, cap), 0);
      if (stringFunctions.has(k.value.function)) total += Math.ceil(sizeOf(shapeOf(parts[0], scope), cap) * 0.1);
      return total;
    }
    case 'comprehensionExpr': {
      const c = k.value;
      const range = shapeOf(c.iterRange, scope);
      const n = sizeOf(range, cap);
      const inner = new Map(scope);
      // n elements share the request: each is at most 1/n of what holds them.
      inner.set(c.iterVar, {
        schema: elementSchema(range.schema),
        known: false,
        bytes: Math.max(minElementBytes, Math.floor(range.bytes / Math.max(1, n))),
      });
      if (c.iterVar2 !== '') inner.set(c.iterVar2, unknownShape);
      inner.set(c.accuVar, unknownShape);
      const body =
        (c.loopCondition === undefined ? 0 : cost(c.loopCondition, inner, cap)) +
        (c.loopStep === undefined ? 0 : cost(c.loopStep, inner, cap));
      const around = [c.iterRange, c.accuInit, c.result].reduce(
        (s, x) => s + (x === undefined ? 0 : cost(x, inner, cap)),
        0,
      );
      return around + n * body;
    }
    default:
      return 1;
  }
}

const stringFunctions = new Set([
  'matches',
  'contains',
  'startsWith',
  'endsWith',
  'split',
  'replace',
  'find',
  'findAll',
  'lowerAscii',
  'upperAscii',
  'indexOf',
  'lastIndexOf',
  'join',
  'trim',
  'substring',
  'format',
  'isSorted',
  'sum',
  'min',
  'max',
  '@in',
  'sets.contains',
  'sets.equivalent',
  'sets.intersects',
]);

function elementSchema(s: JSONSchemaProps | undefined): JSONSchemaProps | undefined {
  if (s === undefined) return undefined;
  if (s.type === 'array') return s.items;
  return { type: 'string' };
}

/** What `e` evaluates to, when it is a path from self or an iteration variable. */
function shapeOf(e: Expr | undefined, scope: Map<string, Shape>): Shape {
  if (e === undefined) return unknownShape;
  const k = e.exprKind;
  if (k.case === 'identExpr') return scope.get(k.value.name) ?? unknownShape;
  if (k.case === 'selectExpr' && k.value.operand !== undefined) {
    const base = shapeOf(k.value.operand, scope);
    const name = k.value.field;
    const props = base.schema?.properties ?? {};
    const key = Object.keys(props).find((p) => escapePropertyName(p) === name);
    const schema =
      key !== undefined
        ? props[key]
        : typeof base.schema?.additionalProperties === 'object'
          ? base.schema.additionalProperties
          : undefined;
    const value =
      base.known && typeof base.value === 'object' && base.value !== null
        ? (base.value as Record<string, unknown>)[key ?? name]
        : undefined;
    return { schema, value, known: base.known, bytes: base.bytes };
  }
  return unknownShape;
}

function sizeOf(shape: Shape, cap: () => number): number {
  if (shape.known) {
    const v = shape.value;
    if (Array.isArray(v)) return v.length;
    if (typeof v === 'string') return v.length;
    if (typeof v === 'object' && v !== null) return Object.keys(v).length;
    return 1;
  }
  const s = shape.schema;
  const fits = s?.type === 'string' ? shape.bytes : Math.floor(shape.bytes / elementBytes(s));
  return Math.min(s?.maxItems ?? s?.maxProperties ?? s?.maxLength ?? fits, fits, cap());
}

/** Kubernetes' wording for an estimate over a limit ("by factor of 12.3x"). */
export function exceedsMessage(what: string, cost: number, limit: number): string {
  const factor = cost / limit;
  const text = factor > 100 ? 'more than 100x' : factor < 1.5 ? `${factor.toFixed(6)}x` : `${factor.toFixed(1)}x`;
  return `${what} exceeds budget by factor of ${text} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}
