// NodeRestriction (Kubernetes' admission plugin of that name): a node's identity may write only its own Node, its
// own Lease in kube-node-lease, and Containers (their status included) bound to it; it may not delete Containers
// or move one to another node (RBAC's system:node grants no deletes). Everyone else passes untouched.

import { ApiError } from '../../errors/api-error.js';
import { nodeNameOf } from '../../authorization/node/node-authorizer.js';
import type { KubeObject } from '../../objects/object.js';
import type { AdmissionAttributes, ValidatingAdmission } from '../admission.js';

const nodeOfContainer = (obj: KubeObject | undefined): unknown =>
  (obj?.['spec'] as { nodeName?: unknown } | undefined)?.nodeName;

const refuse = (a: AdmissionAttributes, why: string): ApiError => {
  const qualified = a.resource.group === '' ? a.resource.plural : `${a.resource.plural}.${a.resource.group}`;
  return new ApiError('Forbidden', `${qualified} "${a.name}" is forbidden: ${why}`, {
    name: a.name,
    group: a.resource.group,
    kind: a.resource.plural,
  });
};

export const nodeRestriction: ValidatingAdmission = {
  name: 'NodeRestriction',
  validate(a) {
    const node = nodeNameOf(a.user);
    if (node === undefined) return;
    const { group, plural } = a.resource;
    if (group === '' && plural === 'nodes') {
      if (a.name !== node) throw refuse(a, `node "${node}" is not allowed to modify node "${a.name}"`);
      return;
    }
    if (group === 'coordination.k8s.io' && plural === 'leases') {
      if (a.namespace !== 'kube-node-lease' || a.name !== node)
        throw refuse(a, `node "${node}" can only access node lease with the same name as the requesting node`);
      return;
    }
    if (group === 'berth.dev' && plural === 'containers') {
      if (a.operation === 'CREATE') throw refuse(a, `node "${node}" can not create containers`);
      const bound = nodeOfContainer(a.oldObject ?? a.object);
      if (bound !== node) throw refuse(a, `node "${node}" can only update containers with spec.nodeName set to itself`);
      if (a.operation === 'UPDATE' && nodeOfContainer(a.object) !== node)
        throw refuse(a, `node "${node}" can not move a container to another node`);
    }
  },
};
