// Turns JSON values into CEL values the way Kubernetes types them from the schema: integers are CEL int,
// numbers double, strings of format date/date-time timestamps, duration durations, byte bytes; objects with
// properties are field-selectable with Kubernetes' escaping of property names.

import { create } from '@bufbuild/protobuf';
import { DurationSchema, timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { CelInput } from '@bufbuild/cel';
import { isPlainObject } from '../../objects/object.js';
import type { JSONSchemaProps } from '../json-schema.js';

const reserved = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
]);

/** A property name as a CEL rule spells it: `__namespace__`, `foo__dash__bar`, `a__dot__b` (Kubernetes' escaping). */
export function escapePropertyName(name: string): string {
  if (reserved.has(name)) return `__${name}__`;
  return name
    .replaceAll('__', '__underscores__')
    .replaceAll('.', '__dot__')
    .replaceAll('-', '__dash__')
    .replaceAll('/', '__slash__');
}

/**
 * The CEL value of `value` under `schema` (which may be undefined where the schema says nothing). `seen` keeps
 * conversions of objects and lists for one validation, where nested rules would convert the same subtrees again.
 */
export function toCel(value: unknown, schema: JSONSchemaProps | undefined, seen?: WeakMap<object, CelInput>): CelInput {
  if (seen !== undefined && typeof value === 'object' && value !== null) {
    let done = seen.get(value);
    if (done === undefined) seen.set(value, (done = convert(value, schema, seen)));
    return done;
  }
  return convert(value, schema, seen);
}

function convert(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  seen: WeakMap<object, CelInput> | undefined,
): CelInput {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    const asInt =
      schema?.type === 'integer' ||
      schema?.['x-kubernetes-int-or-string'] === true ||
      (schema?.type !== 'number' && Number.isInteger(value));
    return asInt && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string') return typedString(value, schema?.format);
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items, seen));
  if (isPlainObject(value)) {
    const props = schema?.properties;
    const additional = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    // A Map, not a plain object: the engine reads Maps several times faster.
    const out = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) {
      const declared = props?.[k];
      if (declared !== undefined) out.set(escapePropertyName(k), toCel(v, declared, seen));
      else out.set(k, toCel(v, additional, seen));
    }
    return out;
  }
  return null;
}

/** The type name Kubernetes shows as the "value" of a failed rule (`Invalid value: "object": …`). */
export const schemaTypeName = (schema: JSONSchemaProps): string => schema.type ?? '';

/** A string as the CEL type its format makes it; a value that does not parse stays a string (validation says why). */
function typedString(s: string, format: string | undefined): CelInput {
  if (format === 'date-time' || format === 'date') {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? s : timestampFromMs(ms);
  }
  if (format === 'duration') {
    const nanos = goDurationNanos(s);
    return nanos === undefined
      ? s
      : create(DurationSchema, { seconds: nanos / 1_000_000_000n, nanos: Number(nanos % 1_000_000_000n) });
  }
  if (format === 'byte') return Uint8Array.from(Buffer.from(s, 'base64'));
  return s;
}

const unitNanos: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds: `1h30m`, `1.5s`, `-300ms`. */
function goDurationNanos(s: string): bigint | undefined {
  if (!/^[-+]?((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.test(s)) return s === '0' ? 0n : undefined;
  let total = 0;
  for (const [, num, unit] of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g))
    total += Number(num) * unitNanos[unit ?? 's']!;
  return BigInt(Math.round(s.startsWith('-') ? -total : total));
}
