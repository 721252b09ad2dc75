// The RBAC policy a fresh server gets (Kubernetes' bootstrap policy): the user-facing roles `cluster-admin`,
// `admin`, `edit` and `view` (the last three aggregated from `system:aggregate-to-*` roles that name berth's own
// kinds, so a CRD author can extend them with a label), the `system:` roles everyone and berth's components need,
// and their bindings. Objects marked `rbac.authorization.kubernetes.io/autoupdate: "true"` are rewritten to the
// shipped policy on each start, as Kubernetes reconciles them.

import type { CustomResourceDefinition } from '@berth/api';
import { proxiedSubresources } from '../handlers/node-proxy.js';
import type { KubeObject } from '../objects/object.js';
import type { PolicyRule } from '../authorization/rbac/policy-rule.js';

const apiVersion = 'rbac.authorization.k8s.io/v1';
const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const aggregateLabel = (to: string) => `rbac.authorization.k8s.io/aggregate-to-${to}`;

const meta = (name: string, labels: Record<string, string> = {}) => ({
  name,
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults', ...labels },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
});

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const clusterRole = (
  name: string,
  rules: PolicyRule[],
  extra: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): KubeObject => ({
  apiVersion,
  kind: 'ClusterRole',
  metadata: meta(name, extra.labels),
  ...(extra.aggregateFrom === undefined
    ? {}
    : {
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel(extra.aggregateFrom)]: 'true' } }] },
      }),
  rules,
});

type Subject = { kind: 'User' | 'Group'; name: string };
const clusterRoleBinding = (name: string, role: string, subjects: Subject[]): KubeObject => ({
  apiVersion,
  kind: 'ClusterRoleBinding',
  metadata: meta(name),
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: subjects.map((s) => ({ ...s, apiGroup: 'rbac.authorization.k8s.io' })),
});

/** The user and group names berth's own components authenticate as. */
export const componentIdentities = {
  controllerManager: 'system:kube-controller-manager',
  nodesGroup: 'system:nodes',
  /** A node agent's user name is `system:node:<node name>`. */
  nodePrefix: 'system:node:',
} as const;

