// The parsed CEL AST as @bufbuild/cel gives it, and small helpers to walk it.

import type { parse } from '@bufbuild/cel';

export type Expr = ReturnType<typeof parse>['expr'];

/** The direct children of a node. */
export function childrenOf(e: Expr): Expr[] {
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      return k.value.operand === undefined ? [] : [k.value.operand];
    case 'callExpr':
      return [...(k.value.target === undefined ? [] : [k.value.target]), ...k.value.args];
    case 'listExpr':
      return k.value.elements;
    case 'structExpr':
      return k.value.entries.flatMap((en) => [
        ...(en.keyKind.case === 'mapKey' ? [en.keyKind.value] : []),
        ...(en.value === undefined ? [] : [en.value]),
      ]);
    case 'comprehensionExpr': {
      const c = k.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].filter((x): x is Expr => x !== undefined);
    }
    default:
      return [];
  }
}

/** Every node, depth first. */
export function* nodesOf(e: Expr): Generator<Expr> {
  yield e;
  for (const c of childrenOf(e)) yield* nodesOf(c);
}

/** The dotted name of `a.b.c` when it is a chain of selects on an identifier (qualified function names). */
export function qualifiedName(e: Expr | undefined): string | undefined {
  if (e === undefined) return undefined;
  if (e.exprKind.case === 'identExpr') return e.exprKind.value.name;
  if (e.exprKind.case === 'selectExpr' && !e.exprKind.value.testOnly) {
    const base = qualifiedName(e.exprKind.value.operand);
    return base === undefined ? undefined : `${base}.${e.exprKind.value.field}`;
  }
  return undefined;
}
