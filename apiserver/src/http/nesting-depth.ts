// How deep a request body nests, measured without recursion, so a hostile body is refused before any recursive
// code (validation, merge patch, field ownership, the YAML parser) runs out of stack on it.

/**
 * How deep a body may nest. Kubernetes' JSON decoder stops at 10,000 levels; berth's recursive merge, ownership
 * and validation code runs out of stack well before that, so berth draws the line where it still answers.
 */
export const maxNestingDepth = 1000;

/** Whether JSON text nests arrays and objects deeper than allowed (a linear scan that skips strings). */
export function jsonDepthExceeds(text: string): boolean {
  // Each level opens with `{` or `[`: with no more of them in the whole text (strings included) than allowed, no
  // nesting can exceed it. indexOf runs natively, many times faster than the character loop a request would pay.
  if (openersAtMost(text, maxNestingDepth)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxNestingDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function openersAtMost(text: string, max: number): boolean {
  let count = 0;
  for (const opener of ['{', '[']) {
    for (let i = text.indexOf(opener); i >= 0; i = text.indexOf(opener, i + 1)) if (++count > max) return false;
  }
  return true;
}

/** Whether YAML flow collections (`[`, `{`) nest deeper than allowed; quotes and comments are skipped. */
export function flowDepthExceeds(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === "'") {
      for (i++; i < text.length; i++) {
        if (text[i] !== "'") continue;
        if (text[i + 1] !== "'") break;
        i++;
      }
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > maxNestingDepth) return true;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return false;
}

/**
 * Whether decoded data nests deeper than allowed. YAML aliases share nodes, so a node is walked again whenever it
 * is reached deeper than before: aliases stacked on aliases, and cycles (`&a [*a]`), count as the depth they make.
 */
export function depthExceeds(value: unknown): boolean {
  const deepest = new Map<object, number>();
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxNestingDepth) return true;
    if ((deepest.get(v) ?? 0) >= depth) continue;
    deepest.set(v, depth);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
