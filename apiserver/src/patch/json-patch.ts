// RFC 6902 JSON patch (`application/json-patch+json`) on fast-json-patch, with the checks it lacks
// (array indices with leading zeros) and failures turned into typed errors worded like Kubernetes'.

import { BerthError } from '@berth/api';
import jsonpatch from 'fast-json-patch';
import type { Status } from '../errors/api-error.js';
import { toApiError, toStatus } from '../errors/status.js';
import { isJsonObject, jsonClone, jsonEqual, type JsonValue } from './json-value.js';

/** Kubernetes refuses longer patches with 413 (apiserver's maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

export type JsonPatchErrorCode =
  /** The body is not a JSON array of objects (Kubernetes: 400 BadRequest). */
  | 'BERTH_JSON_PATCH_MALFORMED'
  /** More than MAX_JSON_PATCH_OPERATIONS operations (413 RequestEntityTooLarge). */
  | 'BERTH_JSON_PATCH_TOO_LARGE'
  /** An operation lacks a field, has an unknown `op`, or a pointer that does not parse (422). */
  | 'BERTH_JSON_PATCH_INVALID_OPERATION'
  /** A pointer names a location that does not exist (422). */
  | 'BERTH_JSON_PATCH_PATH_NOT_FOUND'
  /** An array index is out of range, not a number, or has leading zeros (422). */
  | 'BERTH_JSON_PATCH_INVALID_INDEX'
  /** A `test` operation did not match (422). */
  | 'BERTH_JSON_PATCH_TEST_FAILED';

/**
 * A JSON patch that cannot be applied. `message` is the evanphx/json-patch wording that Kubernetes
 * reports; the Status it becomes (and so `httpStatus` and `reason`) comes from the API server's one table.
 */
export class JsonPatchError extends BerthError<JsonPatchErrorCode> {
  constructor(
    code: JsonPatchErrorCode,
    message: string,
    /** Index of the failing operation, when one failed. */
    readonly operationIndex?: number,
  ) {
    super(code, message);
  }
  get httpStatus(): 400 | 413 | 422 {
    return toApiError(this).error.httpStatus as 400 | 413 | 422;
  }
  get reason(): 'BadRequest' | 'RequestEntityTooLarge' | 'Invalid' {
    return toApiError(this).error.reason as 'BadRequest' | 'RequestEntityTooLarge' | 'Invalid';
  }
  /** The metav1.Status a real API server answers. */
  toStatus(): JsonPatchStatus {
    return toStatus(this);
  }
}

/** The Status a failed JSON patch becomes (kept as a name for callers of the patch engine). */
export type JsonPatchStatus = Status;

export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * Check that `patch` (the parsed request body) is a JSON patch document and return it typed. Shape
 * errors of the document itself are 400; problems inside an operation surface when applying (422),
 * as in Kubernetes.
 */
