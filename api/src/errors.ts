// The error @berth/api throws when it cannot parse user input (selectors, quantities).

const brand = Symbol.for('berth.api.ParseError');

export type ParseErrorCode = 'BERTH_LABEL_SELECTOR_INVALID' | 'BERTH_FIELD_SELECTOR_INVALID' | 'BERTH_QUANTITY_INVALID';

/**
 * Input that does not follow Kubernetes' grammar. `message` is worded as Kubernetes words it, so a server
 * can put it in a 400 BadRequest Status unchanged.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly code: ParseErrorCode;
  /** The whole input that failed to parse. */
  readonly input: string;
  readonly [brand] = true;

  constructor(code: ParseErrorCode, message: string, input: string) {
    super(message);
    this.code = code;
    this.input = input;
  }

  /** True for a ParseError from any copy of @berth/api (instanceof breaks across copies). */
  static isInstance(value: unknown): value is ParseError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return ParseError.isInstance(value);
  }
}
