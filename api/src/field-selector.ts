// Field selectors (`metadata.name=web,status.phase!=Running`) parsed and matched as Kubernetes' fields package does.
import { ParseError } from './errors.js';

/** One ANDed term. `=` and `==` mean the same; the operator is kept as written. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '==' | '!=';
  /** The value with escapes (`\,`, `\=`, `\\`) resolved. */
  readonly value: string;
}

/** A parsed field selector; [] matches everything. */
export type ParsedFieldSelector = readonly FieldRequirement[];

/** Splits on commas that are not backslash-escaped; escapes stay in the terms. */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** The first operator in the term splits it; `!=` and `==` are tried before `=` at each position. */
function splitTerm(term: string): [string, '=' | '==' | '!=', string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Resolves `\\`, `\,` and `\=`; any other escape, or a bare `,` or `=`, is an error (as Kubernetes' UnescapeValue). */
export function unescapeFieldSelectorValue(s: string, input = s): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else
        throw new ParseError(
          'BERTH_FIELD_SELECTOR_INVALID',
          `invalid field selector: invalid escape sequence: \\${c}`,
          input,
        );
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      throw new ParseError(
        'BERTH_FIELD_SELECTOR_INVALID',
        `invalid field selector: unescaped character in value: ${c}`,
        input,
      );
    } else {
      out += c;
    }
  }
  if (inSlash)
    throw new ParseError('BERTH_FIELD_SELECTOR_INVALID', 'invalid field selector: invalid escape sequence: \\', input);
  return out;
}

/** Escapes a value for use in a field selector string (`\` → `\\`, `,` → `\,`, `=` → `\=`). */
export function escapeFieldSelectorValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parses `a=b,c!=d,e==f`. Terms are sorted (as Kubernetes sorts them); empty terms are skipped; field names are
 * taken as written (no trimming). Throws ParseError (code BERTH_FIELD_SELECTOR_INVALID) worded as Kubernetes.
 * Which fields are supported is the caller's business (`field label not supported: spec.image`).
 */
export function parseFieldSelector(selector: string): ParsedFieldSelector {
  const parts = splitTerms(selector).sort();
  const out: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) {
      throw new ParseError(
        'BERTH_FIELD_SELECTOR_INVALID',
        `invalid selector: '${selector}'; can't understand '${part}'`,
        selector,
      );
    }
    const [field, operator, raw] = split;
    out.push({ field, operator, value: unescapeFieldSelectorValue(raw, selector) });
  }
  return out;
}

/** True when every term holds; a field missing from `fields` counts as the empty string, as in Kubernetes. */
export function matchesFields(selector: ParsedFieldSelector, fields: Readonly<Record<string, string>>): boolean {
  for (const r of selector) {
    const value = Object.hasOwn(fields, r.field) ? fields[r.field]! : '';
    if ((r.operator === '!=') === (value === r.value)) return false;
  }
  return true;
}

/** The value a selector requires `field` to equal (`metadata.name=web` → 'web'), for index lookups. */
export function requiredFieldValue(selector: ParsedFieldSelector, field: string): string | undefined {
  return selector.find((r) => r.field === field && r.operator !== '!=')?.value;
}

/** Names of the fields a selector mentions, to check them against the kind's supported fields. */
export function selectorFields(selector: ParsedFieldSelector): string[] {
  return [...new Set(selector.map((r) => r.field))];
}

/** The string form, values escaped; parseable by parseFieldSelector. */
export function formatFieldSelector(selector: ParsedFieldSelector): string {
  return selector.map((r) => `${r.field}${r.operator}${escapeFieldSelectorValue(r.value)}`).join(',');
}
