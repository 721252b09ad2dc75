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
});

t.test('client-node informer sees every change once, across a restart', (t) =>
  informerAcrossRestart(t, startTestServer),
);
