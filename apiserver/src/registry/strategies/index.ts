// The built-in kinds that need behaviour beyond their schema, one module each; every other kind uses the default
// strategy. A new kind with behaviour adds its module here.

import type { Strategy } from '../strategy.js';
import { configMapStrategy } from './configmap.js';
import { containerStrategy } from './container.js';
import { crdStrategy } from './crd.js';
import { eventStrategy } from './event.js';
import { namespaceStrategy } from './namespace.js';
import { nodeStrategy } from './node.js';
import { clusterRoleBindingStrategy, rbacGroup, roleBindingStrategy, roleStrategy } from './rbac.js';
import { reviewStrategy } from './review.js';
import { secretStrategy } from './secret.js';
import { serviceStrategy } from './service.js';

export { crdCleanupFinalizer } from './crd.js';
export { namespaceFinalizer } from './namespace.js';

const strategies = new Map<string, Strategy>([
  ['/Namespace', namespaceStrategy],
  ['/Secret', secretStrategy],
  ['/ConfigMap', configMapStrategy],
  ['/Event', eventStrategy],
  ['/Node', nodeStrategy],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdStrategy],
  ['berth.dev/Container', containerStrategy],
  ['berth.dev/Service', serviceStrategy],
  ...[
    'authorization.k8s.io/SelfSubjectAccessReview',
    'authorization.k8s.io/SubjectAccessReview',
    'authorization.k8s.io/LocalSubjectAccessReview',
    'authorization.k8s.io/SelfSubjectRulesReview',
    'authentication.k8s.io/SelfSubjectReview',
    'authentication.k8s.io/TokenReview',
    'certificates.k8s.io/CertificateSigningRequest',
  ].map((k): [string, Strategy] => [k, reviewStrategy]),
  [`${rbacGroup}/Role`, roleStrategy],
  [`${rbacGroup}/ClusterRole`, roleStrategy],
  [`${rbacGroup}/RoleBinding`, roleBindingStrategy],
  [`${rbacGroup}/ClusterRoleBinding`, clusterRoleBindingStrategy],
]);

export const strategyFor = (kind: string, group: string): Strategy | undefined => strategies.get(`${group}/${kind}`);
