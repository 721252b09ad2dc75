// Which Container events enqueue a reconcile: adds, deletes, and updates that change the spec, deletion,
// finalizers or identity — not the agent's own status writes, which would defeat the queue's back-off.
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Request } from '@berth/controller-runtime';
import { actionableChange, containerChanges } from '../../src/containers/container-changes.js';

const obj = (meta: Record<string, unknown>, status?: Record<string, unknown>): KubernetesObject =>
  ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'c', namespace: 'ns', uid: 'u1', generation: 1, resourceVersion: '5', ...meta },
    ...(status !== undefined ? { status } : {}),
  }) as KubernetesObject;

t.test('status-only and resourceVersion-only updates are not actionable', async (t) => {
  t.notOk(actionableChange(obj({}), obj({ resourceVersion: '6' }, { phase: 'Running' })));
});

t.test('a spec change, a deletion, a finalizer change or a new uid is', async (t) => {
  t.ok(actionableChange(obj({}), obj({ generation: 2 })), 'generation');
  t.ok(actionableChange(obj({}), obj({ deletionTimestamp: '2026-01-01T00:00:00Z' })), 'deletionTimestamp');
  t.ok(actionableChange(obj({}), obj({ finalizers: ['berth.dev/node-agent'] })), 'finalizers');
  t.ok(actionableChange(obj({}), obj({ uid: 'u2' })), 'uid');
});

t.test('the handler enqueues adds, deletes and actionable updates by namespace/name', async (t) => {
  const seen: Request[] = [];
  const h = containerChanges((r) => seen.push(r));
  h.add?.(obj({}));
  h.update?.(obj({}), obj({ resourceVersion: '6' }, { phase: 'Running' }));
  h.update?.(obj({}), obj({ generation: 2 }));
  h.delete?.(obj({}));
  t.same(seen, [
    { namespace: 'ns', name: 'c' },
    { namespace: 'ns', name: 'c' },
    { namespace: 'ns', name: 'c' },
  ]);
});
