// Compiles a kind's OpenAPI v3 schema into an ajv validator and reports failures as Kubernetes field errors.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { invalid, notSupported, required, tooLong, tooMany, typeInvalid, type FieldError } from '@berth/api';
import { isPlainObject } from '../objects/object.js';
import { fieldPath, type JSONSchemaProps } from './json-schema.js';
import { BoundedCache } from './bounded-cache.js';
import { formatCheck } from './formats.js';
import { re2Engine } from './regex.js';
import type { SchemaValidateFunction } from 'ajv/dist/types/index.js';

// Patterns run on RE2 as in Kubernetes: Go syntax, and linear time whatever the pattern.
const ajv = new Ajv({
  allErrors: true,
  strict: false,
  logger: false,
  validateSchema: false,
  code: { regExp: re2Engine },
});
// Only the formats Kubernetes checks, checked its way; toAjvSchema drops every other format.
const checkFormat: SchemaValidateFunction = (format: string, data: unknown): boolean => {
  if (typeof data !== 'string' || formatCheck(format)?.(data) !== false) return true;
  checkFormat.errors = [{ keyword: 'format', params: { format }, message: `must be of type ${format}` }];
  return false;
};
ajv.addKeyword({ keyword: 'x-berth-format', errors: true, validate: checkFormat });

const compiled = new WeakMap<JSONSchemaProps, ValidateFunction>();

/** Rewrites the Kubernetes-specific parts of a schema into plain JSON Schema that ajv understands. */
function toAjvSchema(schema: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'default' || key === 'description' || key === 'example') continue;
    if (key === 'format') {
      if (typeof value === 'string' && formatCheck(value) !== undefined) out['x-berth-format'] = value;
      continue;
    }
    if (key === 'properties' && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toAjvSchema(v as JSONSchemaProps)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isPlainObject(value)) {
      out[key] = toAjvSchema(value as JSONSchemaProps);
    } else if ((key === 'anyOf' || key === 'allOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((v) => toAjvSchema(v as JSONSchemaProps));
    } else {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    // One type check, as Kubernetes makes it ("must be of type integer,string"); the anyOf of integer and
    // string that generators write beside the extension says the same again.
    out['type'] = ['integer', 'string'];
    const rest = (Array.isArray(out['anyOf']) ? (out['anyOf'] as Record<string, unknown>[]) : []).filter(
      (branch) => !(Object.keys(branch).length === 1 && (branch['type'] === 'integer' || branch['type'] === 'string')),
    );
    if (rest.length > 0) out['anyOf'] = rest;
    else delete out['anyOf'];
  }
  // OpenAPI v3.0's exclusiveMaximum/Minimum are flags on maximum/minimum; ajv speaks the later numeric form.
  for (const [flag, bound] of [
    ['exclusiveMaximum', 'maximum'],
    ['exclusiveMinimum', 'minimum'],
  ] as const) {
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else if (typeof out[flag] === 'boolean') delete out[flag];
  }
  // Metadata is validated by the server's own rules, not the CRD schema.
  if (isPlainObject(out['properties']) && 'metadata' in out['properties'] && 'apiVersion' in out['properties']) {
    out['properties'] = { ...out['properties'], metadata: { type: 'object' } };
  }
  return out;
}

/** Validators by the text of their ajv schema, so a CRD decoded again (or a repeated default) compiles once. */
const byText = new BoundedCache<ValidateFunction>(2000);

function validatorFor(schema: JSONSchemaProps): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    const ajvSchema = toAjvSchema(schema);
    fn = byText.get(JSON.stringify(ajvSchema), () => ajv.compile(ajvSchema));
    compiled.set(schema, fn);
  }
  return fn;
}

