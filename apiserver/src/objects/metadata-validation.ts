// Kubernetes' ObjectMeta rules: names per kind, label and annotation syntax, finalizer names, owner references,
// and the fields an update may not change.

import {
  duplicate,
  forbidden,
  invalid,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  required,
  validateAnnotations,
  validateLabels,
  type FieldError,
} from '@berth/api';
import { objectMetaSchema } from '../registry/object-meta-schema.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';
import { validateAgainstSchema } from '../schema/validate.js';
import type { ObjectMeta } from './object.js';

const metadataEnvelope: JSONSchemaProps = { type: 'object', properties: { metadata: objectMetaSchema } };

/**
 * Type checks of metadata (labels a map of strings, finalizers a list of strings, …), run before anything reads
 * it, so a mistyped field is a 422 and never reaches code that assumes the types.
 */
export function validateMetadataTypes(metadata: unknown): FieldError[] {
  // A null field of ObjectMeta decodes as absent in Kubernetes (`creationTimestamp: null` from kubectl).
  const present =
    typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
      ? Object.fromEntries(Object.entries(metadata).filter(([, v]) => v !== null))
      : metadata;
  return validateAgainstSchema({ metadata: present }, metadataEnvelope);
}

export function validateObjectMeta(
  meta: ObjectMeta,
  namespaced: boolean,
  nameIsLabel: boolean,
  validateName?: (name: string) => string[],
): FieldError[] {
  const problems: FieldError[] = [];
  const name = meta.name ?? '';
  if (name === '') {
    problems.push(required('metadata.name', 'name or generateName is required'));
  } else {
    for (const why of validateName?.(name) ?? (nameIsLabel ? isDNS1123Label(name) : isDNS1123Subdomain(name)))
      problems.push(invalid('metadata.name', name, why));
  }
  if (namespaced) {
    const ns = meta.namespace ?? '';
    if (ns === '') problems.push(required('metadata.namespace'));
    else for (const why of isDNS1123Label(ns)) problems.push(invalid('metadata.namespace', ns, why));
  }
  problems.push(...validateLabels(meta.labels ?? {}, 'metadata.labels'));
  problems.push(...validateAnnotations(meta.annotations ?? {}, 'metadata.annotations'));
  (meta.finalizers ?? []).forEach((f, i) => {
    for (const why of isQualifiedName(f)) problems.push(invalid(`metadata.finalizers[${i}]`, f, why));
  });
  const uids = new Set<string>();
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const at = `metadata.ownerReferences[${i}]`;
    for (const k of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (typeof ref[k] !== 'string' || ref[k] === '') problems.push(required(`${at}.${k}`));
    }
    if (uids.has(ref.uid)) problems.push(duplicate(`${at}.uid`, ref.uid));
    uids.add(ref.uid);
  });
  if ((meta.ownerReferences ?? []).filter((r) => r.controller === true).length > 1) {
    problems.push(
      invalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true'),
    );
  }
  return problems;
}

export function validateMetadataUpdate(next: ObjectMeta, prev: ObjectMeta): FieldError[] {
  const problems = next.name === prev.name ? [] : [invalid('metadata.name', next.name, 'field is immutable')];
  // A terminating object only loses finalizers (ValidateNoNewFinalizers): one added now could hold it forever.
  if (prev.deletionTimestamp !== undefined) {
    const added = (next.finalizers ?? []).filter((f) => !(prev.finalizers ?? []).includes(f));
    if (added.length > 0)
      problems.push(
        forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
        ),
      );
  }
  return problems;
}
