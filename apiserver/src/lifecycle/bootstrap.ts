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
  for (const name of standardNamespaces) {
    await objects.create({ resource: namespaces, namespace: undefined }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, options()).catch(ignoreExists);
  }
  for (const crd of await loadBerthCrds()) {
    const desired = crd as unknown as KubeObject;
    const scope = { resource: crds, namespace: undefined };
    const name = desired.metadata.name ?? '';
    try {
      await objects.create(scope, desired, options());
    } catch (e) {
      ignoreExists(e);
      await objects.update(scope, name, 'main', (current) => (jsonEqual(current['spec'], desired['spec']) ? current : { ...current, spec: desired['spec'] }), options());
    }
  }
}

function ignoreExists(e: unknown): void {
  if (!(ApiError.isInstance(e) && e.reason === 'AlreadyExists')) throw e;
}
