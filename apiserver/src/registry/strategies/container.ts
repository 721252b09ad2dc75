// Containers: deleted gracefully, as Kubernetes deletes a Pod (podStrategy.CheckGracefulDelete); and bound once.
// spec.nodeName is the binding: it may be given at create (bypassing the scheduler) or set once on an unbound
// Container; after that it never changes, and the scheduler binds through POST …/containers/NAME/binding
// (Kubernetes' pods/binding), which refuses a Container already bound or terminating.

import { invalid, type FieldError } from '@berth/api';
import { isPlainObject, type KubeObject } from '../../objects/object.js';
import { applyReset } from '../status-strategy.js';
import type { Strategy } from '../strategy.js';

/** The grace period when neither the delete nor the spec names one (the CRD's default, as a Pod's). */
const defaultGraceSeconds = 30;

/**
 * A delete's grace period is the one asked for, else spec.terminationGracePeriodSeconds; a Container bound to no
 * node, or already finished, has nothing to stop and gets none. The node agent stops the container within it.
 */
export function containerGracePeriod(obj: KubeObject, requested: number | undefined): number {
  const spec = (obj['spec'] ?? {}) as { nodeName?: unknown; terminationGracePeriodSeconds?: unknown };
  const status = (obj['status'] ?? {}) as { phase?: unknown };
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return 0;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return 0;
  if (requested !== undefined) return requested;
  return typeof spec.terminationGracePeriodSeconds === 'number'
    ? spec.terminationGracePeriodSeconds
    : defaultGraceSeconds;
}

const nodeNameOf = (obj: KubeObject): string => {
  const spec = obj['spec'];
  return isPlainObject(spec) && typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
};

export const containerStrategy: Strategy = {
  gracePeriodOnDelete: containerGracePeriod,
  validateUpdate(next, prev) {
    const problems: FieldError[] = [];
    const before = nodeNameOf(prev);
    if (before !== '' && nodeNameOf(next) !== before)
      problems.push(invalid('spec.nodeName', nodeNameOf(next), 'field is immutable once the container is bound'));
    // As the binding subresource refuses it: a Container being deleted is never placed on a node.
    else if (before === '' && nodeNameOf(next) !== '' && prev.metadata.deletionTimestamp !== undefined)
      problems.push(invalid('spec.nodeName', nodeNameOf(next), 'may not be set once the container is being deleted'));
    return problems;
  },
  binding: {
    // The handler sets spec.nodeName on a copy of the stored object; nothing else of it may change here.
    prepareForUpdate(next, prev) {
      const nodeName = nodeNameOf(next);
      const resourceVersion = next.metadata.resourceVersion;
      applyReset({ allBut: [] }, next, prev);
      next['spec'] = { ...(isPlainObject(prev['spec']) ? prev['spec'] : {}), nodeName };
      if (resourceVersion === undefined) delete next.metadata.resourceVersion;
      else next.metadata.resourceVersion = resourceVersion;
    },
    getResetFields: () => ({ allBut: ['spec'] }),
  },
};
