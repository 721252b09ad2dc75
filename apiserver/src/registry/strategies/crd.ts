// CustomResourceDefinitions: the cleanup finalizer, established status, and group and scope immutable.

import { invalid, type FieldError } from '@berth/api';
import { nowTimestamp } from '../../objects/object.js';
import { builtinDefinitions } from '../builtin-kinds.js';
import { establishedStatus, validateCrd, type CustomResourceDefinition } from '../crd.js';
import type { Strategy } from '../strategy.js';

/** The finalizer that holds a CRD until all its custom resources are deleted. */
export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

/** The built-in resources as CRD names (`configmaps`, `leases.coordination.k8s.io`): no CRD may claim them. */
const builtinCrdNames = new Set(builtinDefinitions().map((d) => d.metadata.name ?? ''));

export const crdStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), crdCleanupFinalizer])];
    obj['status'] = establishedStatus(obj as unknown as CustomResourceDefinition, nowTimestamp());
  },
  prepareForUpdate(next, prev) {
    const names = JSON.stringify((next as unknown as CustomResourceDefinition).spec?.names);
    if (names !== JSON.stringify((prev as unknown as CustomResourceDefinition).spec?.names)) {
      next['status'] = establishedStatus(next as unknown as CustomResourceDefinition, nowTimestamp());
    }
  },
  validate: (obj) => validateCrd(obj, builtinCrdNames),
  validateUpdate(next, prev) {
    const a = next as unknown as CustomResourceDefinition;
    const b = prev as unknown as CustomResourceDefinition;
    const problems: FieldError[] = [];
    if (a.spec?.group !== b.spec?.group) problems.push(invalid('spec.group', a.spec?.group, 'field is immutable'));
    if (a.spec?.scope !== b.spec?.scope) problems.push(invalid('spec.scope', a.spec?.scope, 'field is immutable'));
    return problems;
  },
};
