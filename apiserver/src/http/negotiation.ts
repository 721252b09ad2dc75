// Content negotiation the Kubernetes way: Table output only when asked for, and the query parameters that shape
// responses.

import { badRequest } from '../errors/api-error.js';
import type { FieldValidation } from '../objects/object-store.js';
import type { IncludeObject } from '../table/table.js';

/** `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io`; everyone else gets objects. */
export function wantsTable(accept: string | undefined): boolean {
  // Most requests ask for plain JSON: without the parameter's text there is nothing to split (every request asks).
  if (accept === undefined || !accept.includes('as=Table')) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.some((p) => p === 'g=meta.k8s.io');
  });
}

/**
 * Whether the client opted out of managedFields (`Accept: application/json;drop=metadata.managedFields`, KEP-5958:
 * `drop` lists fields joined by `+`; targets other than managedFields are ignored, as the KEP asks).
 */
export function dropsManagedFields(accept: string | undefined): boolean {
  if (accept === undefined || !accept.includes('metadata.managedFields')) return false;
  return accept.split(',').some((part) =>
    part
      .split(';')
      .slice(1)
      .some((p) => {
        const [name, value] = p.split('=').map((s) => s.trim());
        return name === 'drop' && value !== undefined && value.split('+').includes('metadata.managedFields');
      }),
  );
}

export function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
}

export function fieldValidation(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
}

export function isDryRun(values: readonly string[]): boolean {
  for (const v of values) {
    if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

/** A non-negative integer query parameter, or undefined when absent. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name}: Invalid value: "${v}": must be a non-negative integer`);
  // Kubernetes parses these as int64; past that Go's strconv refuses them, and past 2^53 a JS number is not exact.
  if (!Number.isSafeInteger(Number(v))) throw badRequest(`${name}: Invalid value: "${v}": value out of range`);
  return Number(v);
}
