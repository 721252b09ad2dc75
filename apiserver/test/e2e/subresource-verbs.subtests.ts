// Verbs a path does not serve never reach another resource: DELETE on …/status or …/scale is a 405 (not a delete
// of the object), and a watch on a named path sees that object only (not its whole collection), as on Kubernetes.

import t from 'tap';
import { request, startTestServer, type TestServer } from '@berth/testkit';

let ts: TestServer;
t.before(async () => {
  ts = await startTestServer({ controllers: false });
});
t.teardown(() => ts.close());

const json = 'application/json';

t.test('DELETE on a status subresource is 405 and leaves the object alone', async (t) => {
  const created = await request(ts, 'POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sv-status' } }),
    contentType: json,
  });
  t.equal(created.status, 201);
  const answer = await request(ts, 'DELETE', '/api/v1/namespaces/sv-status/status');
  t.equal(answer.status, 405, answer.text);
  const after = await request(ts, 'GET', '/api/v1/namespaces/sv-status');
  t.equal(after.status, 200);
  t.equal(
    after.json<{ metadata: { deletionTimestamp?: string } }>().metadata.deletionTimestamp,
    undefined,
    'not deleted',
  );
});

t.test('a watch on a named path streams that object only', async (t) => {
  for (const name of ['sv-a', 'sv-b']) {
    const created = await request(ts, 'POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }),
      contentType: json,
    });
    t.equal(created.status, 201);
  }
  // The server ends the watch after timeoutSeconds, so the whole stream can be read.
  const answer = await request(ts, 'GET', '/api/v1/namespaces/default/configmaps/sv-a?watch=true&timeoutSeconds=1');
  t.equal(answer.status, 200);
  const names = answer.text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { object: { metadata: { name: string } } }).object.metadata.name);
  t.same(names, ['sv-a']);
});
