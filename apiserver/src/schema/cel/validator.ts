// Runs a kind's x-kubernetes-validations rules over an object, as Kubernetes' CEL validator does: each rule
// sees its node as `self` (and, on update, the correlated old node as `oldSelf`); transition rules run only when
// an old value exists (or with optionalOldSelf); the object's cost budget stops evaluation when spent.

import { isCelError, type CelInput, type CelValue } from '@bufbuild/cel';
import { duplicate, fieldErrorString, forbidden, invalid, required, type FieldError } from '@berth/api';
import { isPlainObject, jsonEqual } from '../../objects/object.js';
import type { JSONSchemaProps } from '../json-schema.js';
import { compileExpression, type ValidationRule } from './compile.js';
import { estimateCost, perCallLimit, perObjectBudget } from './cost.js';
import { optionalOf } from './lib/optional.js';
import { schemaTypeName, toCel } from './values.js';

/** Whether a schema has any rule at all (most kinds have none: their objects skip the walk). */
export function hasRules(schema: JSONSchemaProps): boolean {
  let known = withRules.get(schema);
  if (known === undefined) withRules.set(schema, (known = findRule(schema)));
  return known;
}
const withRules = new WeakMap<JSONSchemaProps, boolean>();
function findRule(s: JSONSchemaProps | undefined): boolean {
  if (s === undefined) return false;
  if ((s['x-kubernetes-validations']?.length ?? 0) > 0) return true;
  if (Object.values(s.properties ?? {}).some(findRule)) return true;
  return findRule(s.items) || (typeof s.additionalProperties === 'object' && findRule(s.additionalProperties));
}

interface Run {
  budget: number;
  stopped: boolean;
  readonly problems: FieldError[];
  /** Ratcheting: failures of rules on unchanged values go here, as warnings, when given. */
  readonly warnings: string[] | undefined;
  /** CEL values already made of this object's subtrees (and the old object's). */
  readonly converted: WeakMap<object, CelInput>;
}

/**
 * Problems the rules of `schema` find in `obj` (a whole object; `old` is the stored one on update). At the
 * root, metadata shows only name and generateName, as in Kubernetes. With `warnings`, a rule not using oldSelf
 * that fails on a value equal to its old value is ratcheted: it warns instead of failing.
 */
export function validateRules(schema: JSONSchemaProps, obj: unknown, old: unknown, warnings?: string[]): FieldError[] {
  if (!hasRules(schema)) return [];
  const run: Run = { budget: perObjectBudget, stopped: false, problems: [], warnings, converted: new WeakMap() };
  walk(schema, rootView(obj), old === undefined ? undefined : rootView(old), old !== undefined, '', run);
  return run.problems;
}

function rootView(obj: unknown): unknown {
  if (!isPlainObject(obj)) return obj;
  const meta = isPlainObject(obj['metadata']) ? obj['metadata'] : {};
  const view: Record<string, unknown> = { ...obj };
  view['metadata'] = Object.fromEntries(
    ['name', 'generateName'].filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]),
  );
  return view;
}

const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

function walk(schema: JSONSchemaProps, value: unknown, old: unknown, hasOld: boolean, path: string, run: Run): void {
  if (run.stopped || value === undefined) return;
  evaluate(schema, value, old, hasOld, path, run);
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items === undefined) return;
    const oldItems = Array.isArray(old) ? old : [];
    const keys = schema['x-kubernetes-list-type'] === 'map' ? (schema['x-kubernetes-list-map-keys'] ?? []) : undefined;
    value.forEach((item, i) => {
      // Only items of a map-list correlate with old items (by their keys); other lists' items have no oldSelf.
      const prev =
        keys === undefined
          ? undefined
          : oldItems.find((o) => isPlainObject(o) && isPlainObject(item) && keys.every((k) => o[k] === item[k]));
      walk(items, item, prev, prev !== undefined, `${path}[${i}]`, run);
    });
    return;
  }
  if (!isPlainObject(value)) return;
  const oldObj = isPlainObject(old) ? old : undefined;
  for (const [key, v] of Object.entries(value)) {
    const prop = schema.properties?.[key];
    const s = prop ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (s === undefined) continue;
    const at = prop !== undefined ? child(path, key) : `${path}[${key}]`;
    walk(s, v, oldObj?.[key], hasOld && oldObj !== undefined && key in oldObj, at, run);
  }
}

/** Kubernetes renders the root's (nil) field path as `<nil>`. */
const shown = (path: string): string => (path === '' ? '<nil>' : path);

