// Kubernetes' CEL libraries add value types (quantity, URL, IP, CIDR, optional, format); the CEL engine here
// knows only protobuf messages as custom types, so each such value is a map holding one hidden key.

import { CelScalar, celError, isCelMap, mapType, type CelInput, type CelMapType, type CelValue } from '@bufbuild/cel';

/** The target type of every method on an opaque value. */
export const OPAQUE: CelMapType = mapType(CelScalar.STRING, CelScalar.DYN);

const key = (kind: string): string => `\u0000${kind}`;

export const opaque = (kind: string, payload: CelInput): ReadonlyMap<string, CelInput> =>
  new Map([[key(kind), payload]]);

/** The payload of an opaque value of `kind`; throws a CEL error (no such overload) for anything else. */
export function payloadOf(kind: string, v: unknown): CelValue {
  if (isCelMap(v) && v.has(key(kind))) return v.get(key(kind)) as CelValue;
  throw celError(`no such overload: not a ${kind}`);
}

export const isOpaque = (kind: string, v: unknown): boolean => isCelMap(v) && v.has(key(kind));
