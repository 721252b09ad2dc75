// CEL optional values, far enough for Kubernetes' rules: `optionalOldSelf` binds oldSelf as an optional, the
// format library answers validate() with one, and `a.?b` / `m[?k]` (lowered by optional-syntax.ts) make them.

import {
  CelScalar,
  celFunc,
  celMethod,
  isCelList,
  isCelMap,
  type CelFunc,
  type CelInput,
  type CelValue,
} from '@bufbuild/cel';
import { optionalIndexFunction, optionalSelectFunction } from '../optional-syntax.js';
import { OPAQUE, isOpaque, opaque, payloadOf } from './opaque.js';

/** optional.of(v), or optional.none() for undefined. */
export const optionalOf = (v: CelInput | undefined): ReadonlyMap<string, CelInput> =>
  v === undefined ? opaque('optional.none', '') : opaque('optional', v);

function optionalValue(v: unknown): CelValue | undefined {
  return isOpaque('optional.none', v) ? undefined : payloadOf('optional', v);
}

/** The value under an optional (or a plain value), undefined for none. */
const unwrap = (v: unknown): CelValue | undefined =>
  isOpaque('optional.none', v) ? undefined : isOpaque('optional', v) ? payloadOf('optional', v) : (v as CelValue);

/** `x.?f` (and `.f` after one): optional.of(x.f) when x has field f, else none. */
function select(x: unknown, field: string): ReadonlyMap<string, CelInput> {
  const v = unwrap(x);
  return optionalOf(isCelMap(v) && v.has(field) ? v.get(field) : undefined);
}

/** `x[?k]`: optional.of(x[k]) when the list has index k or the map key k, else none. */
function index(x: unknown, key: CelValue): ReadonlyMap<string, CelInput> {
  const v = unwrap(x);
  if (isCelList(v) && typeof key === 'bigint')
    return optionalOf(key >= 0n && key < BigInt(v.size) ? v.get(Number(key)) : undefined);
  if (isCelMap(v) && (typeof key === 'string' || typeof key === 'bigint' || typeof key === 'boolean'))
    return optionalOf(v.has(key) ? v.get(key) : undefined);
  return optionalOf(undefined);
}

export const optionalLibrary: CelFunc[] = [
  celFunc(optionalSelectFunction, [CelScalar.DYN, CelScalar.STRING], OPAQUE, (x, field) => select(x, field)),
  celFunc(optionalIndexFunction, [CelScalar.DYN, CelScalar.DYN], OPAQUE, (x, key) => index(x, key)),
  celFunc('optional.of', [CelScalar.DYN], OPAQUE, (v) => optionalOf(v)),
  celFunc('optional.none', [], OPAQUE, () => optionalOf(undefined)),
  celMethod('hasValue', OPAQUE, [], CelScalar.BOOL, function () {
    return optionalValue(this) !== undefined;
  }),
  celMethod('value', OPAQUE, [], CelScalar.DYN, function () {
    const v = optionalValue(this);
    if (v === undefined) throw new Error('optional.none() dereference');
    return v;
  }),
  celMethod('orValue', OPAQUE, [CelScalar.DYN], CelScalar.DYN, function (other) {
    return optionalValue(this) ?? other;
  }),
];
