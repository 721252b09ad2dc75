// Kubernetes resource quantities (`128Mi`, `500m`, `1.5G`, `1e3`) parsed to exact values.
import { ParseError } from './errors.js';
import type { Quantity } from './meta.js';

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/** An exact quantity: `numerator / denominator` (reduced, denominator > 0), in base units (bytes, cores, pids). */
export interface ParsedQuantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** How the suffix was written; Kubernetes keeps it to format the value back. */
  readonly format: QuantityFormat;
}

const FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const BAD_SUFFIX = "unable to parse quantity's suffix";

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b) [a, b] = [b, a % b];
  return a;
}

function fail(input: string, message: string): never {
  throw new ParseError('BERTH_QUANTITY_INVALID', message, input);
}

/**
 * Parses a quantity as Kubernetes' resource.ParseQuantity: optional sign, digits with at most one '.', then one
 * suffix: binary (Ki Mi Gi Ti Pi Ei), decimal (n u m "" k M G T P E) or a decimal exponent (e3, E-2). A number
 * is taken as its decimal string. Throws ParseError (code BERTH_QUANTITY_INVALID) with Kubernetes' messages.
 */
export function parseQuantity(input: Quantity): ParsedQuantity {
  let str: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) fail(String(input), FORMAT_WRONG);
    str = String(input);
  } else if (typeof input === 'string') {
    str = input;
  } else {
    fail(String(input), FORMAT_WRONG);
  }
  if (str.length === 0) fail(str, FORMAT_WRONG);
  let pos = 0;
  let negative = false;
  if (str[0] === '-' || str[0] === '+') {
    negative = str[0] === '-';
    pos++;
  }
  const numStart = pos;
  while (isDigit(str[pos])) pos++;
  const whole = str.slice(numStart, pos);
  let frac = '';
  if (str[pos] === '.') {
    pos++;
    const fracStart = pos;
    while (isDigit(str[pos])) pos++;
    frac = str.slice(fracStart, pos);
  }
  // Kubernetes accepts "1." and "." (as 0) but needs at least one digit or dot before the suffix.
  if (pos === numStart) fail(str, FORMAT_WRONG);
  const suffixStart = pos;
  while (pos < str.length && 'eEinumkKMGTP'.includes(str[pos]!)) pos++;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  while (isDigit(str[pos])) pos++;
  if (pos !== str.length) fail(str, FORMAT_WRONG);
  const suffix = str.slice(suffixStart);

  let numerator = BigInt((whole || '0') + frac) * (negative ? -1n : 1n);
  let denominator = 10n ** BigInt(frac.length);
  let format: QuantityFormat;
  if (suffix in DECIMAL) {
    format = 'DecimalSI';
    const exp = DECIMAL[suffix]!;
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  } else if (suffix in BINARY) {
    format = 'BinarySI';
    numerator *= 2n ** BigInt(BINARY[suffix]!);
  } else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    format = 'DecimalExponent';
    const exp = Number(suffix.slice(1));
    // Kubernetes keeps the exponent in an int32; beyond that the value is unrepresentable.
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 2 ** 31 - 1) fail(str, BAD_SUFFIX);
    if (Math.abs(exp) > 10_000) fail(str, 'quantity exponent too large to represent exactly');
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  } else {
    fail(str, BAD_SUFFIX);
  }
  const g = gcd(numerator, denominator);
  if (g > 1n) {
    numerator /= g;
    denominator /= g;
  }
  return { numerator, denominator, format };
}

/** Problems with a quantity string, [] = valid; the messages are Kubernetes'. */
export function validateQuantity(input: Quantity): string[] {
  try {
    parseQuantity(input);
    return [];
  } catch (err) {
    if (ParseError.isInstance(err)) return [err.message];
    throw err;
  }
}

/** numerator/denominator × scale, rounded away from zero (Kubernetes' Value/MilliValue round up). */
function scaled(q: ParsedQuantity, scale: bigint): bigint {
  const n = q.numerator * scale;
  const magnitude = n < 0n ? -n : n;
  const rounded = (magnitude + q.denominator - 1n) / q.denominator;
  return n < 0n ? -rounded : rounded;
}

/** The value in base units as an integer, rounded up (Quantity.Value): `1.5` → 2, `128Mi` → 134217728. */
export function quantityValue(q: ParsedQuantity): bigint {
  return scaled(q, 1n);
}

/** The value in thousandths, rounded up (Quantity.MilliValue): `500m` → 500, `2` → 2000. */
export function quantityMilliValue(q: ParsedQuantity): bigint {
  return scaled(q, 1000n);
}

function toSafeNumber(v: bigint, input: Quantity): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(String(input), `quantity ${String(input)} is too large to be represented exactly as a number`);
  }
  return Number(v);
}

/** Bytes in a memory quantity (`64Mi` → 67108864), rounded up. Throws ParseError if invalid or beyond 2^53. */
export function toBytes(input: Quantity): number {
  return toSafeNumber(quantityValue(parseQuantity(input)), input);
}

/** Millicores in a CPU quantity (`500m` → 500, `2` → 2000), rounded up. Throws ParseError if invalid. */
export function toMillicores(input: Quantity): number {
  return toSafeNumber(quantityMilliValue(parseQuantity(input)), input);
}

/** A plain count (pids: `256`, `1k` → 1000), rounded up. Throws ParseError if invalid. */
export function toCount(input: Quantity): number {
  return toSafeNumber(quantityValue(parseQuantity(input)), input);
}

/** Compares two quantities exactly: negative, 0 or positive. */
export function compareQuantities(a: ParsedQuantity, b: ParsedQuantity): number {
  const l = a.numerator * b.denominator;
  const r = b.numerator * a.denominator;
  return l < r ? -1 : l > r ? 1 : 0;
}
