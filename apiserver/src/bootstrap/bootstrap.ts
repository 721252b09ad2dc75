// What a fresh store gets before the server answers: the standard namespaces and berth's own CRDs, created when
// missing and updated when the shipped definition changed.

import { loadBerthCrds } from '@berth/api';
import { ApiError } from '../errors/api-error.js';
import type { ObjectStore, WriteOptions } from '../objects/object-store.js';
import { jsonEqual, type KubeObject } from '../objects/object.js';
import type { ResourceRegistry } from '../registry/registry.js';

const standardNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'berth-system'];

const options = (): WriteOptions => ({ dryRun: false, fieldValidation: 'Strict', warnings: [] });

export async function bootstrap(objects: ObjectStore, registry: ResourceRegistry): Promise<void> {
  const namespaces = registry.get('', 'v1', 'namespaces')!;
  const crds = registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
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
  await Promise.all([
    ...standardNamespaces.map(ensureNamespace),
    ...(await loadBerthCrds()).map((crd) => ensureCrd(crd as unknown as KubeObject)),
  ]);
}

function ignoreExists(e: unknown): void {
  if (!(ApiError.isInstance(e) && e.reason === 'AlreadyExists')) throw e;
}
