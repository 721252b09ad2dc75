// The watch behaviours every store must give clients, as test bodies that take the server to run against:
// watch.test.ts runs them on the level store, on-etcd.test.ts on etcd.

import * as k8s from '@kubernetes/client-node';
import type { Test } from 'tap';
import { eventually, request, type TestServer, type TestServerOptions } from '@berth/testkit';

export type StartServer = (options: TestServerOptions) => Promise<TestServer>;

// These tests count watch events on unbound Containers: no scheduler, whose Scheduled condition writes would add some.
export const noScheduler = { controllers: ['*', '-scheduler'] } as const;

export const container = (name: string, image = 'busybox') => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name, namespace: 'default', labels: { app: 'w' } },
  spec: { image },
});

/** Synthetic ADDED at 0, resume from a revision, 410 for compacted history, timeoutSeconds. */
export async function watchProtocol(t: Test, start: StartServer): Promise<void> {
  const ts = await start({ ...noScheduler, watchCacheCapacity: 8 });
  t.teardown(() => ts.close());
  const create = (name: string) =>
    request(ts, 'POST', '/apis/berth.dev/v1alpha1/namespaces/default/containers', {
      body: JSON.stringify(container(name)),
      contentType: 'application/json',
    });
  const a = (await create('a')).json<{ metadata: { resourceVersion: string } }>();
  await create('b');
  const fromZero = await request(
    ts,
    'GET',
    '/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=0&timeoutSeconds=1',
  );
  const zeroEvents = fromZero.text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
  t.same(
    zeroEvents.map((e) => [e.type, e.object.metadata.name]),
    [
      ['ADDED', 'a'],
      ['ADDED', 'b'],
    ],
  );
  const resumed = await request(
    ts,
    'GET',
    `/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=${a.metadata.resourceVersion}&timeoutSeconds=1`,
  );
  const resumedEvents = resumed.text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
  t.same(
    resumedEvents.map((e) => [e.type, e.object.metadata.name]),
    [['ADDED', 'b']],
    'only events after the revision',
  );
  const byName = await request(
    ts,
    'GET',
    '/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&fieldSelector=metadata.name%3Db&resourceVersion=0&timeoutSeconds=1',
  );
  t.equal(byName.text.trim().split('\n').length, 1, 'field selector on metadata.name');
  for (let i = 0; i < 10; i++) await create(`filler-${i}`);
  const last = (await create('last')).json<{ metadata: { resourceVersion: string } }>();
  await ts.compact(Number(last.metadata.resourceVersion) - 1);
  const expired = await request(
    ts,
    'GET',
    '/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=1&timeoutSeconds=1',
  );
  const ev = JSON.parse(expired.text.trim().split('\n')[0]!) as {
    type: string;
    object: { code: number; reason: string };
  };
  t.equal(ev.type, 'ERROR');
  t.equal(ev.object.code, 410);
  t.equal(ev.object.reason, 'Expired');
}

/** A client-node informer sees every change once, across an API server restart. */
export async function informerAcrossRestart(t: Test, startServer: StartServer): Promise<void> {
  const ts = await startServer(noScheduler);
  t.teardown(() => ts.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(ts.kubeconfig);
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
  const seen: string[] = [];
  const record = (type: string) => (obj: k8s.KubernetesObject) =>
    seen.push(`${type} ${obj.metadata?.name} ${obj.metadata?.resourceVersion}`);
  const start = () => {
    const informer = k8s.makeInformer(
      kc,
      path,
      () =>
        api.listNamespacedCustomObject({
          group: 'berth.dev',
          version: 'v1alpha1',
          namespace: 'default',
          plural: 'containers',
        }) as never,
    );
    informer.on('add', record('add'));
    informer.on('update', record('update'));
    informer.on('delete', record('delete'));
    return informer;
  };
  const informer = start();
  let stopped = false;
  // An informer stops for good on an error other than 410 (a server restart); restart it as callers must.
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
  });
  await informer.start();
  const create = (name: string) =>
    api.createNamespacedCustomObject({
      group: 'berth.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'containers',
      body: container(name),
    });
  await create('one');
  await create('two');
  t.ok(await eventually(() => seen.filter((s) => s.startsWith('add')).length === 2), 'two adds');
  await ts.stop();
  await ts.restart();
  await create('three');
  await api.deleteNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'containers',
    name: 'one',
  });
  t.ok(
    await eventually(
      () => seen.some((s) => s.startsWith('add three')) && seen.some((s) => s.startsWith('delete one')),
      15_000,
    ),
    seen.join('\n'),
  );
  const adds = seen.filter((s) => s.startsWith('add')).map((s) => s.split(' ')[1]);
  t.same([...adds].sort(), ['one', 'three', 'two'], 'each object added exactly once');
  t.equal(seen.filter((s) => s.startsWith('delete')).length, 1, 'one delete');
  stopped = true;
  await informer.stop();
}
