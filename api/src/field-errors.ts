// Field-level validation errors and the messages Kubernetes renders from them (k8s.io/apimachinery field.Error).
import type { StatusCause } from './meta.js';

/** The machine-readable error types of field.ErrorType, as they appear in a Status cause's `reason`. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound'
  | 'InternalError';

/** One problem with one field. Plain data: build with the constructors below or by hand. */
export interface FieldError {
  type: FieldErrorType;
  /** Path of the field as Kubernetes writes it: `spec.ports[0].containerPort`, `metadata.labels`. */
  field: string;
  /** Detail after the type and value, e.g. `must be greater than or equal to 0`. May be empty. */
  message: string;
  /** The offending value; omitted from the rendered message for Required, Forbidden, TooLong and internal errors. */
  badValue?: unknown;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueNotFound: 'Not found',
  InternalError: 'Internal error',
};

export function required(field: string, message = ''): FieldError {
  return { type: 'FieldValueRequired', field, message };
}

export function invalid(field: string, badValue: unknown, message: string): FieldError {
  return { type: 'FieldValueInvalid', field, message, badValue };
}

export function typeInvalid(field: string, badValue: unknown, message: string): FieldError {
  return { type: 'FieldValueTypeInvalid', field, message, badValue };
}

/** A value outside an enum; lists the supported values as Kubernetes does (`supported values: "a", "b"`). */
export function notSupported(field: string, badValue: unknown, supported: readonly string[]): FieldError {
  const message = supported.length ? `supported values: ${supported.map(goQuote).join(', ')}` : '';
  return { type: 'FieldValueNotSupported', field, message, badValue };
}

export function tooLong(field: string, maxBytes: number): FieldError {
  const message =
    maxBytes >= 0 ? `may not be more than ${maxBytes} ${maxBytes === 1 ? 'byte' : 'bytes'}` : 'value is too long';
  return { type: 'FieldValueTooLong', field, message };
}

export function tooMany(field: string, actual: number, max: number): FieldError {
  return { type: 'FieldValueTooMany', field, message: `must have at most ${max} items`, badValue: actual };
}

export function forbidden(field: string, message: string): FieldError {
  return { type: 'FieldValueForbidden', field, message };
}

export function duplicate(field: string, badValue: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, message: '', badValue };
}

export function notFound(field: string, badValue: unknown): FieldError {
  return { type: 'FieldValueNotFound', field, message: '', badValue };
}

/** Go's %q for a string: double quotes, backslash escapes, printable Unicode kept as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function renderValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? 'null';
}

/** The part after the field path: `Invalid value: "Bad": a lowercase RFC 1123 …` (field.Error.ErrorBody). */
export function fieldErrorBody(e: FieldError): string {
  const text = TYPE_TEXT[e.type];
  const omitValue =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.type === 'InternalError' ||
    !('badValue' in e);
  let s = omitValue ? text : `${text}: ${renderValue(e.badValue)}`;
  if (e.message) s += `: ${e.message}`;
  return s;
}

/** `spec.image: Required value` (field.Error.Error). */
export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/**
 * Kubernetes' aggregate of several errors: the one message alone, or `[a, b]`. Identical messages appear once.
 * Empty input gives ''.
 */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const seen = new Set<string>();
  for (const e of errors) seen.add(fieldErrorString(e));
  const msgs = [...seen];
  if (msgs.length === 0) return '';
  if (msgs.length === 1) return msgs[0]!;
  return `[${msgs.join(', ')}]`;
}

/**
 * The message of a 422 Invalid Status: `Container.berth.dev "web" is invalid: [spec.image: Required value, …]`.
 * `qualifiedKind` is Kind.group (just Kind for the core group).
 */
export function invalidObjectMessage(qualifiedKind: string, name: string, errors: readonly FieldError[]): string {
  return `${qualifiedKind} ${goQuote(name)} is invalid: ${aggregateMessage(errors)}`;
}

/** The `details.causes` of a 422 Invalid Status: reason = type, message = body, field = path. */
export function toStatusCauses(errors: readonly FieldError[]): StatusCause[] {
  return errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
}
