// The shared informer against a real API server: list + watch into an indexed cache, handlers for adds, updates
// and deletes, one informer per kind in the cache, a relist when the watch's resourceVersion is gone (410), and
// a watch that resumes by itself after the API server is stopped and started again.
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, InformerCache, InvalidOptionError, SharedInformer, type Resource } from '../src/index.js';
import { configMap, configMaps, eventually, startApi } from './harness.js';
import { relistAfterExpiry, resumeAfterRestart } from './informer-restart-cases.js';

const namespaces: Resource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };

t.test('list + watch fill an indexed cache and tell handlers about adds, updates and deletes', async (t) => {
  const api = await startApi(t);
  await api.client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  await api.client.create(configMaps, {
    ...configMap('a', { v: '1' }),
    metadata: { name: 'a', namespace: 'default', labels: { app: 'web' } },
  });
  await api.client.create(configMaps, configMap('b'));
  await api.client.create(configMaps, {
    ...configMap('c', {}, 'other'),
    metadata: { name: 'c', namespace: 'other', labels: { app: 'web' } },
  });

  const client = new ApiClient({ kubeconfig: api.kc, userAgent: 'informer-test' });
  t.teardown(() => client.close());
  const informer = new SharedInformer<KubernetesObject & { data?: Record<string, string> }>(client, configMaps, {
    indexers: { app: (o) => (o.metadata?.labels?.['app'] !== undefined ? [o.metadata.labels['app']] : []) },
  });
  const seen: string[] = [];
  informer.addEventHandler({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (old, o) => seen.push(`update ${o.metadata?.name} ${old.data?.['v']}->${o.data?.['v']}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  t.equal(informer.hasSynced, false);
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(10_000));
  t.equal(informer.hasSynced, true);
  t.same(
    informer
      .list()
      .map((o) => o.metadata?.name)
      .sort(),
    ['a', 'b', 'c'],
  );
  t.same(
    informer
      .list('default')
      .map((o) => o.metadata?.name)
      .sort(),
    ['a', 'b'],
    'by namespace',
  );
  t.same(
    informer
      .byIndex('app', 'web')
      .map((o) => o.metadata?.name)
      .sort(),
    ['a', 'c'],
    'custom index',
  );
  t.equal(informer.get('other', 'c')?.metadata?.namespace, 'other');
  t.same(seen.sort(), ['add a', 'add b', 'add c']);

  // A handler registered after sync is told about what is already cached.
  const late: string[] = [];
  informer.addEventHandler({ add: (o) => late.push(o.metadata?.name ?? '') });
  t.same(late.sort(), ['a', 'b', 'c']);

  seen.length = 0;
  await api.client.patch(configMaps, 'default', 'a', { data: { v: '2' }, metadata: { labels: { app: 'db' } } });
  await api.client.delete(configMaps, 'default', 'b');
  await api.client.create(configMaps, configMap('d'));
  t.ok(await eventually(() => seen.length >= 3), `handlers saw ${JSON.stringify(seen)}`);
  t.same(seen, ['update a 1->2', 'delete b', 'add d']);
  t.same(
    informer
      .list('default')
      .map((o) => o.metadata?.name)
      .sort(),
    ['a', 'd'],
  );
  t.same(
    informer.byIndex('app', 'web').map((o) => o.metadata?.name),
    ['c'],
    'index follows the label change',
  );
  t.same(
    informer.byIndex('app', 'db').map((o) => o.metadata?.name),
    ['a'],
  );
  t.throws(() => informer.byIndex('nope', 'x'), { name: 'InvalidOptionError' });
});

t.test('the informer cache hands every caller the same informer of a kind, so there is one watch', async (t) => {
  const api = await startApi(t);
  const client = new ApiClient({ kubeconfig: api.kc });
  t.teardown(() => client.close());
  const cache = new InformerCache(client);
  t.teardown(() => cache.close());
  const one = await cache.informerFor({ apiVersion: 'v1', kind: 'ConfigMap' });
  const two = await cache.informerFor({ group: '', version: 'v1', plural: 'configmaps', namespaced: true });
  const secretsInformer = await cache.informerFor({ apiVersion: 'v1', kind: 'Secret' });
  t.equal(one, two, 'named by kind or by plural: one informer');
  t.not(one, secretsInformer);
  t.equal(cache.size, 2);
  t.same(one.resource, configMaps, 'discovery resolved the kind');
  cache.start();
  await cache.waitForSync(AbortSignal.timeout(10_000));
  t.equal(cache.hasSynced, true);
  const later = await cache.informerFor({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
  await later.waitForSync(AbortSignal.timeout(10_000));
  t.ok(later.hasSynced, 'an informer made after start starts at once');
  await t.rejects(cache.informerFor({ apiVersion: 'v1', kind: 'NoSuchKind' }), {
    name: 'ApiCallError',
    statusCode: 404,
  });
});

t.test('a watch whose resourceVersion fell out of the server history relists (410 Gone) and carries on', (t) =>
  relistAfterExpiry(t, startApi),
);

t.test('the informer resumes by itself after the API server is closed and started again', (t) =>
  resumeAfterRestart(t, startApi),
);

t.test('waitForSync gives up when its signal aborts; bad back-off options fail at construction', async (t) => {
  const kc = new KubeConfig();
  // Nothing listens on port 9 of loopback: every list fails.
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:9' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new ApiClient({ kubeconfig: kc });
  t.teardown(() => client.close());
  const errors: unknown[] = [];
  const informer = new SharedInformer(client, configMaps, {
    reconnectBackoff: { initialMs: 10, maxMs: 20 },
    onError: (e) => errors.push(e),
  });
  informer.start();
  t.teardown(() => informer.stop());
  await t.rejects(informer.waitForSync(AbortSignal.timeout(300)), { name: 'TimeoutError' });
  t.equal(informer.hasSynced, false);
  t.ok(errors.length >= 2, `kept retrying (${errors.length} failures reported)`);
  const waiting = informer.waitForSync();
  await informer.stop();
  await t.rejects(
    waiting,
    { code: 'BERTH_CONTROLLER_NOT_SYNCED' },
    'a stop releases waiters of a sync that never came',
  );
  for (const b of [{ initialMs: 0 }, { initialMs: 100, maxMs: 50 }]) {
    let thrown: unknown;
    try {
      new SharedInformer(client, configMaps, { reconnectBackoff: b });
    } catch (err) {
      thrown = err;
    }
    t.ok(InvalidOptionError.isInstance(thrown), JSON.stringify(b));
  }
  t.throws(() => new InformerCache(client, { reconnectBackoff: { maxMs: -1 } }), {
    code: 'BERTH_CONTROLLER_INVALID_OPTION',
  });
});