function evaluate(
  schema: JSONSchemaProps,
  value: unknown,
  old: unknown,
  hasOld: boolean,
  nodePath: string,
  run: Run,
): void {
  const path = shown(nodePath);
  const rules = (schema['x-kubernetes-validations'] ?? []) as ValidationRule[];
  if (rules.length === 0) return;
  const self = toCel(value, schema, run.converted);
  const type = schemaTypeName(schema);
  for (const rule of rules) {
    if (run.stopped) return;
    const compiled = compileExpression(rule.rule, schema, nodePath === '');
    if (!compiled.ok) {
      run.problems.push(invalid(path, type, `rule compile error: compilation failed: ${compiled.error}`));
      continue;
    }
    const expr = compiled.expression;
    const optionalOld = rule.optionalOldSelf === true;
    if (expr.usesOldSelf && !hasOld && !optionalOld) continue;
    const bindings: Record<string, CelInput> = { self };
    if (expr.usesOldSelf)
      bindings['oldSelf'] = optionalOld
        ? optionalOf(hasOld ? toCel(old, schema, run.converted) : undefined)
        : toCel(old, schema, run.converted);
    const cost = expr.sizeDependent
      ? estimateCost(expr.ast, { self: schema, values: { self: value, oldSelf: old } })
      : expr.estimatedCost;
    if (cost > run.budget) {
      run.problems.push(
        invalid(
          path,
          type,
          'validation failed due to running out of cost budget, no further validation rules will be run',
        ),
      );
      run.stopped = true;
      return;
    }
    if (cost > perCallLimit) {
      run.problems.push(
        invalid(
          path,
          type,
          `'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: ${ruleErrorString(rule)}`,
        ),
      );
      run.stopped = true;
      return;
    }
    run.budget -= cost;
    let result: CelValue | Error;
    try {
      result = expr.run(bindings);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    if (isCelError(result) || result instanceof Error) {
      run.problems.push(
        invalid(path, type, `${celErrorText(result.message)} evaluating rule: ${ruleErrorString(rule)}`),
      );
      continue;
    }
    if (result === true) continue;
    if (typeof result !== 'boolean') {
      run.problems.push(
        invalid(path, type, `rule did not evaluate to a bool evaluating rule: ${ruleErrorString(rule)}`),
      );
      continue;
    }
    const at = shown(withFieldPath(nodePath, rule.fieldPath));
    const problem = failure(at, type, messageOf(rule, bindings, schema, nodePath === ''), rule.reason);
    if (run.warnings !== undefined && !expr.usesOldSelf && hasOld && jsonEqual(value, old))
      run.warnings.push(fieldErrorString(problem));
    else run.problems.push(problem);
  }
}

/** cel-go's words for the engine's runtime errors, where they differ. */
function celErrorText(message: string): string {
  const missing = /^field not found: (.*)$/.exec(message);
  return missing !== null ? `no such key: ${missing[1]}` : message;
}

const ruleErrorString = (rule: ValidationRule): string =>
  rule.message !== undefined && rule.message.trim() !== '' ? rule.message.trim() : rule.rule.trim();

function messageOf(
  rule: ValidationRule,
  bindings: Record<string, CelInput>,
  schema: JSONSchemaProps,
  root: boolean,
): string {
  if (rule.messageExpression !== undefined && rule.messageExpression.trim() !== '') {
    const compiled = compileExpression(rule.messageExpression, schema, root);
    if (compiled.ok) {
      const out = compiled.expression.run(bindings);
      if (typeof out === 'string' && out.trim() !== '' && !/[\n\r]/.test(out)) return out.trim();
    }
  }
  return rule.message !== undefined && rule.message.trim() !== ''
    ? rule.message.trim()
    : `failed rule: ${rule.rule.trim()}`;
}

/** The rule's fieldPath (`.spec.replicas`, `.labels['app']`) appended to the node's path. */
function withFieldPath(path: string, fieldPath: string | undefined): string {
  if (fieldPath === undefined || fieldPath.trim() === '') return path;
  const normalized = fieldPath
    .trim()
    .replace(/^\./, '')
    .replace(/\[['"]([^'"]*)['"]\]/g, '[$1]');
  return path === '' ? normalized : normalized.startsWith('[') ? `${path}${normalized}` : `${path}.${normalized}`;
}

function failure(field: string, type: string, message: string, reason: string | undefined): FieldError {
  switch (reason) {
    case 'FieldValueForbidden':
      return forbidden(field, message);
    case 'FieldValueRequired':
      return required(field, message);
    case 'FieldValueDuplicate':
      return duplicate(field, type);
    default:
      return invalid(field, type, message);
  }
}
