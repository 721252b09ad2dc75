// Compiles a CRD's x-kubernetes-validations rule (and its messageExpression) once: parse, reject unknown
// functions and variables as Kubernetes' type check would, estimate its cost, plan it for evaluation.

import { parse, plan, type CelResult, type CelInput } from '@bufbuild/cel';
import type { JSONSchemaProps } from '../json-schema.js';
import { childrenOf, nodesOf, qualifiedName, type Expr } from './ast.js';
import { estimateCost, sizeDependent } from './cost.js';
import { fieldSchema, isClosedObject } from './fields.js';
import { knownFunctionNames, validationEnv } from './environment.js';
import { lower, rewrite } from './optional-syntax.js';
import { BoundedCache } from '../bounded-cache.js';

export interface ValidationRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: string;
  readonly fieldPath?: string;
  readonly optionalOldSelf?: boolean;
}

export interface CompiledExpression {
  readonly ast: Expr;
  readonly run: (bindings: Record<string, CelInput>) => CelResult;
  readonly usesOldSelf: boolean;
  /** Static cost estimate from the schema's bounds. */
  readonly estimatedCost: number;
  /** Whether the cost at run time depends on the data (else it is the static estimate). */
  readonly sizeDependent: boolean;
}

export type Compiled =
  | { readonly ok: true; readonly expression: CompiledExpression }
  | { readonly ok: false; readonly error: string };

/** Identifiers usable as namespaces of qualified functions (`format.dns1123Label()`, `optional.none()`). */
const namespaces = new Set(['optional', 'format', 'sets', 'strings', 'ip', 'math', 'lists', 'base64']);
const typeNames = new Set([
  'int',
  'uint',
  'double',
  'bool',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
  'dyn',
]);

const cache = new WeakMap<JSONSchemaProps, Map<string, Compiled>>();

/**
 * Compiles `source` for a rule on `schema` (cached per schema node and source); `root` says the node is the
 * kind's root, whose rules also see apiVersion, kind and metadata.
 */
export function compileExpression(source: string, schema: JSONSchemaProps, root = false): Compiled {
  let perSchema = cache.get(schema);
  if (perSchema === undefined) cache.set(schema, (perSchema = new Map()));
  let compiled = perSchema.get(source);
  if (compiled === undefined) perSchema.set(source, (compiled = compile(source, schema, root)));
  return compiled;
}

interface Planned {
  readonly parsed: ReturnType<typeof parse>;
  readonly run: CompiledExpression['run'];
}

/** Parsing and planning depend on the source alone; the checks against a schema are redone per schema. */
const plannedBySource = new BoundedCache<Planned | { readonly error: string }>(4000);

