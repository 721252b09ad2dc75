// Regular expressions as Kubernetes runs them: RE2 (Go's regexp), linear in the input, so no schema pattern or
// CEL `matches` can stall the server; compiled once per pattern.

import { RE2JS } from 're2js';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { BoundedCache } from './bounded-cache.js';

// Bounded: patterns come from CRDs and CEL literals, but a client can send many.
const cache = new BoundedCache<RE2JS>(4096);

/** Compiles `pattern` with Go's syntax (`(?i)`, `\z`, `[[:alpha:]]`); throws an RE2JSSyntaxException naming the fault. */
export const compileRe2 = (pattern: string): RE2JS => cache.get(pattern, () => RE2JS.compile(pattern));

/** Why `pattern` is not a valid Go regular expression (Go's own wording), or undefined when it is. */
export function re2Problem(pattern: string): string | undefined {
  try {
    compileRe2(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Go's regexp.MatchString: does `pattern` match anywhere in `s`. */
export const re2Test = (pattern: string, s: string): boolean => compileRe2(pattern).test(s);

// re2js runs in JavaScript, ~10 us a test; a schema's patterns mostly see the same few values (quantities such as
// "250m" and "128Mi", protocols), so each compiled pattern remembers its recent short answers (a pure function).
const MEMO_ENTRIES = 512;
const MEMO_MAX_LENGTH = 64;

/** `re.test`, remembering the answers for short strings (cleared whenever it fills). */
function memoizedTest(re: RE2JS): (s: string) => boolean {
  const answers = new Map<string, boolean>();
  return (s) => {
    if (s.length > MEMO_MAX_LENGTH) return re.test(s);
    let answer = answers.get(s);
    if (answer === undefined) {
      answer = re.test(s);
      if (answers.size >= MEMO_ENTRIES) answers.clear();
      answers.set(s, answer);
    }
    return answer;
  };
}

/** The engine ajv compiles `pattern` keywords with (it passes its "u" flag, which RE2 needs not: it is Unicode-aware). */
export const re2Engine: RegExpEngine = Object.assign(
  (pattern: string) => {
    const test = memoizedTest(compileRe2(pattern));
    // ajv shares compiled patterns by their toString(), so it must name the pattern.
    return { test, toString: () => `re2:${pattern}` };
  },
  { code: 're2' },
);
