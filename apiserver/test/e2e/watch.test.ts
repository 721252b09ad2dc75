// Watches as kubectl and client-node use them: `kubectl get -w` prints changes made by another client, and a
// client-node informer sees every change exactly once, across a server restart and a 410 relist.

import t from 'tap';
import { eventually, kubectlBackground, request, startTestServer } from '@berth/testkit';
import { container, informerAcrossRestart, noScheduler, watchProtocol } from './watch-cases.js';

t.test('kubectl get -w prints changes as another client writes', async (t) => {
  const ts = await startTestServer(noScheduler);
  t.teardown(() => ts.close());
  await ts.kubectl(['apply', '-f', '-'], { input: JSON.stringify(container('first')) });
  const watch = kubectlBackground(ts, ['get', 'ctr', '-w']);
  t.teardown(() => watch.stop());
  t.ok(await eventually(() => /first/.test(watch.output())), 'lists what exists');
  await ts.kubectl(['apply', '-f', '-'], { input: JSON.stringify(container('second')) });
  t.ok(await eventually(() => /second/.test(watch.output())), 'prints a created object');
  await ts.kubectl([
    'patch',
    'ctr',
    'first',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Running"}}',
  ]);
  t.ok(
    await eventually(() => /first\s+busybox\s+Running/.test(watch.output())),
    `prints a status change: ${watch.output()}`,
  );
});

t.test('watch protocol: synthetic ADDED at 0, resume from a revision, 410 for compacted history, timeoutSeconds', (t) =>
  watchProtocol(t, startTestServer),
);

t.test('bookmarks when asked, watch-list initial events', async (t) => {
  const ts = await startTestServer({ ...noScheduler, bookmarkIntervalMs: 200 });
  t.teardown(() => ts.close());
  await request(ts, 'POST', '/apis/berth.dev/v1alpha1/namespaces/default/containers', {
    body: JSON.stringify(container('x')),
    contentType: 'application/json',
  });
  const rv = (await request(ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers')).json<{
    metadata: { resourceVersion: string };
  }>().metadata.resourceVersion;
  const lines = (r: { text: string }) =>
    r.text
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: { metadata: { resourceVersion: string; annotations?: Record<string, string> } };
          },
      );
  const withBookmarks = lines(
    await request(
      ts,
      'GET',
      `/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`,
    ),
  );
  t.ok(
    withBookmarks.length >= 2 &&
      withBookmarks.every((e) => e.type === 'BOOKMARK' && e.object.metadata.resourceVersion === rv),
    'bookmarks carry the current revision',
  );
  const without = await request(
    ts,
    'GET',
    `/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
  );
  t.equal(without.text.trim(), '', 'no bookmarks unless asked');
  const list = lines(
    await request(
      ts,
      'GET',
      '/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1',
    ),
  );
  t.equal(list[0]?.type, 'ADDED');
  t.equal(list[1]?.type, 'BOOKMARK');
  t.equal(list[1]?.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');

  // Watches whose selector names one value are served from the watch cache's index (spec.nodeName, a label);
  // they still see an object enter and leave their selection, and their bookmarks move past what they were spared.
  const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
  const from = (await request(ts, 'GET', base)).json<{ metadata: { resourceVersion: string } }>().metadata
    .resourceVersion;
  const watch = (selector: string) =>
    request(
      ts,
      'GET',
      `${base}?watch=true&resourceVersion=${from}&allowWatchBookmarks=true&timeoutSeconds=2&${selector}`,
    );
  const live = [
    watch('fieldSelector=spec.nodeName%3Dnode-a'),
    watch('fieldSelector=spec.nodeName%3D'),
    watch('labelSelector=app%3Dw'),
  ];
  const write = async (method: string, path: string, body: unknown, contentType = 'application/json') => {
    const r = await request(ts, method, path, { body: JSON.stringify(body), contentType });
    t.ok(r.status < 300, `${method} ${path}: ${r.status}`);
    return r.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  };
  const merge = 'application/merge-patch+json';
  await write('POST', base, container('u'));
  await write('POST', base, { ...container('b'), spec: { image: 'busybox', nodeName: 'node-b' } });
  await write('PATCH', `${base}/u`, { spec: { nodeName: 'node-a' } }, merge);
  await write('PATCH', `${base}/u`, { metadata: { labels: { app: 'gone' } } }, merge);
  const last = await write('PATCH', `${base}/b`, { metadata: { labels: { app: 'w', more: 'x' } } }, merge);
  const seen = async (r: Promise<{ text: string }>) => {
    const events = lines(await r) as Array<{
      type: string;
      object: { metadata: { name?: string; resourceVersion: string } };
    }>;
    return {
      changes: events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`),
      bookmark: Math.max(
        0,
        ...events.filter((e) => e.type === 'BOOKMARK').map((e) => Number(e.object.metadata.resourceVersion)),
      ),
    };
  };
  const [nodeA, unbound, labelled] = await Promise.all(live.map(seen));
  t.same(nodeA?.changes, ['ADDED u', 'MODIFIED u'], 'spec.nodeName=node-a: u once bound there, then its change');
  t.same(unbound?.changes, ['ADDED u', 'DELETED u'], 'spec.nodeName= (unbound): u leaves when bound');
  t.same(
    labelled?.changes,
    ['ADDED u', 'ADDED b', 'MODIFIED u', 'DELETED u', 'MODIFIED b'],
    'app=w: u leaves when relabelled',
  );
  t.equal(nodeA?.bookmark, Number(last), 'the node-a watch is bookmarked past the writes to node-b');
});

t.test('client-node informer sees every change once, across a restart', (t) =>
  informerAcrossRestart(t, startTestServer),
);
