// Checks a CRD version's openAPIV3Schema before it is served, as Kubernetes does at CRD create/update: every
// `pattern` must be a Go (RE2) regular expression. Each problem carries its path inside the CRD.

import { invalid, type FieldError } from '@berth/api';
import { isPlainObject } from '../objects/object.js';
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
