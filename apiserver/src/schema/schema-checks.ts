// Checks a CRD version's openAPIV3Schema before it is served, as Kubernetes does at CRD create/update: every
// `pattern` must be a Go (RE2) regular expression and every CEL rule must compile within Kubernetes' cost
// limits, and every default valid. Each problem carries its path inside the CRD.

import { forbidden, invalid, notSupported, required, type FieldError } from '@berth/api';
import { isPlainObject } from '../objects/object.js';
import { compileExpression } from './cel/compile.js';
import { exceedsMessage, perCrdEstimateLimit, perExpressionEstimateLimit } from './cel/cost.js';
import type { JSONSchemaProps } from './json-schema.js';
import { pruneUnknownFields } from './prune.js';
import { re2Problem } from './regex.js';
import { validateAgainstSchema } from './validate.js';

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
  if (isPlainObject(props))
    for (const [k, v] of Object.entries(props)) yield* schemaNodes(v, `${path}.properties[${k}]`);
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
    if (why !== undefined)
      problems.push(invalid(`${at}.pattern`, pattern, `must be a valid regular expression, but isn't: ${why}`));
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
      problems.push(
        invalid(`${at}.type`, type, 'must be one of "array", "boolean", "integer", "number", "object", "string"'),
      );
    }
    const props = node['properties'];
    if (props !== undefined && !isPlainObject(props))
      problems.push(invalid(`${at}.properties`, props, 'must be a map of schemas'));
    if (isPlainObject(props))
      for (const [k, v] of Object.entries(props))
        if (!isPlainObject(v)) problems.push(invalid(`${at}.properties[${k}]`, v, 'must be a schema'));
    const items = node['items'];
    if (items !== undefined && !isPlainObject(items)) problems.push(invalid(`${at}.items`, items, 'must be a schema'));
    const additional = node['additionalProperties'];
    if (additional !== undefined && typeof additional !== 'boolean' && !isPlainObject(additional))
      problems.push(invalid(`${at}.additionalProperties`, additional, 'must be a schema or a boolean'));
    for (const list of ['allOf', 'anyOf', 'oneOf', 'enum', 'x-kubernetes-validations', 'x-kubernetes-list-map-keys']) {
      if (node[list] !== undefined && !Array.isArray(node[list]))
        problems.push(invalid(`${at}.${list}`, node[list], 'must be a list'));
    }
    const required = node['required'];
    if (required !== undefined && (!Array.isArray(required) || required.some((r) => typeof r !== 'string')))
      problems.push(invalid(`${at}.required`, required, 'must be a list of strings'));
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
      if (!isPlainObject(r) || typeof r['rule'] !== 'string' || r['rule'].trim() === '') {
        problems.push(required(`${here}.rule`, 'rule is not specified'));
        return;
      }
      const rule = r['rule'];
      const message = r['message'];
      if (typeof message === 'string' && message.length > 0 && message.trim() === '')
        problems.push(invalid(`${here}.message`, message, 'message must be non-empty if specified'));
      else if (typeof message === 'string' && /[\n\r]/.test(message.trim()))
        problems.push(invalid(`${here}.message`, message, 'message must not contain line breaks'));
      else if (/[\n\r]/.test(rule.trim()) && (typeof message !== 'string' || message.trim() === ''))
        problems.push(required(`${here}.message`, 'message must be specified if rule contains line breaks'));
      const reason = r['reason'];
      if (reason !== undefined && !supportedReasons.includes(String(reason)))
        problems.push(notSupported(`${here}.reason`, reason, supportedReasons));
      const schema = node as JSONSchemaProps;
      const compiled = compileExpression(rule, schema, at === path);
      if (!compiled.ok) {
        problems.push(invalid(`${here}.rule`, rule, `compilation failed: ${compiled.error}`));
        return;
      }
      const cost = compiled.expression.estimatedCost;
      if (cost > perExpressionEstimateLimit)
        problems.push(
          forbidden(`${here}.rule`, exceedsMessage('estimated rule cost', cost, perExpressionEstimateLimit)),
        );
      total += cost;
      if (r['optionalOldSelf'] === true && !compiled.expression.usesOldSelf)
        problems.push(invalid(`${here}.optionalOldSelf`, true, 'may not be set if oldSelf is not used in rule'));
      const messageExpression = r['messageExpression'];
      if (typeof messageExpression === 'string' && messageExpression.trim() !== '') {
        const m = compileExpression(messageExpression, schema, at === path);
        if (!m.ok)
          problems.push(
            invalid(`${here}.messageExpression`, messageExpression, `messageExpression compilation failed: ${m.error}`),
          );
      } else if (typeof messageExpression === 'string' && messageExpression.length > 0) {
        problems.push(required(`${here}.messageExpression`, 'messageExpression must be non-empty if specified'));
      }
    });
  }
  if (total > perCrdEstimateLimit)
    problems.push(
      forbidden(
        path,
        exceedsMessage(
          'x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema',
          total,
          perCrdEstimateLimit,
        ),
      ),
    );
  return problems;
}