export function parseJsonPatch(patch: unknown): JsonPatchOperation[] {
  if (!Array.isArray(patch)) {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_MALFORMED',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  }
  for (const op of patch) {
    if (!isJsonObject(op as JsonValue)) {
      throw new JsonPatchError(
        'BERTH_JSON_PATCH_MALFORMED',
        'json: cannot unmarshal array into Go value of type jsonpatch.Operation',
      );
    }
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_TOO_LARGE',
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  return patch as JsonPatchOperation[];
}

/**
 * Apply an RFC 6902 patch to `document` and return the new document. `document` is never mutated;
 * on any failure a JsonPatchError is thrown and nothing is changed (the work happens on a copy).
 */
export function applyJsonPatch(document: JsonValue, patch: unknown): JsonValue {
  const ops = parseJsonPatch(patch);
  let doc: JsonValue = jsonClone(document);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as unknown as Record<string, unknown>;
    checkOperation(doc, op, i);
    try {
      doc = jsonpatch.applyOperation(doc, op as unknown as jsonpatch.Operation, false, true, true, i)
        .newDocument as JsonValue;
    } catch (e) {
      // checkOperation covers every failure fast-json-patch knows; this is the safety net.
      throw new JsonPatchError('BERTH_JSON_PATCH_INVALID_OPERATION', e instanceof Error ? e.message : String(e), i);
    }
  }
  return doc;
}

function checkOperation(doc: JsonValue, op: Record<string, unknown>, index: number): void {
  const kind = op['op'];
  if (typeof kind !== 'string' || !OPS.has(kind)) {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_INVALID_OPERATION',
      `Unexpected kind: ${typeof kind === 'string' ? kind : 'unknown'}`,
      index,
    );
  }
  const path = op['path'];
  if (typeof path !== 'string') {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_INVALID_OPERATION',
      'operation missing path field: missing value',
      index,
    );
  }
  if ((kind === 'add' || kind === 'replace' || kind === 'test') && !('value' in op)) {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_INVALID_OPERATION',
      'operation, missing value field: missing value',
      index,
    );
  }
  const tokens = parsePointer(path, `${kind} operation failed to decode path`, index);
  if (kind === 'move' || kind === 'copy') {
    const from = op['from'];
    if (typeof from !== 'string') {
      throw new JsonPatchError(
        'BERTH_JSON_PATCH_INVALID_OPERATION',
        'operation, missing from field: missing value',
        index,
      );
    }
    const fromTokens = parsePointer(from, `${kind} operation failed to decode from`, index);
    if (!resolve(doc, fromTokens, false, index).found) {
      throw new JsonPatchError(
        'BERTH_JSON_PATCH_PATH_NOT_FOUND',
        `${kind} operation does not apply: doc is missing from path: ${from}: missing value`,
        index,
      );
    }
    if (kind === 'move' && fromTokens.length < tokens.length && fromTokens.every((t, j) => t === tokens[j])) {
      throw new JsonPatchError(
        'BERTH_JSON_PATCH_INVALID_OPERATION',
        `move operation does not apply: from ${from} is a prefix of path ${path}`,
        index,
      );
    }
  }
  const adding = kind === 'add' || kind === 'move' || kind === 'copy';
  const r = resolve(doc, tokens, adding, index);
  if (r.found) {
    if (kind === 'test' && !jsonEqual(r.value, op['value'] as JsonValue)) {
      throw new JsonPatchError('BERTH_JSON_PATCH_TEST_FAILED', `testing value ${path} failed: test failed`, index);
    }
    return;
  }
  if (!r.parentFound) {
    const what = kind === 'move' || kind === 'copy' ? 'destination path' : 'path';
    const quoted = kind === 'add' || kind === 'remove' ? `"${path}"` : path;
    const prefix =
      kind === 'test'
        ? 'test operation does not apply: is missing path'
        : `${kind} operation does not apply: doc is missing ${what}`;
    throw new JsonPatchError('BERTH_JSON_PATCH_PATH_NOT_FOUND', `${prefix}: ${quoted}: missing value`, index);
  }
  // The parent exists but the final member does not.
  if (adding) return;
  if (kind === 'remove') {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_PATH_NOT_FOUND',
      `error in remove for path: '${path}': Unable to remove nonexistent key: ${tokens[tokens.length - 1] ?? ''}: missing value`,
      index,
    );
  }
  if (kind === 'replace') {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_PATH_NOT_FOUND',
      `replace operation does not apply: doc is missing key: ${path}: missing value`,
      index,
    );
  }
  throw new JsonPatchError(
    'BERTH_JSON_PATCH_PATH_NOT_FOUND',
    `test operation does not apply: is missing path: ${path}: missing value`,
    index,
  );
}

function parsePointer(pointer: string, what: string, index: number): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new JsonPatchError(
      'BERTH_JSON_PATCH_INVALID_OPERATION',
      `${what}: invalid JSON pointer ${JSON.stringify(pointer)}`,
      index,
    );
  }
  const parts = pointer.slice(1).split('/');
  for (const p of parts) {
    if (/~[^01]|~$/.test(p)) {
      throw new JsonPatchError(
        'BERTH_JSON_PATCH_INVALID_OPERATION',
        `${what}: invalid JSON pointer ${JSON.stringify(pointer)}`,
        index,
      );
    }
  }
  return parts.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Walk `tokens` through `doc`. Array steps must be canonical indices (no leading zeros, RFC 6901);
 * `adding` allows `-` and index == length as the last step.
 */
function resolve(
  doc: JsonValue,
  tokens: string[],
  adding: boolean,
  index: number,
): { found: boolean; parentFound: boolean; value?: JsonValue } {
  let cur: JsonValue = doc;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const last = i === tokens.length - 1;
    if (Array.isArray(cur)) {
      if (last && adding && t === '-') return { found: false, parentFound: true };
      if (!/^(0|[1-9][0-9]*)$/.test(t)) {
        if (/^[0-9]+$/.test(t)) {
          throw new JsonPatchError(
            'BERTH_JSON_PATCH_INVALID_INDEX',
            `value was not a proper array index: '${t}': invalid index referenced`,
            index,
          );
        }
        if (last) return { found: false, parentFound: true };
        return { found: false, parentFound: false };
      }
      const n = Number(t);
      const limit = last && adding ? cur.length : cur.length - 1;
      if (n > limit) {
        throw new JsonPatchError(
          'BERTH_JSON_PATCH_INVALID_INDEX',
          `Unable to access invalid index: ${n}: invalid index referenced`,
          index,
        );
      }
      cur = cur[n] as JsonValue;
      if (last)
        return cur === undefined ? { found: false, parentFound: true } : { found: true, parentFound: true, value: cur };
    } else if (isJsonObject(cur)) {
      const has = Object.hasOwn(cur, t);
      if (!has) return { found: false, parentFound: last };
      cur = cur[t] as JsonValue;
    } else {
      return { found: false, parentFound: false };
    }
  }
  return { found: true, parentFound: true, value: cur };
}
