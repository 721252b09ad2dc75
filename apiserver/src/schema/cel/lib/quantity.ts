// Kubernetes' CEL quantity library: quantity('500m'), isQuantity, comparisons, arithmetic, conversions, exact
// (the payload is @berth/api's parsed rational).

import { CelScalar, celError, celFunc, celMethod, type CelFunc } from '@bufbuild/cel';
import { compareQuantities, parseQuantity, validateQuantity, type ParsedQuantity } from '@berth/api';
import { OPAQUE, opaque, payloadOf } from './opaque.js';

const encode = (q: ParsedQuantity): string => `${q.numerator}/${q.denominator}`;
function decode(v: unknown): ParsedQuantity {
  const [n, d] = String(payloadOf('quantity', v)).split('/');
  return { numerator: BigInt(n ?? '0'), denominator: BigInt(d ?? '1'), format: 'DecimalSI' };
}
const make = (q: ParsedQuantity) => opaque('quantity', encode(q));

function reduce(numerator: bigint, denominator: bigint): ParsedQuantity {
  const g = gcd(numerator, denominator) || 1n;
  return { numerator: numerator / g, denominator: denominator / g, format: 'DecimalSI' };
}
function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b) [a, b] = [b, a % b];
  return a;
}
const plus = (a: ParsedQuantity, b: ParsedQuantity, sign: bigint) =>
  reduce(a.numerator * b.denominator + sign * b.numerator * a.denominator, a.denominator * b.denominator);
const ofInt = (i: bigint): ParsedQuantity => ({ numerator: i, denominator: 1n, format: 'DecimalSI' });

export const quantityLibrary: CelFunc[] = [
  celFunc('quantity', [CelScalar.STRING], OPAQUE, (s) => {
    const problems = validateQuantity(s);
    if (problems.length > 0)
      throw celError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
    return make(parseQuantity(s));
  }),
  celFunc('isQuantity', [CelScalar.STRING], CelScalar.BOOL, (s) => validateQuantity(s).length === 0),
  celMethod('sign', OPAQUE, [], CelScalar.INT, function () {
    const q = decode(this);
    return q.numerator > 0n ? 1n : q.numerator < 0n ? -1n : 0n;
  }),
  celMethod('isInteger', OPAQUE, [], CelScalar.BOOL, function () {
    const q = decode(this);
    return q.numerator % q.denominator === 0n;
  }),
  celMethod('asInteger', OPAQUE, [], CelScalar.INT, function () {
    const q = decode(this);
    if (q.numerator % q.denominator !== 0n) throw celError('cannot convert value to integer');
    return q.numerator / q.denominator;
  }),
  celMethod('asApproximateFloat', OPAQUE, [], CelScalar.DOUBLE, function () {
    const q = decode(this);
    return Number(q.numerator) / Number(q.denominator);
  }),
  celMethod('isGreaterThan', OPAQUE, [OPAQUE], CelScalar.BOOL, function (other) {
    return compareQuantities(decode(this), decode(other)) > 0;
  }),
  celMethod('isLessThan', OPAQUE, [OPAQUE], CelScalar.BOOL, function (other) {
    return compareQuantities(decode(this), decode(other)) < 0;
  }),
  celMethod('compareTo', OPAQUE, [OPAQUE], CelScalar.INT, function (other) {
    return BigInt(compareQuantities(decode(this), decode(other)));
  }),
  celMethod('add', OPAQUE, [OPAQUE], OPAQUE, function (other) {
    return make(plus(decode(this), decode(other), 1n));
  }),
  celMethod('add', OPAQUE, [CelScalar.INT], OPAQUE, function (i) {
    return make(plus(decode(this), ofInt(i), 1n));
  }),
  celMethod('sub', OPAQUE, [OPAQUE], OPAQUE, function (other) {
    return make(plus(decode(this), decode(other), -1n));
  }),
  celMethod('sub', OPAQUE, [CelScalar.INT], OPAQUE, function (i) {
    return make(plus(decode(this), ofInt(i), -1n));
  }),
];
