// Label selectors: Kubernetes' string grammar and metav1.LabelSelector, both into one matchable form.
import { ParseError } from './errors.js';
import { fieldErrorString, invalid, notSupported, type FieldError } from './field-errors.js';
import type { LabelSelector } from './meta.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

/** Operators of the string grammar (Kubernetes' selection.Operator values). */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

/** One ANDed term. `values` are deduplicated and sorted; empty for exists and `!`. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/**
 * A parsed selector: requirements ANDed, sorted by key. `[]` matches everything. `null` stands for
 * Kubernetes' nil selector (an absent metav1.LabelSelector), which matches nothing.
 */
export type ParsedLabelSelector = readonly LabelRequirement[];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64), or undefined. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** Validates one requirement as Kubernetes' NewRequirement does, with its field paths. */
function requirementErrors(key: string, op: LabelOperator, values: readonly string[], path: string): FieldError[] {
  const at = (child: string): string => (path ? `${path}.${child}` : child);
  const errs: FieldError[] = [];
  const keyMsgs = isQualifiedName(key);
  if (keyMsgs.length) errs.push(invalid(at('key'), key, keyMsgs.join('; ')));
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(invalid(at('values'), values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(invalid(at('values'), values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(invalid(at('values'), values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(invalid(at('values'), values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(invalid(`${at('values')}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
    default:
      errs.push(notSupported(at('operator'), op, ['in', 'notin', '=', '==', '!=', 'exists', '!', 'gt', 'lt']));
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length) errs.push(invalid(`${at('values')}[${i}][${key}]`, v, msgs.join('; ')));
  });
  return errs;
}

function aggregate(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(fieldErrorString))];
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

function makeRequirement(
  key: string,
  operator: LabelOperator,
  values: Iterable<string>,
  path = '',
): LabelRequirement | FieldError[] {
  const sorted = [...new Set(values)].sort();
  const errs = requirementErrors(key, operator, sorted, path);
  return errs.length ? errs : { key, operator, values: sorted };
}

// ---- the string grammar (a lexer and a recursive descent parser, like labels.Parse) ----

type Token = 'error' | 'end' | ')' | ',' | '!' | '==' | '=' | '>' | '<' | '!=' | 'in' | 'notin' | '(' | 'identifier';

const TOKENS: ReadonlyMap<string, Token> = new Map<string, Token>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['<', '<'],
  ['!=', '!='],
  ['in', 'in'],
  ['notin', 'notin'],
  ['(', '('],
]);

interface Item {
  token: Token;
  literal: string;
}

const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ token: 'end', literal: '' });
      return items;
    }
    if (isSpecial(s[pos]!)) {
      // Longest run of special characters that still forms an operator.
      let buffer = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        buffer += s[pos];
        const token = TOKENS.get(buffer);
        if (token) {
          last = { token, literal: buffer };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { token: 'error', literal: `error expected: keyword found '${buffer}'` });
    } else {
      let buffer = '';
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buffer += s[pos++];
      items.push({ token: TOKENS.get(buffer) ?? 'identifier', literal: buffer });
    }
  }
}

class SelectorSyntaxError extends Error {}

class Parser {
  private position = 0;
  constructor(private readonly items: Item[]) {}

  /** In value context the keywords `in` and `notin` are plain identifiers (`x in (in)`). */
  private peek(values: boolean): Item {
    const item = this.items[this.position]!;
    return values && (item.token === 'in' || item.token === 'notin')
      ? { token: 'identifier', literal: item.literal }
      : item;
  }

  private next(values: boolean): Item {
    const item = this.peek(values);
    this.position++;
    return item;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const { token, literal } = this.peek(true);
      switch (token) {
        case 'identifier':
        case '!': {
          requirements.push(this.requirement());
          const after = this.next(true);
          if (after.token === 'end') return requirements;
          if (after.token === ',') {
            const t2 = this.peek(true);
            if (t2.token !== 'identifier' && t2.token !== '!') {
              throw new SelectorSyntaxError(`found '${t2.literal}', expected: identifier after ','`);
            }
            break;
          }
          throw new SelectorSyntaxError(`found '${after.literal}', expected: ',' or 'end of string'`);
        }
        case 'end':
          return requirements;
        default:
          throw new SelectorSyntaxError(`found '${literal}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private requirement(): LabelRequirement {
    try {
      const { key, operator } = this.keyAndInferredOperator();
      if (operator === 'exists' || operator === '!') return this.build(key, operator, []);
      const op = this.operator();
      const values = op === 'in' || op === 'notin' ? this.valueSet() : this.exactValue();
      return this.build(key, op, values);
    } catch (err) {
      if (err instanceof SelectorSyntaxError)
        throw new SelectorSyntaxError(`unable to parse requirement: ${err.message}`);
      throw err;
    }
  }

  private build(key: string, op: LabelOperator, values: string[]): LabelRequirement {
    const r = makeRequirement(key, op, values);
    if (Array.isArray(r)) throw new SelectorSyntaxError(aggregate(r));
    return r as LabelRequirement;
  }

  private keyAndInferredOperator(): { key: string; operator: LabelOperator | undefined } {
    let operator: LabelOperator | undefined;
    let item = this.next(true);
    if (item.token === '!') {
      operator = '!';
      item = this.next(true);
    }
    if (item.token !== 'identifier') throw new SelectorSyntaxError(`found '${item.literal}', expected: identifier`);
    const msgs = isQualifiedName(item.literal);
    // Kubernetes reports this one with a nil field path, which prints as "<nil>".
    if (msgs.length) throw new SelectorSyntaxError(fieldErrorString(invalid('<nil>', item.literal, msgs.join('; '))));
    const t = this.peek(true).token;
    if ((t === 'end' || t === ',') && operator !== '!') operator = 'exists';
    return { key: item.literal, operator };
  }

  private operator(): LabelOperator {
    const { token, literal } = this.next(false);
    switch (token) {
      case 'in':
        return 'in';
      case 'notin':
        return 'notin';
      case '=':
        return '=';
      case '==':
        return '==';
      case '!=':
        return '!=';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new SelectorSyntaxError(`found '${literal}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private valueSet(): string[] {
    const open = this.next(true);
    if (open.token !== '(') throw new SelectorSyntaxError(`found '${open.literal}' expected: '('`);
    const { token, literal } = this.peek(true);
    if (token === ')') {
      this.position++;
      return [''];
    }
    if (token !== 'identifier' && token !== ',') {
      throw new SelectorSyntaxError(`found '${literal}', expected: ',', ')' or identifier`);
    }
    const values = this.identifierList();
    if (this.next(true).token !== ')') throw new SelectorSyntaxError(`found '${literal}', expected: ')'`);
    return values;
  }

  private identifierList(): string[] {
    const values = new Set<string>();
    for (;;) {
      const { token, literal } = this.next(true);
      if (token === 'identifier') {
        values.add(literal);
        const t2 = this.peek(true);
        if (t2.token === ',') continue;
        if (t2.token === ')') return [...values];
        throw new SelectorSyntaxError(`found '${t2.literal}', expected: ',' or ')'`);
      } else if (token === ',') {
        // Empty members: "(,a)", "(a,)" and "(a,,b)" all include "".
        if (values.size === 0) values.add('');
        const t2 = this.peek(true);
        if (t2.token === ')') {
          values.add('');
          return [...values];
        }
        if (t2.token === ',') {
          this.position++;
          values.add('');
        }
      } else {
        throw new SelectorSyntaxError(`found '${literal}', expected: ',', or identifier`);
      }
    }
  }

  private exactValue(): string[] {
    const t = this.peek(true).token;
    if (t === 'end' || t === ',') return [''];
    const { token, literal } = this.next(true);
    if (token === 'identifier') return [literal];
    throw new SelectorSyntaxError(`found '${literal}', expected: identifier`);
  }
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Parses Kubernetes' label selector string: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
 * `k>1`, `k<1`, ANDed by commas; whitespace around tokens is ignored. `''` matches everything.
 * Throws ParseError (code BERTH_LABEL_SELECTOR_INVALID) worded as Kubernetes words it.
 */
export function parseLabelSelector(selector: string): ParsedLabelSelector {
  try {
    return sortByKey(new Parser(lex(selector)).parse());
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw new ParseError('BERTH_LABEL_SELECTOR_INVALID', err.message, selector);
    throw err;
  }
}

/**
 * Converts a metav1.LabelSelector (matchLabels + matchExpressions) to the parsed form. An absent selector gives
 * null (matches nothing); `{}` gives [] (matches everything). Throws ParseError on invalid keys, values or operators.
 */
export function labelSelectorFromMeta(selector: LabelSelector | null | undefined): ParsedLabelSelector | null {
  if (selector === null || selector === undefined) return null;
  const reqs: LabelRequirement[] = [];
  const errs: FieldError[] = [];
  const add = (r: LabelRequirement | FieldError[]): void => {
    if (Array.isArray(r)) errs.push(...r);
    else reqs.push(r as LabelRequirement);
  };
  for (const key of Object.keys(selector.matchLabels ?? {}).sort())
    add(makeRequirement(key, '=', [selector.matchLabels![key]!]));
  for (const expr of selector.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[expr.operator];
    if (!op) {
      throw new ParseError(
        'BERTH_LABEL_SELECTOR_INVALID',
        `${JSON.stringify(expr.operator)} is not a valid label selector operator`,
        JSON.stringify(selector),
      );
    }
    add(makeRequirement(expr.key, op, expr.values ?? []));
  }
  if (errs.length) throw new ParseError('BERTH_LABEL_SELECTOR_INVALID', aggregate(errs), JSON.stringify(selector));
  return sortByKey(reqs);
}

/** True when every requirement holds for `labels` (Kubernetes' Requirement.Matches). */
export function matchesLabels(
  selector: ParsedLabelSelector | null,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === null) return false;
  const ls = labels ?? {};
  for (const r of selector) {
    const has = Object.hasOwn(ls, r.key);
    const value = has ? ls[r.key]! : undefined;
    switch (r.operator) {
      case 'in':
      case '=':
      case '==':
        if (value === undefined || !r.values.includes(value)) return false;
        break;
      case 'notin':
      case '!=':
        if (value !== undefined && r.values.includes(value)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (value === undefined || r.values.length !== 1) return false;
        const have = parseInt64(value);
        const want = parseInt64(r.values[0]!);
        if (have === undefined || want === undefined) return false;
        if (r.operator === 'gt' ? !(have > want) : !(have < want)) return false;
        break;
      }
    }
  }
  return true;
}

/** The canonical string form (`a=b,c in (d,e),!f`), parseable by parseLabelSelector. */
export function formatLabelSelector(selector: ParsedLabelSelector): string {
  return selector
    .map((r) => {
      switch (r.operator) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.operator} (${r.values.join(',')})`;
        case 'gt':
          return `${r.key}>${r.values[0] ?? ''}`;
        case 'lt':
          return `${r.key}<${r.values[0] ?? ''}`;
        default:
          return `${r.key}${r.operator}${r.values[0] ?? ''}`;
      }
    })
    .join(',');
}