/** The shipped ClusterRoles and ClusterRoleBindings, naming `crds`' kinds in the aggregated roles. */
export function rbacPolicy(crds: readonly CustomResourceDefinition[]): KubeObject[] {
  const berth = [...new Set(crds.map((c) => c.spec.group))];
  const plurals = crds.map((c) => c.spec.names.plural);
  const subresources = crds.flatMap((c) => {
    const sub = c.spec.versions.find((v) => v.storage)?.subresources ?? {};
    return [
      ...(sub.status === undefined ? [] : [`${c.spec.names.plural}/status`]),
      ...(sub.scale === undefined ? [] : [`${c.spec.names.plural}/scale`]),
    ];
  });
  const proxied = (names: string[]) =>
    [...proxiedSubresources].flatMap(([gr, subs]) =>
      subs.filter((s) => names.includes(s)).map((s) => `${gr.split('/')[1]}/${s}`),
    );
  const scales = subresources.filter((s) => s.endsWith('/scale'));
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: { [aggregateLabel('admin')]: 'true' } }),
    clusterRole('view', [], { aggregateFrom: 'view', labels: { [aggregateLabel('edit')]: 'true' } }),
    clusterRole(
      'system:aggregate-to-admin',
      [
        rule([...read, ...write], ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
        rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
      ],
      { labels: { [aggregateLabel('admin')]: 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        rule(write, berth, [...plurals, ...scales]),
        rule([...read, ...write], berth, proxied(['exec', 'attach', 'portforward', 'import'])),
        rule([...read, ...write], [''], ['configmaps', 'secrets', 'serviceaccounts']),
        rule(['create'], [''], ['serviceaccounts/token']),
        rule(['impersonate'], [''], ['serviceaccounts']),
      ],
      { labels: { [aggregateLabel('edit')]: 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        rule(read, berth, [...plurals, ...subresources, ...proxied(['log', 'export', 'top'])]),
        rule(read, [''], ['configmaps', 'events', 'serviceaccounts', 'namespaces', 'namespaces/status']),
        rule(read, [''], ['resourcequotas', 'resourcequotas/status']),
        rule(read, ['coordination.k8s.io'], ['leases']),
      ],
      { labels: { [aggregateLabel('view')]: 'true' } },
    ),
    clusterRole('system:discovery', [
      urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/']),
    ]),
    clusterRole('system:public-info-viewer', [
      urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/', '/cacerts']),
    ]),
    // Who may scrape /metrics (Kubernetes' role; the group system:monitoring is bound to it), and read the
    // resource metrics API (`kubectl top`), aggregated into view, edit and admin as metrics-server's role is.
    clusterRole('system:monitoring', [
      urls(
        ['get'],
        ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'],
      ),
    ]),
    clusterRole(
      'system:aggregated-metrics-reader',
      [rule(read, ['metrics.k8s.io'], ['pods', 'nodes']), rule(read, ['metrics.berth.dev'], ['containers'])],
      {
        labels: {
          [aggregateLabel('view')]: 'true',
          [aggregateLabel('edit')]: 'true',
          [aggregateLabel('admin')]: 'true',
        },
      },
    ),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    // What a node agent does: register its Node, heartbeat its Lease, run the Containers bound to it and report
    // their status, read what they mount and pull with, record Events.
    clusterRole('system:node', [
      rule([...read, 'create', 'update', 'patch'], [''], ['nodes']),
      rule(['update', 'patch'], [''], ['nodes/status']),
      // list: the API servers' Leases say where they serve (a joined agent's list of servers).
      rule(['get', 'list', 'create', 'update', 'patch'], ['coordination.k8s.io'], ['leases']),
      rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
      // Which Secrets and ConfigMaps: only those its Containers name (authorization/node/node-authorizer.ts).
      rule(['get'], [''], ['secrets', 'configmaps']),
      rule(read, [''], ['serviceaccounts']),
      // Writes only what it runs and reports: Containers and Volumes (finalizers), their status and Images' (the
      // pulls, builds and commits it makes). Not an Image's spec, which binds a build to a node and names Secrets.
      rule(read, berth, plurals),
      rule(['update', 'patch'], berth, ['containers', 'volumes']),
      rule(['get'], berth, subresources),
      rule(['update', 'patch'], berth, ['containers/status', 'volumes/status', 'images/status']),
      // Its /metrics asks the API server who a caller is and what it may do (kubelet's delegated auth).
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      // Renewing its own client certificate (pki/node-certificates.ts signs only the node's own name).
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
    // What a bootstrap token may do (kubeadm's binding of system:node-bootstrapper): ask for its node's certificate.
    clusterRole('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
    // The controller manager: the namespace controller deletes every namespaced kind and the garbage collector
    // deletes and un-finalizes any object (Kubernetes' generic-garbage-collector role), so it may read, patch and
    // delete anything, though escalation prevention still keeps it from widening RBAC; it runs berth's
    // controllers (Service revisions live in ConfigMaps), elects its leader on a Lease and records Events.
    clusterRole('system:kube-controller-manager', [
      rule(['get', 'list', 'watch', 'patch', 'update', 'delete', 'deletecollection'], ['*'], ['*']),
      rule(['*'], berth, ['*']),
      rule(['update', 'patch'], [''], ['namespaces', 'namespaces/status', 'namespaces/finalize']),
      rule(['*'], ['coordination.k8s.io'], ['leases']),
      rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
      rule(['create', 'update', 'patch'], [''], ['serviceaccounts', 'configmaps', 'secrets']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      // The tokens of legacy token Secrets (it holds no signing key, as kube-controller-manager does).
      rule(['create'], [''], ['serviceaccounts/token']),
      urls(['get'], ['*']),
    ]),
    clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
    clusterRoleBinding('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [
      { kind: 'Group', name: 'system:authenticated' },
      { kind: 'Group', name: 'system:unauthenticated' },
    ]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', [{ kind: 'Group', name: 'system:monitoring' }]),
    clusterRoleBinding('system:node', 'system:node', [{ kind: 'Group', name: componentIdentities.nodesGroup }]),
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [
      { kind: 'Group', name: 'system:bootstrappers' },
    ]),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [
      { kind: 'User', name: componentIdentities.controllerManager },
    ]),
  ];
}