function planSource(source: string): Planned | { readonly error: string } {
  try {
    const parsed = parse(rewrite(source));
    parsed.expr = lower(parsed.expr);
    const planned = plan(validationEnv, parsed);
    return { parsed, run: (bindings) => planned(bindings) };
  } catch (e) {
    return { error: `ERROR: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function compile(source: string, schema: JSONSchemaProps, root: boolean): Compiled {
  const planned = plannedBySource.get(source, () => planSource(source));
  if ('error' in planned) return { ok: false, error: planned.error };
  const { parsed, run } = planned;
  const problem = undeclared(parsed.expr, source, parsed.sourceInfo?.positions ?? {}, schema, root);
  if (problem !== undefined) return { ok: false, error: problem };
  const usesOldSelf = [...nodesOf(parsed.expr)].some(
    (n) => n.exprKind.case === 'identExpr' && n.exprKind.value.name === 'oldSelf',
  );
  return {
    ok: true,
    expression: {
      ast: parsed.expr,
      run,
      usesOldSelf,
      estimatedCost: estimateCost(parsed.expr, { self: schema }),
      sizeDependent: sizeDependent(parsed.expr),
    },
  };
}

/** The first reference to a variable or function the environment lacks, in cel-go's words. */
function undeclared(
  expr: Expr,
  source: string,
  positions: Record<string, number>,
  selfSchema: JSONSchemaProps,
  isRoot: boolean,
): string | undefined {
  const at = (e: Expr) => {
    const offset = positions[String(e.id)] ?? 0;
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - (before.lastIndexOf('\n') + 1) + 1;
    return `<input>:${line}:${column}`;
  };
  // Schemas of the variables in scope: self and oldSelf, and iteration variables over lists of known items.
  const typed = new Map<string, { schema: JSONSchemaProps; root: boolean }>([
    ['self', { schema: selfSchema, root: isRoot }],
    ['oldSelf', { schema: selfSchema, root: isRoot }],
  ]);
  const schemaOf = (e: Expr | undefined): { schema: JSONSchemaProps; root: boolean } | undefined => {
    if (e === undefined) return undefined;
    const k = e.exprKind;
    if (k.case === 'identExpr') return typed.get(k.value.name);
    if (k.case === 'selectExpr' && !k.value.testOnly) {
      const base = schemaOf(k.value.operand);
      const s = base === undefined ? undefined : fieldSchema(base.schema, k.value.field, base.root);
      return s === undefined ? undefined : { schema: s, root: false };
    }
    return undefined;
  };
  const walk = (e: Expr, bound: ReadonlySet<string>): string | undefined => {
    const k = e.exprKind;
    if (k.case === 'selectExpr' && k.value.operand !== undefined) {
      const base = schemaOf(k.value.operand);
      if (
        base !== undefined &&
        isClosedObject(base.schema) &&
        fieldSchema(base.schema, k.value.field, base.root) === undefined
      ) {
        return `ERROR: ${at(e)}: undefined field '${k.value.field}'`;
      }
    }
    if (k.case === 'identExpr') {
      const name = k.value.name;
      if (bound.has(name) || typeNames.has(name) || namespaces.has(name)) return undefined;
      return `ERROR: ${at(e)}: undeclared reference to '${name}' (in container '')`;
    }
    if (k.case === 'callExpr') {
      const ns = qualifiedName(k.value.target);
      const qualified =
        ns !== undefined && namespaces.has(ns.split('.')[0]!) && !bound.has(ns.split('.')[0]!)
          ? `${ns}.${k.value.function}`
          : undefined;
      const name = qualified ?? k.value.function;
      // Operators (`_+_`, `-_`, `!_`, `@in`) are not names a rule can misspell.
      if (/^[A-Za-z]/.test(name) && !knownFunctionNames.has(name)) {
        return `ERROR: ${at(e)}: undeclared reference to '${name}' (in container '')`;
      }
      if (qualified !== undefined) {
        for (const a of k.value.args) {
          const p = walk(a, bound);
          if (p !== undefined) return p;
        }
        return undefined;
      }
    }
    if (k.case === 'comprehensionExpr') {
      const c = k.value;
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
      const range = schemaOf(c.iterRange);
      const shadowed = typed.get(c.iterVar);
      if (range?.schema.type === 'array' && range.schema.items !== undefined)
        typed.set(c.iterVar, { schema: range.schema.items, root: false });
      else typed.delete(c.iterVar);
      const restore = () => (shadowed === undefined ? typed.delete(c.iterVar) : typed.set(c.iterVar, shadowed));
      let found: string | undefined;
      for (const x of [c.iterRange, c.accuInit]) if (found === undefined && x !== undefined) found = walk(x, bound);
      for (const x of [c.loopCondition, c.loopStep, c.result])
        if (found === undefined && x !== undefined) found = walk(x, inner);
      restore();
      return found;
    }
    for (const c of childrenOf(e)) {
      const p = walk(c, bound);
      if (p !== undefined) return p;
    }
    return undefined;
  };
  return walk(expr, new Set(['self', 'oldSelf']));
}
