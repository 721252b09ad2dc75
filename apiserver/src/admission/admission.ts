// Admission: the plug points every write passes after the kind's own rules (Kubernetes' admission chain).
// Mutating plugins run first, in order, and may change the object; validating plugins run after the kind's
// validation, in order, and may only refuse (by throwing an ApiError) or warn. The object store calls both.

import type { UserInfo } from '../authentication/authenticator.js';
import type { KubeObject } from '../objects/object.js';
import type { Resource } from '../registry/resource.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionAttributes {
  readonly operation: AdmissionOperation;
  readonly resource: Resource;
  /** `status` for a /status write, else undefined. */
  readonly subresource: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object being written (a mutating plugin changes it in place); on DELETE, the object being deleted. */
  readonly object: KubeObject;
  /** The stored object an UPDATE replaces. */
  readonly oldObject: KubeObject | undefined;
  /** Who writes; undefined for the API server's own writes (bootstrap, namespace cleanup). */
  readonly user: UserInfo | undefined;
  readonly dryRun: boolean;
}

/** Warnings a plugin returns reach the client as `Warning` headers; a refusal is thrown. */
export type AdmissionResult = void | readonly string[] | Promise<void | readonly string[]>;

export interface MutatingAdmission {
  readonly name: string;
  admit(attributes: AdmissionAttributes): AdmissionResult;
}

export interface ValidatingAdmission {
  readonly name: string;
  validate(attributes: AdmissionAttributes): AdmissionResult;
}

/** The plugin lists, in the order they run. */
export interface Admission {
  readonly mutating: readonly MutatingAdmission[];
  readonly validating: readonly ValidatingAdmission[];
}

export const noAdmission: Admission = { mutating: [], validating: [] };

/** Runs every mutating plugin in order; returns their warnings. */
export async function admitMutating(admission: Admission, attributes: AdmissionAttributes): Promise<string[]> {
  const warnings: string[] = [];
  for (const plugin of admission.mutating) warnings.push(...((await plugin.admit(attributes)) ?? []));
  return warnings;
}

/** Runs every validating plugin in order; the first refusal ends the write. Returns their warnings. */
export async function admitValidating(admission: Admission, attributes: AdmissionAttributes): Promise<string[]> {
  const warnings: string[] = [];
  for (const plugin of admission.validating) warnings.push(...((await plugin.validate(attributes)) ?? []));
  return warnings;
}
