// The builder and manager against a real API server: for(kind) enqueues the object, owns(kind) maps a child's
// events to its controlling owner, watches(kind, map) maps anything, controllers share one informer per kind,
// and workers start only after the caches have synced.
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Manager, newControllerManagedBy, type Request } from '../src/index.js';
import { configMap, configMaps, eventually, secrets, startApi } from './harness.js';

const keys = (reqs: readonly Request[]) => reqs.map((r) => `${r.namespace ?? ''}/${r.name}`);

t.test('owns() maps a child to its controlling owner; for() and watches() enqueue what they say', async (t) => {
  const api = await startApi(t);
  const mgr = new Manager({ kubeconfig: api.kc, userAgent: 'builder-test' });
  t.teardown(() => mgr.close());
  const seen: Request[] = [];
  let syncedAtFirstCall: boolean | undefined;
  const cmInformer = await mgr.cache.informerFor({ apiVersion: 'v1', kind: 'ConfigMap' });
  const controller = await newControllerManagedBy(mgr)
    .for({ apiVersion: 'v1', kind: 'ConfigMap' })
    .owns({ apiVersion: 'v1', kind: 'Secret' })
    .complete(async (_ctx, req) => {
      syncedAtFirstCall ??= cmInformer.hasSynced;
      seen.push(req);
    });
  t.equal(controller.name, 'configmap', 'named for its kind');
  // A second controller on the same kinds shares the informers: still one watch per kind.
  const other: Request[] = [];
  await newControllerManagedBy(mgr)
    .for({ apiVersion: 'v1', kind: 'ConfigMap' })
    .watches({ apiVersion: 'v1', kind: 'Secret' }, (s: KubernetesObject) =>
      s.metadata?.labels?.['for'] !== undefined ? [{ namespace: 'default', name: s.metadata.labels['for'] }] : [],
    )
    .named('labels')
    .complete({ reconcile: async (_ctx, req) => void other.push(req) });
  t.equal(mgr.cache.size, 2, 'ConfigMap and Secret informers, shared by both controllers');
  await t.rejects(
    newControllerManagedBy(mgr)
      .for({ apiVersion: 'v1', kind: 'ConfigMap' })
      .complete(async () => undefined),
    { code: 'BERTH_CONTROLLER_STARTED' },
    'names are unique',
  );

  const owner = await api.client.create(configMaps, configMap('owner'));
  await mgr.start();
  t.ok(await eventually(() => keys(seen).includes('default/owner')), 'for(): the object itself');
  t.equal(syncedAtFirstCall, true, 'workers started after the caches synced');

  seen.length = 0;
  const ownerRef = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: 'owner',
    uid: owner.metadata?.uid ?? '',
    controller: true,
  };
  await api.client.create(secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'child', namespace: 'default', ownerReferences: [ownerRef] },
  } as KubernetesObject);
  await api.client.create(secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'not-controlled',
      namespace: 'default',
      ownerReferences: [{ ...ownerRef, name: 'bystander', controller: false }],
    },
  } as KubernetesObject);
  await api.client.create(secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'other-kind',
      namespace: 'default',
      ownerReferences: [{ ...ownerRef, apiVersion: 'apps/v1', kind: 'Deployment', name: 'deploy' }],
    },
  } as KubernetesObject);
  await api.client.create(secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'labelled', namespace: 'default', labels: { for: 'target' } },
  } as KubernetesObject);
  t.ok(await eventually(() => keys(other).includes('default/target')), 'watches(): the map function decides');
  // Once the labelled Secret's event has reached the second controller, the first has seen every Secret event too.
  t.ok(await eventually(() => keys(seen).includes('default/owner')));
  t.same(
    new Set(keys(seen)),
    new Set(['default/owner']),
    'owns(): only the controlling owner of the for() kind, never the child itself',
  );

  seen.length = 0;
  await api.client.patch(secrets, 'default', 'child', { metadata: { labels: { touched: 'yes' } } });
  t.ok(await eventually(() => keys(seen).includes('default/owner')), "a child's update reconciles its owner");
  seen.length = 0;
  await api.client.delete(secrets, 'default', 'child');
  t.ok(await eventually(() => keys(seen).includes('default/owner')), "and so does the child's deletion");
});

t.test('a builder without for() needs named() and a watch; for() twice is refused', async (t) => {
  const api = await startApi(t);
  const mgr = new Manager({ kubeconfig: api.kc });
  t.teardown(() => mgr.close());
  await t.rejects(
    newControllerManagedBy(mgr).complete(async () => undefined),
    { name: 'InvalidOptionError' },
  );
  t.throws(
    () =>
      newControllerManagedBy(mgr)
        .for({ apiVersion: 'v1', kind: 'ConfigMap' })
        .for({ apiVersion: 'v1', kind: 'Secret' }),
    { name: 'InvalidOptionError' },
  );
  const c = await newControllerManagedBy(mgr)
    .named('secret-watcher')
    .watches({ apiVersion: 'v1', kind: 'Secret' }, () => [{ name: 'x' }])
    .complete(async () => undefined);
  t.equal(c.name, 'secret-watcher');
});
