// The one error family of berth: a base class every subsystem's errors extend, and the parse error of @berth/api.

const brands = Symbol.for('berth.error.brands');

interface Branded {
  readonly [brands]?: readonly string[];
}

/**
 * The base of every error berth throws on purpose. `code` is a stable string callers switch on (never an HTTP
 * number; the API server maps errors to HTTP statuses in one table); a wrapped error goes in `cause`.
 *
 * `instanceof` breaks when two copies of a package are loaded, so each error carries the names of its class chain
 * under a `Symbol.for` brand, and `isInstance` / `instanceof` check that brand instead of the prototype. A subclass
 * gets both for free: `RuntimeError.isInstance(e)` is true for a RuntimeError from any copy of its package.
 * Class names are therefore the identity: keep them unique across berth.
 */
export class BerthError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    const chain: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      chain.push((c as { name: string }).name);
    }
    Object.defineProperty(this, brands, { value: chain });
  }

  /** True when `value` is an instance of the class this is called on, from any copy of its package. */
  static isInstance<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    if (typeof value !== 'object' || value === null) return false;
    const chain = (value as Branded)[brands];
    return Array.isArray(chain) && chain.includes(this.name);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return BerthError.isInstance.call(this as unknown as abstract new (...args: never[]) => unknown, value);
  }
}

/** True for any BerthError, optionally only one with the given code. */
export function isBerthError(value: unknown, code?: string): value is BerthError {
  return BerthError.isInstance(value) && (code === undefined || value.code === code);
}

export type ParseErrorCode = 'BERTH_LABEL_SELECTOR_INVALID' | 'BERTH_FIELD_SELECTOR_INVALID' | 'BERTH_QUANTITY_INVALID';

/**
 * Input that does not follow Kubernetes' grammar. `message` is worded as Kubernetes words it, so a server
 * can put it in a 400 BadRequest Status unchanged.
 */
export class ParseError extends BerthError<ParseErrorCode> {
  /** The whole input that failed to parse. */
  readonly input: string;

  constructor(code: ParseErrorCode, message: string, input: string) {
    super(code, message);
    this.input = input;
  }
}
