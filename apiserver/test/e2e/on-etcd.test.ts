// The API on etcd: the watch behaviours of watch.test.ts (resume from a revision, 410 Expired once etcd compacted,
// a client-node informer that sees every change once across an API server restart), and two API servers on one
// etcd, each serving watches from its own cache fed by etcd's watch: a client that switches servers mid-watch
// resumes by resourceVersion without gaps, and a CRD created on one is served by the other within a second.

import t from 'tap';
import { eventually, request, startTestEtcd, startTestServer, type TestServer } from '@berth/testkit';
import { informerAcrossRestart, watchProtocol, type StartServer } from './watch-cases.js';

const etcd = await startTestEtcd();
t.teardown(() => etcd.close());
const onEtcd: StartServer = (options) => startTestServer({ ...options, etcd });

t.test('on etcd: watch protocol: synthetic ADDED at 0, resume from a revision, 410 for compacted history', (t) =>
  watchProtocol(t, onEtcd),
);

t.test('on etcd: client-node informer sees every change once, across a restart', (t) =>
  informerAcrossRestart(t, onEtcd),
);

// Two servers on one etcd key prefix, with one PKI.
const a = await startTestServer({ etcd, controllers: false });
t.teardown(() => a.close());
const b = (await a.startPeer()).server;

const cms = '/api/v1/namespaces/default/configmaps';
const create = async (ts: TestServer, name: string): Promise<number> => {
  const res = await request(ts, 'POST', cms, {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { on: ts.url } }),
    contentType: 'application/json',
  });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
  return Number(res.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion);
};
/** The events of a watch from `rv` that ends after a second: [type, name, resourceVersion]. */
const watchFrom = async (ts: TestServer, rv: number): Promise<Array<[string, string, number]>> => {
  const res = await request(ts, 'GET', `${cms}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
  return res.text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const e = JSON.parse(l) as { type: string; object: { metadata: { name: string; resourceVersion: string } } };
      return [e.type, e.object.metadata.name, Number(e.object.metadata.resourceVersion)];
    });
};

t.test('a watch moved to the other server resumes by resourceVersion without gaps', async (t) => {
  const start = Number(
    (await request(a, 'GET', cms)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion,
  );
  // Writes land on both servers, interleaved.
  const revs = [await create(a, 'w1'), await create(b, 'w2'), await create(a, 'w3'), await create(b, 'w4')];
  const onA = await watchFrom(a, start);
  t.same(
    onA.map(([type, name, rv]) => [type, name, rv]),
    [
      ['ADDED', 'w1', revs[0]],
      ['ADDED', 'w2', revs[1]],
      ['ADDED', 'w3', revs[2]],
      ['ADDED', 'w4', revs[3]],
    ],
    'server A streams the writes made through both servers, in revision order',
  );
  // The client read up to w2 on A, then switches to B from there.
  const onB = await watchFrom(b, revs[1] as number);
  t.same(onB, onA.slice(2), 'server B continues exactly after the resourceVersion the client had');
  t.same(await watchFrom(b, start), onA, 'and from the start both servers tell the same history');
});

t.test('a watch from a revision not yet written waits for it, whichever server writes it', async (t) => {
  const current = Number(
    (await request(b, 'GET', cms)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion,
  );
  // The next write gets a revision above `current`; B is asked for events after it before anyone wrote it.
  const watching = request(b, 'GET', `${cms}?watch=true&resourceVersion=${current + 1}&timeoutSeconds=2`);
  // One after the other: the second is the one after the revision asked for (two at once may land either way round).
  const rv = await create(a, 'future-1');
  await create(a, 'future-2');
  const res = await watching;
  t.equal(res.status, 200, `B waited for the revision instead of refusing it: ${res.text.slice(0, 200)}`);
  t.ok(rv >= current + 1, 'the revision was written through A');
  t.ok(res.text.includes('future-2'), 'and streams what came after it');
});

t.test('a CRD created through one server is served by the other within a second', async (t) => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  const created = await request(a, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    body: JSON.stringify(crd),
    contentType: 'application/json',
  });
  t.equal(created.status, 201, 'the CRD is created through A');
  const began = performance.now();
  const served = await eventually(
    async () => (await request(b, 'GET', '/apis/example.com/v1/namespaces/default/widgets')).status === 200,
    5000,
  );
  const ms = performance.now() - began;
  t.ok(served, 'server B serves the new kind');
  // The goal is a second; on a loaded test machine it is the order of magnitude that is checked.
  t.ok(ms < 5000, `within seconds (${Math.round(ms)} ms)`);
  const widget = await request(b, 'POST', '/apis/example.com/v1/namespaces/default/widgets', {
    body: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { n: 1 } }),
    contentType: 'application/json',
  });
  t.equal(widget.status, 201, 'and takes its objects');
  t.equal((await request(a, 'GET', '/apis/example.com/v1/namespaces/default/widgets/w')).status, 200, 'seen on A');
});
