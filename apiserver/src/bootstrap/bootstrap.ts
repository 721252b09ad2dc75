// What a fresh store gets before the server answers: the standard namespaces (each with its `default`
// ServiceAccount), berth's own CRDs and the RBAC policy (rbac-policy.ts), created when missing and updated when the
// shipped definition changed.

import { loadBerthCrds } from '@berth/api';
import { ApiError } from '../errors/api-error.js';
import { noChange, type ObjectStore, type WriteOptions } from '../objects/object-store.js';
import { jsonEqual, type KubeObject } from '../objects/object.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { rbacPolicy } from './rbac-policy.js';

const standardNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'berth-system'];

const options = (): WriteOptions => ({ dryRun: false, fieldValidation: 'Strict', warnings: [] });

export async function bootstrap(objects: ObjectStore, registry: ResourceRegistry): Promise<void> {
  const namespaces = registry.get('', 'v1', 'namespaces')!;
  const crds = registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  const serviceAccounts = registry.get('', 'v1', 'serviceaccounts')!;
  const ensureDefaultServiceAccount = (namespace: string) =>
    objects
      .create(
        { resource: serviceAccounts, namespace },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } },
        options(),
      )
      .catch(ignoreExists);
  // Concurrent, so the writes share a few syncs (group commit) instead of one each.
  const ensureNamespace = (name: string) =>
    objects
      .create(
        { resource: namespaces, namespace: undefined },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        options(),
      )
      .catch(ignoreExists);
  const ensureCrd = async (crd: KubeObject) => {
    const scope = { resource: crds, namespace: undefined };
    const spec = crd['spec'];
    try {
      await objects.create(scope, crd, options());
    } catch (e) {
      ignoreExists(e);
      await objects.update(
        scope,
        crd.metadata.name ?? '',
        'main',
        (current) => (jsonEqual(current['spec'], spec) ? current : { ...current, spec }),
        options(),
      );
    }
  };
  const berthCrds = await loadBerthCrds();
  await Promise.all([
    ...standardNamespaces.map((ns) => ensureNamespace(ns).then(() => ensureDefaultServiceAccount(ns))),
    ...berthCrds.map((crd) => ensureCrd(crd as unknown as KubeObject)),
    ...rbacPolicy(berthCrds).map((obj) => ensureRbac(objects, registry, obj)),
  ]);
}

/** The fields of an RBAC object the shipped policy owns. */
const policyFields = ['rules', 'aggregationRule', 'subjects'] as const;

/** Creates a policy object, or rewrites its policy fields when it is marked for auto-update (as Kubernetes does). */
async function ensureRbac(objects: ObjectStore, registry: ResourceRegistry, obj: KubeObject): Promise<void> {
  const plural = obj.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings';
  const scope = { resource: registry.get('rbac.authorization.k8s.io', 'v1', plural)!, namespace: undefined };
  try {
    await objects.create(scope, obj, options());
  } catch (e) {
    ignoreExists(e);
    await objects.update(
      scope,
      obj.metadata.name ?? '',
      'main',
      (current) => {
        if (current.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'true') return noChange;
        // An aggregated role's rules are the aggregation's to write (authorization/rbac/aggregation.ts).
        const fields = policyFields.filter((f) => !(f === 'rules' && obj['aggregationRule'] !== undefined));
        if (fields.every((f) => jsonEqual(current[f], obj[f]))) return noChange;
        const next: KubeObject = { ...current };
        for (const f of fields) {
          if (obj[f] === undefined) delete next[f];
          else next[f] = obj[f];
        }
        return next;
      },
      options(),
    );
  }
}

function ignoreExists(e: unknown): void {
  if (!(ApiError.isInstance(e) && e.reason === 'AlreadyExists')) throw e;
}
