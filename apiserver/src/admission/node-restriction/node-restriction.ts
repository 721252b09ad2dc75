// NodeRestriction (Kubernetes' admission plugin of that name): a node's identity may write only its own Node (not
// its `node-restriction.kubernetes.io/` labels, which admins set so selectors can trust them), its own Lease in
// kube-node-lease, and Containers (their status included) bound to it; it may not delete Containers or move one to
// another node (RBAC's system:node grants no deletes), nor bind an Image build to a node (the node authorizer opens
// the build's context and Secrets to the node it is bound to). Everyone else passes untouched.

import { ApiError } from '../../errors/api-error.js';
import { nodeNameOf } from '../../authorization/node/node-authorizer.js';
import type { KubeObject } from '../../objects/object.js';
import type { AdmissionAttributes, ValidatingAdmission } from '../admission.js';

const nodeOfContainer = (obj: KubeObject | undefined): unknown =>
  (obj?.['spec'] as { nodeName?: unknown } | undefined)?.nodeName;

const restrictedLabelPrefix = 'node-restriction.kubernetes.io/';

/** The `node-restriction.kubernetes.io/` labels that differ between two Nodes. */
function restrictedLabelChanges(object: KubeObject | undefined, old: KubeObject | undefined): string[] {
  const now = object?.metadata.labels ?? {};
  const before = old?.metadata.labels ?? {};
  return [...new Set([...Object.keys(now), ...Object.keys(before)])].filter(
    (k) => k.startsWith(restrictedLabelPrefix) && now[k] !== before[k],
  );
}

const field = (obj: KubeObject | undefined, part: string, key: string): unknown =>
  (obj?.[part] as Record<string, unknown> | undefined)?.[key];

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
      const labels = a.operation === 'DELETE' ? [] : restrictedLabelChanges(a.object, a.oldObject);
      if (labels.length > 0) throw refuse(a, `is not allowed to modify labels: ${labels.sort().join(', ')}`);
      return;
    }
    if (group === 'coordination.k8s.io' && plural === 'leases') {
      if (a.namespace !== 'kube-node-lease' || a.name !== node)
        throw refuse(a, `node "${node}" can only access node lease with the same name as the requesting node`);
      return;
    }
    if (group === 'berth.dev' && plural === 'images') {
      if (a.operation !== 'UPDATE' || a.subresource !== 'status')
        throw refuse(a, `node "${node}" can only update the status of images`);
      const build = field(a.object, 'spec', 'build') as { nodeName?: unknown } | undefined;
      const before = field(a.oldObject, 'status', 'nodeName');
      const after = field(a.object, 'status', 'nodeName');
      // A build's status.nodeName is the image build controller's binding; a commit's names where it was made.
      const allowed =
        after === before ||
        (build === undefined ? after === node || after === undefined : after === node && build.nodeName === node);
      if (!allowed) throw refuse(a, `node "${node}" can not bind an image to node "${String(after)}"`);
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