const pathOf = (instancePath: string): (string | number)[] =>
  instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? 'null'));

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: unknown = root;
  for (const p of path)
    v = isPlainObject(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

/** The value as Kubernetes' validator names it in errors: Go's %v of a JSON value. */
const goValue = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'));

/** One ajv error as the field error Kubernetes reports for it (kube-openapi's wording, apiextensions' types). */
/** `prefix` (where the validated value sits, e.g. a default inside a CRD) joined with a path inside the value. */
const under = (prefix: string, inner: string): string =>
  prefix === '' ? inner : inner === '' ? prefix : inner.startsWith('[') ? `${prefix}${inner}` : `${prefix}.${inner}`;

function toProblem(e: ErrorObject, root: unknown, prefix: string): FieldError | undefined {
  const path = pathOf(e.instancePath);
  const field = under(prefix, fieldPath(path));
  const value = valueAt(root, path);
  const p = e.params as Record<string, unknown>;
  const inBody = (what: string) => `${field} in body ${what}`;
  switch (e.keyword) {
    case 'required':
      return required(under(prefix, fieldPath([...path, String(p['missingProperty'])])));
    case 'enum':
      return notSupported(field, value, (p['allowedValues'] as unknown[]).map(goValue));
    case 'type': {
      const types = Array.isArray(p['type']) ? (p['type'] as string[]).join(',') : String(p['type']);
      return typeInvalid(
        field,
        typeName(value),
        inBody(`must be of type ${types}: ${JSON.stringify(typeName(value))}`),
      );
    }
    case 'format':
      return invalid(field, value, inBody(`must be of type ${String(p['format'])}: ${show(value)}`));
    case 'pattern':
      return invalid(field, value, inBody(`should match '${String(p['pattern'])}'`));
    case 'maxLength':
      return tooLong(field, Number(p['limit']));
    case 'minLength':
      return invalid(field, value, inBody(`should be at least ${String(p['limit'])} chars long`));
    case 'maxItems':
      return tooMany(field, Array.isArray(value) ? value.length : -1, Number(p['limit']));
    case 'minItems':
      return invalid(field, value, inBody(`should have at least ${String(p['limit'])} items`));
    case 'maxProperties':
      return tooMany(field, isPlainObject(value) ? Object.keys(value).length : -1, Number(p['limit']));
    case 'minProperties':
      return invalid(field, value, inBody(`should have at least ${String(p['limit'])} properties`));
    case 'maximum':
      return invalid(field, value, inBody(`should be less than or equal to ${String(p['limit'])}`));
    case 'exclusiveMaximum':
      return invalid(field, value, inBody(`should be less than ${String(p['limit'])}`));
    case 'minimum':
      return invalid(field, value, inBody(`should be greater than or equal to ${String(p['limit'])}`));
    case 'exclusiveMinimum':
      return invalid(field, value, inBody(`should be greater than ${String(p['limit'])}`));
    case 'multipleOf':
      return invalid(field, value, inBody(`should be a multiple of ${String(p['multipleOf'])}`));
    case 'uniqueItems':
      return invalid(field, value, inBody("shouldn't contain duplicates"));
    case 'anyOf':
      return invalid(field, '', `${JSON.stringify(field)} must validate at least one schema (anyOf)`);
    case 'oneOf':
      return invalid(field, '', `${JSON.stringify(field)} must validate one and only one schema (oneOf)`);
    case 'not':
      return invalid(field, '', `${JSON.stringify(field)} must not validate the schema (not)`);
    case 'allOf':
    case 'if':
      return undefined;
    default:
      return invalid(field, value, inBody(e.message ?? 'is invalid'));
  }
}

const typeName = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : typeof v;

/**
 * Validates an object (without its metadata) against its kind's schema; returns every problem found. `prefix`
 * places the value in a larger document (a CRD's default): field paths and messages then start with it.
 */
export function validateAgainstSchema(obj: unknown, schema: JSONSchemaProps, prefix = ''): FieldError[] {
  let fn: ValidateFunction;
  try {
    fn = validatorFor(schema);
  } catch (e) {
    // A schema stored before today's CRD checks may not compile: its objects are refused, the server stays up.
    return [
      invalid('', '', `the schema of this kind cannot be compiled: ${e instanceof Error ? e.message : String(e)}`),
    ];
  }
  if (fn(obj)) return [];
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of fn.errors ?? []) {
    const p = toProblem(e, obj, prefix);
    if (p === undefined) continue;
    const id = `${p.type} ${p.field} ${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push(p);
  }
  if (problems.length === 0 && (fn.errors?.length ?? 0) > 0) {
    const e = fn.errors![0]!;
    const field = under(prefix, fieldPath(pathOf(e.instancePath)));
    problems.push(invalid(field, valueAt(obj, pathOf(e.instancePath)), e.message ?? 'invalid'));
  }
  return problems;
}
