// Kubernetes' CEL lists and sets libraries: isSorted, sum, min, max, indexOf, lastIndexOf; sets.contains,
// sets.equivalent, sets.intersects.

import {
  CelScalar,
  celError,
  celFunc,
  celMethod,
  listType,
  type CelFunc,
  type CelList,
  type CelValue,
} from '@bufbuild/cel';

const LIST = listType(CelScalar.DYN);

function compare(a: CelValue, b: CelValue): number {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw celError('no such overload: values are not comparable');
}

const equal = (a: CelValue, b: CelValue): boolean => {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    // biome-ignore lint/suspicious/noDoubleEquals: CEL compares int, uint and double by value: 1n == 1 must hold.
    return a == b;
  return a === b || JSON.stringify(a, bigints) === JSON.stringify(b, bigints);
};
const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v.entries()] : v);

function extreme(list: CelList, sign: number): CelValue {
  let best: CelValue | undefined;
  for (const v of list) if (best === undefined || compare(v, best) * sign > 0) best = v;
  if (best === undefined) throw celError(`${sign > 0 ? 'max' : 'min'} called on an empty list`);
  return best;
}

export const listsLibrary: CelFunc[] = [
  celMethod('isSorted', LIST, [], CelScalar.BOOL, function () {
    let prev: CelValue | undefined;
    for (const v of this) {
      if (prev !== undefined && compare(prev, v) > 0) return false;
      prev = v;
    }
    return true;
  }),
  celMethod('sum', LIST, [], CelScalar.DYN, function () {
    let total: bigint | number = 0n;
    for (const v of this) {
      if (typeof v === 'bigint' && typeof total === 'bigint') total += v;
      else if (typeof v === 'number' || typeof v === 'bigint') total = Number(total) + Number(v);
      else throw celError('no such overload: sum of non-numbers');
    }
    return total;
  }),
  celMethod('min', LIST, [], CelScalar.DYN, function () {
    return extreme(this, -1);
  }),
  celMethod('max', LIST, [], CelScalar.DYN, function () {
    return extreme(this, 1);
  }),
  celMethod('indexOf', LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    let i = 0n;
    for (const v of this) {
      if (equal(v, x)) return i;
      i++;
    }
    return -1n;
  }),
  celMethod('lastIndexOf', LIST, [CelScalar.DYN], CelScalar.INT, function (x) {
    let found = -1n;
    let i = 0n;
    for (const v of this) {
      if (equal(v, x)) found = i;
      i++;
    }
    return found;
  }),
  celFunc('sets.contains', [LIST, LIST], CelScalar.BOOL, (a, b) =>
    [...b].every((x) => [...a].some((y) => equal(x, y))),
  ),
  celFunc(
    'sets.equivalent',
    [LIST, LIST],
    CelScalar.BOOL,
    (a, b) =>
      [...b].every((x) => [...a].some((y) => equal(x, y))) && [...a].every((x) => [...b].some((y) => equal(x, y))),
  ),
  celFunc('sets.intersects', [LIST, LIST], CelScalar.BOOL, (a, b) =>
    [...a].some((x) => [...b].some((y) => equal(x, y))),
  ),
];
