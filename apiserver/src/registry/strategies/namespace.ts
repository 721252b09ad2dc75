// Namespaces: the `kubernetes` finalizer the namespace controller removes through …/finalize, and the namespaces
// that may never be deleted.

import { isPlainObject, type KubeObject } from '../../objects/object.js';
import { applyReset } from '../status-strategy.js';
import type { Strategy } from '../strategy.js';

/** The finalizer Kubernetes puts on every namespace: its contents must be deleted first. */
export const namespaceFinalizer = 'kubernetes';

// Kubernetes' NamespaceLifecycle admission refuses to delete default, kube-system and kube-public; berth also keeps
// kube-node-lease (node heartbeats) and berth-system, which it creates only at bootstrap and would not bring back.
export const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    // The namespace controller's token is always there; finalizers the creator names are kept beside it.
    obj['spec'] = { finalizers: [...new Set([...(specFinalizers(obj) ?? []), namespaceFinalizer])] };
    obj['status'] = { phase: 'Active' };
  },
  prepareForUpdate(next, prev) {
    // spec.finalizers is changed only through the finalize step of namespace deletion.
    next['spec'] = prev['spec'];
  },
  pendingFinalizers: (obj) => [...(obj.metadata.finalizers ?? []), ...(specFinalizers(obj) ?? [])],
  onTerminating(obj) {
    obj['status'] = { ...(isPlainObject(obj['status']) ? obj['status'] : {}), phase: 'Terminating' };
  },
  returnsDeletedObject: true,
  undeletable: new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'berth-system']),
  deleteCollection: false,
  finalize: {
    // PUT …/finalize changes spec.finalizers and nothing else (the namespace controller's last step).
    prepareForUpdate(next, prev) {
      const finalizers = specFinalizers(next) ?? [];
      const resourceVersion = next.metadata.resourceVersion;
      applyReset({ allBut: [] }, next, prev);
      next['spec'] = { ...(isPlainObject(prev['spec']) ? prev['spec'] : {}), finalizers };
      // The caller's resourceVersion stays: it is the precondition of the write.
      if (resourceVersion === undefined) delete next.metadata.resourceVersion;
      else next.metadata.resourceVersion = resourceVersion;
    },
    getResetFields: () => ({ allBut: ['spec'] }),
  },
};

const specFinalizers = (obj: KubeObject): string[] | undefined => {
  const spec = obj['spec'];
  return isPlainObject(spec) && Array.isArray(spec['finalizers']) ? (spec['finalizers'] as string[]) : undefined;
};
