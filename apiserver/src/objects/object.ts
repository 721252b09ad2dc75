// The loose shape of any object the server handles: typed metadata, everything else opaque JSON.

import type { ObjectMeta } from '@berth/api';
import { isJsonObject, jsonClone, jsonEqual as equalJson, type JsonValue } from '../patch/json-value.js';

export type { ManagedFieldsEntry, ObjectMeta, OwnerReference } from '@berth/api';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => isJsonObject(v);

/** Deep copy of JSON data (objects here are always JSON-safe). */
export const cloneJson = <T>(v: T): T => jsonClone(v as JsonValue) as T;

/** Deep equality of JSON values; key order does not matter. */
export const jsonEqual = (a: unknown, b: unknown): boolean => equalJson(a as JsonValue, b as JsonValue);

let cachedSecond = Number.NaN;
let cachedNow = '';
/** Kubernetes timestamps: RFC 3339 UTC with whole seconds. */
export const nowTimestamp = (at?: Date): string => {
  if (at !== undefined) return at.toISOString().replace(/\.\d+Z$/, 'Z');
  // A write asks several times (creationTimestamp, managedFields, audit) and the text changes once a second.
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedNow = new Date(second * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  return cachedNow;
};
