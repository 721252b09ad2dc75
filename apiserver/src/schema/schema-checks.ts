// Checks a CRD version's openAPIV3Schema before it is served, as Kubernetes does at CRD create/update: every
// `pattern` must be a Go (RE2) regular expression and every CEL rule must compile within Kubernetes' cost
// limits. Each problem carries its path inside the CRD.

import { forbidden, invalid, notSupported, required, type FieldError } from '@berth/api';
import { isPlainObject } from '../objects/object.js';
import { compileExpression } from './cel/compile.js';
import { exceedsMessage, perCrdEstimateLimit, perExpressionEstimateLimit } from './cel/cost.js';
import type { JSONSchemaProps } from './json-schema.js';
import { re2Problem } from './regex.js';

/** A schema node and where it sits, e.g. `spec.versions[0].schema.openAPIV3Schema.properties[spec]`. */
export interface SchemaVisit {
  readonly node: Record<string, unknown>;
  readonly path: string;
}

/** Every schema node under `root` (itself included), depth first, with Kubernetes' path rendering. */
export function* schemaNodes(root: unknown, path: string): Generator<SchemaVisit> {
  if (!isPlainObject(root)) return;
  yield { node: root, path };
  const props = root['properties'];
  if (isPlainObject(props)) for (const [k, v] of Object.entries(props)) yield* schemaNodes(v, `${path}.properties[${k}]`);
  yield* schemaNodes(root['items'], `${path}.items`);
  yield* schemaNodes(root['additionalProperties'], `${path}.additionalProperties`);
  yield* schemaNodes(root['not'], `${path}.not`);
  for (const junctor of ['allOf', 'anyOf', 'oneOf']) {
    const list = root[junctor];
    if (Array.isArray(list)) for (const [i, v] of list.entries()) yield* schemaNodes(v, `${path}.${junctor}[${i}]`);
  }
}

/** Problems with the patterns of a schema: each must compile as a Go regular expression. */
export function checkSchemaPatterns(root: unknown, path: string): FieldError[] {
  const problems: FieldError[] = [];
  for (const { node, path: at } of schemaNodes(root, path)) {
    const pattern = node['pattern'];
    if (pattern === undefined) continue;
    if (typeof pattern !== 'string') {
      problems.push(invalid(`${at}.pattern`, pattern, 'must be a string'));
      continue;
    }
    const why = re2Problem(pattern);
    if (why !== undefined) problems.push(invalid(`${at}.pattern`, pattern, `must be a valid regular expression, but isn't: ${why}`));
  }
  return problems;
}

const schemaTypes = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/**
 * Shape problems a Go decoder of JSONSchemaProps would refuse (a string where a map of schemas belongs, an
 * unknown type): caught here so that nothing downstream meets a schema of the wrong shape.
 */
export function checkSchemaShape(root: unknown, path: string): FieldError[] {
  if (!isPlainObject(root)) return [invalid(path, root, 'must be an object')];
  const problems: FieldError[] = [];
  for (const { node, path: at } of schemaNodes(root, path)) {
    const type = node['type'];
    if (type !== undefined && (typeof type !== 'string' || !schemaTypes.has(type))) {
      problems.push(invalid(`${at}.type`, type, 'must be one of "array", "boolean", "integer", "number", "object", "string"'));
    }
    const props = node['properties'];
    if (props !== undefined && !isPlainObject(props)) problems.push(invalid(`${at}.properties`, props, 'must be a map of schemas'));
    if (isPlainObject(props)) for (const [k, v] of Object.entries(props)) if (!isPlainObject(v)) problems.push(invalid(`${at}.properties[${k}]`, v, 'must be a schema'));
    const items = node['items'];
    if (items !== undefined && !isPlainObject(items)) problems.push(invalid(`${at}.items`, items, 'must be a schema'));
    const additional = node['additionalProperties'];
    if (additional !== undefined && typeof additional !== 'boolean' && !isPlainObject(additional)) problems.push(invalid(`${at}.additionalProperties`, additional, 'must be a schema or a boolean'));
    for (const list of ['allOf', 'anyOf', 'oneOf', 'enum', 'x-kubernetes-validations', 'x-kubernetes-list-map-keys']) {
      if (node[list] !== undefined && !Array.isArray(node[list])) problems.push(invalid(`${at}.${list}`, node[list], 'must be a list'));
    }
    const required = node['required'];
    if (required !== undefined && (!Array.isArray(required) || required.some((r) => typeof r !== 'string'))) problems.push(invalid(`${at}.required`, required, 'must be a list of strings'));
  }
  return problems;
}

const supportedReasons = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];

/**
 * Problems with the x-kubernetes-validations rules of a schema, as Kubernetes finds them at CRD create/update:
 * empty rules and messages, unknown reasons, rules that do not compile, and rules over the cost limits.
 */
export function checkSchemaRules(root: unknown, path: string): FieldError[] {
  const problems: FieldError[] = [];
  let total = 0;
  for (const { node, path: at } of schemaNodes(root, path)) {
    const rules = node['x-kubernetes-validations'];
    if (!Array.isArray(rules)) continue;
    rules.forEach((r: unknown, i) => {
      const here = `${at}.x-kubernetes-validations[${i}]`;
      if (!isPlainObject(r) || typeof r['rule'] !== 'string' || r['rule'].trim() === '') return void problems.push(required(`${here}.rule`, 'rule is not specified'));
      const rule = r['rule'];
      const message = r['message'];
      if (typeof message === 'string' && message.length > 0 && message.trim() === '') problems.push(invalid(`${here}.message`, message, 'message must be non-empty if specified'));
      else if (typeof message === 'string' && /[\n\r]/.test(message.trim())) problems.push(invalid(`${here}.message`, message, 'message must not contain line breaks'));
      else if (/[\n\r]/.test(rule.trim()) && (typeof message !== 'string' || message.trim() === '')) problems.push(required(`${here}.message`, 'message must be specified if rule contains line breaks'));
      const reason = r['reason'];
      if (reason !== undefined && !supportedReasons.includes(String(reason))) problems.push(notSupported(`${here}.reason`, reason, supportedReasons));
      const schema = node as JSONSchemaProps;
      const compiled = compileExpression(rule, schema, at === path);
      if (!compiled.ok) return void problems.push(invalid(`${here}.rule`, rule, `compilation failed: ${compiled.error}`));
      const cost = compiled.expression.estimatedCost;
      if (cost > perExpressionEstimateLimit) problems.push(forbidden(`${here}.rule`, exceedsMessage('estimated rule cost', cost, perExpressionEstimateLimit)));
      total += cost;
      if (r['optionalOldSelf'] === true && !compiled.expression.usesOldSelf) problems.push(invalid(`${here}.optionalOldSelf`, true, 'may not be set if oldSelf is not used in rule'));
      const messageExpression = r['messageExpression'];
      if (typeof messageExpression === 'string' && messageExpression.trim() !== '') {
        const m = compileExpression(messageExpression, schema, at === path);
        if (!m.ok) problems.push(invalid(`${here}.messageExpression`, messageExpression, `messageExpression compilation failed: ${m.error}`));
      } else if (typeof messageExpression === 'string' && messageExpression.length > 0) {
        problems.push(required(`${here}.messageExpression`, 'messageExpression must be non-empty if specified'));
      }
    });
  }
  if (total > perCrdEstimateLimit) problems.push(forbidden(path, exceedsMessage('x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema', total, perCrdEstimateLimit)));
  return problems;
}