type Level = 'root' | 'item' | 'field';

/**
 * Kubernetes' structural-schema invariants (a v1 CRD must have a structural schema): every node has a type
 * (unless int-or-string or preserve-unknown-fields), the root is an object without additionalProperties, arrays
 * have items, the root's metadata restricts at most name and generateName, and logical junctors (allOf, anyOf,
 * oneOf, not) hold value validations only.
 */
export function checkStructural(root: unknown, path: string): FieldError[] {
  const problems: FieldError[] = [];
  structural(root, 'root', path, problems);
  return problems;
}

function structural(node: unknown, level: Level, at: string, problems: FieldError[]): void {
  if (!isPlainObject(node)) return;
  const type = node['type'];
  const embedded = node['x-kubernetes-embedded-resource'] === true;
  if (type === 'array' && node['items'] === undefined) problems.push(required(`${at}.items`, 'must be specified'));
  if (isPlainObject(node['items'])) structural(node['items'], 'item', `${at}.items`, problems);
  const props = isPlainObject(node['properties']) ? node['properties'] : {};
  for (const [k, v] of Object.entries(props)) structural(v, 'field', `${at}.properties[${k}]`, problems);
  if (node['additionalProperties'] !== undefined) {
    if (level === 'root') problems.push(forbidden(`${at}.additionalProperties`, 'must not be used at the root'));
    structural(node['additionalProperties'], 'field', `${at}.additionalProperties`, problems);
  }
  if (embedded && type !== 'object') {
    problems.push(
      type === undefined
        ? required(`${at}.type`, 'must be object if x-kubernetes-embedded-resource is true')
        : invalid(`${at}.type`, type, 'must be object if x-kubernetes-embedded-resource is true'),
    );
  } else if (
    type === undefined &&
    node['x-kubernetes-int-or-string'] !== true &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    const where =
      level === 'root' ? 'at the root' : level === 'item' ? 'for specified array items' : 'for specified object fields';
    problems.push(required(`${at}.type`, `must not be empty ${where}`));
  }
  if (level === 'root' && type !== undefined && type !== 'object')
    problems.push(invalid(`${at}.type`, type, 'must be object at the root'));
  const checkMetadata = level === 'root' || embedded;
  for (const k of ['kind', 'apiVersion']) {
    const p = props[k];
    if (checkMetadata && isPlainObject(p) && p['type'] !== 'string')
      problems.push(invalid(`${at}.properties[${k}].type`, p['type'] ?? '', 'must be string'));
  }
  const metadata = props['metadata'];
  if (isPlainObject(metadata)) {
    if (checkMetadata && metadata['type'] !== 'object')
      problems.push(invalid(`${at}.properties[metadata].type`, metadata['type'] ?? '', 'must be object'));
    const restricted = Object.keys(isPlainObject(metadata['properties']) ? metadata['properties'] : {});
    if (level === 'root' && restricted.some((k) => k !== 'name' && k !== 'generateName')) {
      problems.push(
        forbidden(
          `${at}.properties[metadata]`,
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
    }
  }
  const intOrString = (list: unknown) =>
    Array.isArray(list) &&
    list.length === 2 &&
    isPlainObject(list[0]) &&
    isPlainObject(list[1]) &&
    list[0]['type'] === 'integer' &&
    list[1]['type'] === 'string' &&
    Object.keys(list[0]).length === 1 &&
    Object.keys(list[1]).length === 1;
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[junctor];
    if (!Array.isArray(list)) continue;
    if (junctor === 'anyOf' && intOrString(list)) continue;
    list.forEach((v: unknown, i) => {
      if (junctor === 'allOf' && i === 0 && isPlainObject(v) && intOrString(v['anyOf'])) return;
      nested(v, `${at}.${junctor}[${i}]`, problems);
    });
  }
  if (node['not'] !== undefined) nested(node['not'], `${at}.not`, problems);
}

/** A schema under a logical junctor may hold value validations only. */
function nested(node: unknown, at: string, problems: FieldError[]): void {
  if (!isPlainObject(node)) return;
  const forbid = (key: string, why: string) => {
    if (
      node[key] !== undefined &&
      node[key] !== false &&
      !(Array.isArray(node[key]) && (node[key] as unknown[]).length === 0)
    )
      problems.push(forbidden(`${at}.${key}`, why));
  };
  forbid('type', 'must be empty to be structural');
  forbid('additionalProperties', 'must be undefined to be structural');
  forbid('default', 'must be undefined to be structural');
  forbid('title', 'must be empty to be structural');
  forbid('description', 'must be empty to be structural');
  forbid('nullable', 'must be false to be structural');
  forbid('x-kubernetes-preserve-unknown-fields', 'must be false to be structural');
  forbid('x-kubernetes-embedded-resource', 'must be false to be structural');
  forbid('x-kubernetes-int-or-string', 'must be false to be structural');
  forbid('x-kubernetes-list-map-keys', 'must be empty to be structural');
  forbid('x-kubernetes-list-type', 'must be undefined to be structural');
  forbid('x-kubernetes-map-type', 'must be undefined to be structural');
  forbid('x-kubernetes-validations', 'must be empty to be structural');
  const props = isPlainObject(node['properties']) ? node['properties'] : {};
  if ('metadata' in props)
    problems.push(forbidden(`${at}.properties[metadata]`, 'must not be specified in a nested context'));
  for (const [k, v] of Object.entries(props)) nested(v, `${at}.properties[${k}]`, problems);
  if (node['items'] !== undefined) nested(node['items'], `${at}.items`, problems);
  for (const junctor of ['allOf', 'anyOf', 'oneOf']) {
    const list = node[junctor];
    if (Array.isArray(list)) for (const [i, v] of list.entries()) nested(v, `${at}.${junctor}[${i}]`, problems);
  }
  if (node['not'] !== undefined) nested(node['not'], `${at}.not`, problems);
}

/**
 * Problems with the `default`s of a schema, as Kubernetes checks them at CRD create/update: each must validate
 * against its own node's schema and hold no field the schema would prune.
 */
export function checkSchemaDefaults(root: unknown, path: string): FieldError[] {
  const problems: FieldError[] = [];
  for (const { node, path: at } of schemaNodes(root, path)) {
    if (node['default'] === undefined || /\.(allOf|anyOf|oneOf)\[\d+\]|\.not(\.|$)/.test(at.slice(path.length)))
      continue;
    const schema = node as JSONSchemaProps;
    const value = structuredClone(node['default']);
    const invalidDefault = validateAgainstSchema(value, schema, `${at}.default`);
    problems.push(...invalidDefault);
    if (invalidDefault.length === 0 && pruneUnknownFields(value, schema).length > 0)
      problems.push(invalid(`${at}.default`, node['default'], 'must not have unknown fields'));
  }
  return problems;
}
