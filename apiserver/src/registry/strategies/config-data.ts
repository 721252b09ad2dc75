// What ConfigMaps and Secrets share: Kubernetes' config key syntax and the `immutable` flag.

import { forbidden, type FieldError } from '@berth/api';
import type { KubeObject } from '../../objects/object.js';

export const configKey = /^[-._a-zA-Z0-9]+$/;
export const configKeyMessage =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** ConfigMaps and Secrets marked `immutable: true` refuse changes to their data. */
export function immutableData(next: KubeObject, prev: KubeObject): FieldError[] {
  if (prev['immutable'] !== true) return [];
  const same =
    JSON.stringify([next['data'], next['binaryData'], next['immutable']]) ===
    JSON.stringify([prev['data'], prev['binaryData'], prev['immutable']]);
  return same ? [] : [forbidden('data', 'field is immutable when `immutable` is set')];
}
