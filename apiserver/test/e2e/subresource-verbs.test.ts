// Verbs a path does not serve never reach another resource: DELETE on …/status or …/scale is a 405 (not a delete
// of the object), as on Kubernetes.

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
