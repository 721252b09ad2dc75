// What the server knows about one served resource (a kind at a version): names, scope, schema, subresources,
// printer columns and the strategy hooks of its kind. Built-ins and CRDs end up in this same shape.

import type { JSONSchemaProps } from '../schema/json-schema.js';
import type { Strategy } from './strategy.js';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly jsonPath: string;
}

export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** The kind's OpenAPI v3 schema (the CRD's `openAPIV3Schema`), metadata excluded. */
  readonly schema: JSONSchemaProps;
  readonly subresources: { readonly status: boolean; readonly scale?: ScaleSubresource };
  readonly printerColumns: readonly PrinterColumn[];
  /** Field paths (without the leading dot) usable in field selectors, beyond metadata.name/namespace. */
  readonly selectableFields: readonly string[];
  /** Built-in kinds accept strategic merge patch; custom resources answer 415 to it. */
  readonly builtin: boolean;
  /** The storage version; objects of other served versions are rewritten to it (no conversion webhooks). */
  readonly storageVersion: string;
  readonly strategy: Strategy;
  /** Hash of everything clients cache about this resource (OpenAPI document hash). */
  readonly description?: string;
}

/** `group/version`, or `version` for the core group. */
export const groupVersion = (r: { group: string; version: string }): string =>
  r.group === '' ? r.version : `${r.group}/${r.version}`;

/** Storage key prefix of all objects of a resource (all versions share it). */
export const resourcePrefix = (r: { group: string; plural: string }): string =>
  `/registry/${r.group === '' ? 'core' : r.group}/${r.plural}/`;

export const objectKey = (r: Resource, namespace: string | undefined, name: string): string =>
  r.namespaced ? `${resourcePrefix(r)}${namespace ?? ''}/${name}` : `${resourcePrefix(r)}${name}`;

export const collectionPrefix = (r: Resource, namespace: string | undefined): string =>
  r.namespaced && namespace !== undefined ? `${resourcePrefix(r)}${namespace}/` : resourcePrefix(r);
