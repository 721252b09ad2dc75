// The informer's restart behaviours, as test bodies that take the API server to run against: informer.test.ts
// runs them on the level store, informer-etcd.test.ts on etcd.
import type { Test } from 'tap';
import { ApiClient, SharedInformer } from '../src/index.js';
import { configMap, configMaps, eventually, type StartApi } from './harness.js';

/** A watch whose resourceVersion fell out of the server history relists (410 Gone) and carries on. */
export async function relistAfterExpiry(t: Test, startApi: StartApi): Promise<void> {
  const api = await startApi(t, { watchCacheCapacity: 5 });
  await api.client.create(configMaps, {
    ...configMap('watched'),
    metadata: { name: 'watched', namespace: 'default', labels: { app: 'x' } },
  });
  const client = new ApiClient({ kubeconfig: api.kc });
  t.teardown(() => client.close());
  const errors: unknown[] = [];
  // Only app=x is watched: writes to other objects move the server on without moving this informer's resourceVersion.
  const informer = new SharedInformer(client, configMaps, {
    labelSelector: 'app=x',
    reconnectBackoff: { initialMs: 20, maxMs: 200 },
    onError: (e) => errors.push(e),
  });
  const adds: string[] = [];
  informer.addEventHandler({ add: (o) => adds.push(o.metadata?.name ?? '') });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(10_000));
  const startRv = Number(informer.resourceVersion);

  let last = '';
  for (let i = 0; i < 20; i++)
    last = (await api.client.create(configMaps, configMap(`noise-${i}`))).metadata?.resourceVersion ?? '';
  t.equal(Number(informer.resourceVersion), startRv, 'no event reached the informer');
  // History up to the last write is dropped, and a restart breaks the watch: resuming from the informer's
  // resourceVersion can only get 410 now.
  await api.compact(Number(last));
  await api.stop();
  await api.restart();
  t.ok(
    await eventually(() => Number(informer.resourceVersion) >= Number(last)),
    `relisted to ${informer.resourceVersion} (last write ${last})`,
  );
  t.same(adds, ['watched'], 'the relist found the cached object unchanged: no second add');
  await api.client.create(configMaps, {
    ...configMap('after'),
    metadata: { name: 'after', namespace: 'default', labels: { app: 'x' } },
  });
  t.ok(await eventually(() => adds.includes('after')), 'and the new watch delivers changes');
  t.same(
    informer
      .list()
      .map((o) => o.metadata?.name)
      .sort(),
    ['after', 'watched'],
  );
}

/** The informer resumes by itself after the API server is closed and started again. */
export async function resumeAfterRestart(t: Test, startApi: StartApi): Promise<void> {
  const api = await startApi(t);
  const client = new ApiClient({ kubeconfig: api.kc });
  t.teardown(() => client.close());
  const errors: unknown[] = [];
  const informer = new SharedInformer(client, configMaps, {
    reconnectBackoff: { initialMs: 20, maxMs: 200 },
    onError: (e) => errors.push(e),
  });
  const events: string[] = [];
  informer.addEventHandler({
    add: (o) => events.push(`add ${o.metadata?.name}`),
    delete: (o) => events.push(`delete ${o.metadata?.name}`),
  });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(10_000));
  await api.client.create(configMaps, configMap('before'));
  t.ok(await eventually(() => events.includes('add before')));

  await api.stop();
  t.ok(await eventually(() => errors.length > 0), 'the informer noticed the server was gone');
  await api.restart();
  await api.client.create(configMaps, configMap('after-restart'));
  await api.client.delete(configMaps, 'default', 'before');
  t.ok(
    await eventually(() => events.includes('delete before') && events.includes('add after-restart'), 15_000),
    `after restart: ${JSON.stringify(events)}`,
  );
  t.same(
    informer
      .list()
      .map((o) => o.metadata?.name)
      .sort(),
    ['after-restart'],
  );
}
