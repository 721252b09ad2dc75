// CEL optional values, far enough for Kubernetes' rules: `optionalOldSelf` binds oldSelf as an optional, and the
// format library answers validate() with one.

import { CelScalar, celFunc, celMethod, type CelFunc, type CelInput, type CelValue } from '@bufbuild/cel';
import { OPAQUE, isOpaque, opaque, payloadOf } from './opaque.js';

/** optional.of(v), or optional.none() for undefined. */
export const optionalOf = (v: CelInput | undefined): ReadonlyMap<string, CelInput> =>
  v === undefined ? opaque('optional.none', '') : opaque('optional', v);

function valueOf(v: unknown): CelValue | undefined {
  return isOpaque('optional.none', v) ? undefined : payloadOf('optional', v);
}

export const optionalLibrary: CelFunc[] = [
  celFunc('optional.of', [CelScalar.DYN], OPAQUE, (v) => optionalOf(v)),
  celFunc('optional.none', [], OPAQUE, () => optionalOf(undefined)),
  celMethod('hasValue', OPAQUE, [], CelScalar.BOOL, function () {
    return valueOf(this) !== undefined;
  }),
  celMethod('value', OPAQUE, [], CelScalar.DYN, function () {
    const v = valueOf(this);
    if (v === undefined) throw new Error('optional.none() dereference');
    return v;
  }),
  celMethod('orValue', OPAQUE, [CelScalar.DYN], CelScalar.DYN, function (other) {
    return valueOf(this) ?? other;
  }),
];
