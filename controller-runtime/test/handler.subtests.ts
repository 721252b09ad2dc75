// Event → request mapping: an object maps to its own key, a child to its controlling owner of the right kind
// (any version of the owner's group, namespaced or not), and an update maps both copies so an owner change
// reconciles the old owner and the new.
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  enqueueForObject,
  enqueueForOwner,
  mappingHandler,
  requestKey,
  requestOf,
  type Request,
} from '../src/index.js';

const child = (
  ns: string | undefined,
  refs: NonNullable<KubernetesObject['metadata']>['ownerReferences'],
): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'child', ...(ns !== undefined ? { namespace: ns } : {}), ownerReferences: refs ?? [] },
});

t.test('enqueueForObject keys the object itself, with or without a namespace', async (t) => {
  const map = enqueueForObject();
  t.same(map({ metadata: { name: 'a', namespace: 'ns' } }), [{ namespace: 'ns', name: 'a' }]);
  t.same(map({ metadata: { name: 'node-1' } }), [{ name: 'node-1' }]);
  t.same(map({ metadata: {} }), []);
});

t.test('enqueueForOwner follows only controller references of the owner kind', async (t) => {
  const map = enqueueForOwner({ group: 'berth.dev', kind: 'Container', namespaced: true });
  const ref = { apiVersion: 'berth.dev/v1alpha1', kind: 'Container', name: 'web', uid: 'u1', controller: true };
  t.same(map(child('ns', [ref])), [{ namespace: 'ns', name: 'web' }]);
  t.same(
    map(child('ns', [{ ...ref, apiVersion: 'berth.dev/v1' }])),
    [{ namespace: 'ns', name: 'web' }],
    'another version of the group is the same owner',
  );
  t.same(map(child('ns', [{ ...ref, controller: false }])), [], 'not the controller');
  t.same(map(child('ns', [{ ...ref, kind: 'Volume' }])), [], 'another kind');
  t.same(map(child('ns', [{ ...ref, apiVersion: 'other.dev/v1alpha1' }])), [], 'another group');
  const clusterOwner = enqueueForOwner({ group: '', kind: 'Node', namespaced: false });
  t.same(
    clusterOwner(child('ns', [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u', controller: true }])),
    [{ name: 'n1' }],
    'a cluster-scoped owner has no namespace',
  );
});

t.test('an update maps the old and the new copy; keys round-trip', async (t) => {
  const got: Request[] = [];
  const h = mappingHandler(enqueueForOwner({ group: '', kind: 'ConfigMap', namespaced: true }), (r) => got.push(r));
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', uid: 'u', controller: true };
  h.update?.(child('ns', [{ ...ref, name: 'old-owner' }]), child('ns', [{ ...ref, name: 'new-owner' }]));
  t.same(got.map(requestKey), ['ns/old-owner', 'ns/new-owner']);
  t.same(requestOf('ns/name'), { namespace: 'ns', name: 'name' });
  t.same(requestOf('cluster-thing'), { name: 'cluster-thing' });
});
