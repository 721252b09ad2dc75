// A Compose file checked against the published Compose specification's JSON schema (compose-spec.json, as the dclint
// package ships it), after interpolation as docker compose checks it, with the failure worded as docker compose words
// it: `services.web Additional property foo is not allowed`, `services.web.ports must be a list`.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { UsageError } from '../errors.js';

const require = createRequire(import.meta.url);
let compiled: Promise<ValidateFunction> | undefined;

/**
 * The schema's validator. Compiling it costs ~0.5 s of CPU, every compose command would pay it, so ajv's standalone
 * code for it is kept in the user's cache (keyed by the schema and ajv's version) and later runs only load that.
 */
function validator(): Promise<ValidateFunction> {
  compiled ??= (async () => {
    // dclint does not export the file: it is read beside its package.json.
    const text = await readFile(
      join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json'),
      'utf8',
    );
    const ajvVersion = (require('ajv/package.json') as { version: string }).version;
    const key = createHash('sha256').update(`${ajvVersion}\n${text}`).digest('hex').slice(0, 16);
    const cache = join(
      process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'),
      'berth',
      `compose-schema-${key}.cjs`,
    );
    const cached = await readFile(cache, 'utf8').catch(() => undefined);
    const loaded = cached === undefined ? undefined : load(cached);
    if (loaded !== undefined) return loaded;
    const schema = JSON.parse(text) as Record<string, unknown>;
    // Its $schema names draft-07 without the "#" ajv keys it by; the keywords are draft-07's all the same.
    delete schema['$schema'];
    const ajv = new Ajv({ allErrors: true, strict: false, logger: false, code: { source: true } });
    const validate = ajv.compile(schema);
    // A cache that cannot be written (a read-only home) only costs the compile next time.
    const temp = `${cache}.${process.pid}`;
    await mkdir(dirname(cache), { recursive: true })
      .then(() => writeFile(temp, standalone.default(ajv, validate)))
      .then(() => rename(temp, cache))
      .catch(() => undefined);
    return validate;
  })();
  return compiled;
}

/**
 * ajv's standalone CommonJS module, evaluated with this module's require (for ajv's runtime helpers); undefined when
 * it does not give a validator (then it is compiled again).
 */
function load(code: string): ValidateFunction | undefined {
  const module = { exports: {} as { default?: ValidateFunction } };
  try {
    new Function('require', 'module', 'exports', code)(require, module, module.exports);
  } catch {
    return undefined;
  }
  return typeof module.exports.default === 'function' ? module.exports.default : undefined;
}

/** `services.web.ports.0`, or docker's `(root)` for the top level. */
function field(instancePath: string): string {
  if (instancePath === '') return '(root)';
  return instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

const typeNames: Record<string, string> = { array: 'list', object: 'mapping' };

/** What is wrong, in gojsonschema's words as docker compose prints them. */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `Additional property ${String(p['additionalProperty'])} is not allowed`;
    case 'required':
      return `${String(p['missingProperty'])} is required`;
    case 'enum':
      return `must be one of the following: ${((p['allowedValues'] as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `Does not match pattern '${String(p['pattern'])}'`;
    case 'uniqueItems':
      return `array items[${String(p['j'])},${String(p['i'])}] must be unique`;
    default: {
      const message = e.message ?? 'is invalid';
      return message.charAt(0).toUpperCase() + message.slice(1);
    }
  }
}

const depth = (e: ErrorObject) => (e.instancePath === '' ? 0 : e.instancePath.split('/').length);

/**
 * The one error docker compose would report: the deepest. At that depth a property or value error beats a type error
 * (with oneOf, a type error comes from a branch the value was not meant for); type errors alone are joined, so a
 * oneOf of a string and a list reads `must be a string or list`.
 */
export function composeSchemaError(errors: readonly ErrorObject[]): string {
  const real = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  const pool = real.length > 0 ? real : errors;
  const deepest = Math.max(...pool.map(depth));
  const there = pool.filter((e) => depth(e) === deepest);
  const notType = there.find((e) => e.keyword !== 'type');
  const where = field((notType ?? there[0])?.instancePath ?? '');
  if (notType !== undefined) return `${where} ${describe(notType)}`;
  const types = [...new Set(there.flatMap((e) => String((e.params as { type?: unknown }).type ?? '').split(',')))].map(
    (t) => typeNames[t] ?? t,
  );
  return `${where} must be a ${types.join(' or ')}`;
}

/** Throws docker compose's one-line reason when `doc` (parsed and interpolated) is not a valid Compose file. */
export async function checkComposeSchema(doc: unknown, path: string): Promise<void> {
  const validate = await validator();
  if (validate(doc)) return;
  throw new UsageError(`validating ${path}: ${composeSchemaError(validate.errors ?? [])}`);
}
