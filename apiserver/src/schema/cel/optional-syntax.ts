// CEL's optional syntax (`a.?b`, `m[?k]`), which the parser of @bufbuild/cel does not know: the source is
// rewritten into plain selections and calls the parser accepts, then the AST is lowered to calls of the
// optional library (`a.?b.c` is none when b or c is absent, as in cel-go).

import { create } from '@bufbuild/protobuf';
import { ConstantSchema, Expr_CallSchema, ExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { nodesOf, type Expr } from './ast.js';

const selectMark = '__berth_optsel__';
const indexMark = '__berth_optidx__';
export const optionalSelectFunction = 'berth.optionalSelect';
export const optionalIndexFunction = 'berth.optionalIndex';

/**
 * `a.?b` → `a.__berth_optsel__b`, `m[?k]` → `m[__berth_optidx__(k)]`; string literals (quoted, triple-quoted,
 * raw or bytes) are copied unchanged.
 */
export function rewrite(source: string): string {
  let out = '';
  const closers: string[] = [];
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      const raw = /[rR]$/.test(out) && !/[A-Za-z0-9_][rR]$/.test(out);
      const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < source.length && !source.startsWith(quote, j)) j += !raw && source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + quote.length);
      i = j + quote.length;
      continue;
    }
    if (c === '.' && source[i + 1] === '?' && /[A-Za-z_]/.test(source[i + 2] ?? '')) {
      out += `.${selectMark}`;
      i += 2;
      continue;
    }
    if (c === '[') {
      if (source[i + 1] === '?' && /\S/.test(source[i + 2] ?? '') && /[\w\])]\s*$/.test(out)) {
        out += `[${indexMark}(`;
        closers.push(')]');
        i += 2;
        continue;
      }
      closers.push(']');
    } else if (c === ']') {
      out += closers.pop() ?? ']';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Builds the replacement nodes, with ids above every id of the expression it lowers. */
class Builder {
  #next: bigint;
  constructor(root: Expr) {
    let max = 0n;
    for (const n of nodesOf(root)) if (n.id > max) max = n.id;
    this.#next = max + 1n;
  }
  call(fn: string, args: Expr[]): Expr {
    return create(ExprSchema, {
      id: this.#next++,
      exprKind: { case: 'callExpr', value: create(Expr_CallSchema, { function: fn, args }) },
    });
  }
  text(s: string): Expr {
    return create(ExprSchema, {
      id: this.#next++,
      exprKind: {
        case: 'constExpr',
        value: create(ConstantSchema, { constantKind: { case: 'stringValue', value: s } }),
      },
    });
  }
}

/** Replaces the marked selections and indexes (and what chains on them) with calls of the optional library. */
export function lower(root: Expr): Expr {
  const b = new Builder(root);
  const node = (e: Expr): { expr: Expr; optional: boolean } => {
    const k = e.exprKind;
    if (k.case === 'selectExpr' && k.value.operand !== undefined && !k.value.testOnly) {
      const base = node(k.value.operand);
      const marked = k.value.field.startsWith(selectMark);
      if (marked || base.optional)
        return {
          expr: b.call(optionalSelectFunction, [
            base.expr,
            b.text(marked ? k.value.field.slice(selectMark.length) : k.value.field),
          ]),
          optional: true,
        };
      k.value.operand = base.expr;
      return { expr: e, optional: false };
    }
    if (k.case === 'callExpr' && k.value.function === '_[_]' && k.value.args.length === 2) {
      const base = node(k.value.args[0]!);
      const key = k.value.args[1]!;
      const markedKey =
        key.exprKind.case === 'callExpr' && key.exprKind.value.function === indexMark
          ? key.exprKind.value.args[0]
          : undefined;
      const lowered = lowerAll(markedKey ?? key);
      if (markedKey !== undefined || base.optional)
        return { expr: b.call(optionalIndexFunction, [base.expr, lowered]), optional: true };
      k.value.args = [base.expr, lowered];
      return { expr: e, optional: false };
    }
    replaceChildren(e, lowerAll);
    return { expr: e, optional: false };
  };
  const lowerAll = (e: Expr): Expr => node(e).expr;
  return lowerAll(root);
}

/** Replaces the children of a node in place by `lower` of each. */
function replaceChildren(e: Expr, lower: (e: Expr) => Expr): void {
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      if (k.value.operand !== undefined) k.value.operand = lower(k.value.operand);
      return;
    case 'callExpr':
      if (k.value.target !== undefined) k.value.target = lower(k.value.target);
      k.value.args = k.value.args.map(lower);
      return;
    case 'listExpr':
      k.value.elements = k.value.elements.map(lower);
      return;
    case 'structExpr':
      for (const en of k.value.entries) {
        if (en.keyKind.case === 'mapKey') en.keyKind.value = lower(en.keyKind.value);
        if (en.value !== undefined) en.value = lower(en.value);
      }
      return;
    case 'comprehensionExpr': {
      const c = k.value;
      for (const key of ['iterRange', 'accuInit', 'loopCondition', 'loopStep', 'result'] as const) {
        const v = c[key];
        if (v !== undefined) c[key] = lower(v);
      }
      return;
    }
  }
}
