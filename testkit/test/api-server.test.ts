// The test API server fixture gives a working server to kubectl, client-node and raw HTTPS alike, and leaves
// nothing behind: a restart keeps the data, close removes the data dir.
import { access } from 'node:fs/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

t.test('kubectl, client-node and raw requests reach the same server, and its data survives a restart', async (t) => {
  const ts = await startTestServer();
  let closed = false;
  t.teardown(() => (closed ? undefined : ts.close()));
  t.match(ts.url, /^https:\/\/127\.0\.0\.1:\d+$/);

  const created = await ts.kubectl(['create', 'namespace', 'kit']);
  t.equal(created.code, 0, created.stderr);
  const core = ts.kubeConfig().makeApiClient(CoreV1Api);
  t.equal((await core.readNamespace({ name: 'kit' })).metadata?.name, 'kit');
  t.equal((await request(ts, 'GET', '/api/v1/namespaces/kit')).status, 200);
  t.equal((await request(ts, 'GET', '/api/v1/namespaces/kit', { token: '' })).status, 401);

  await ts.stop();
  await ts.restart();
  t.equal((await request(ts, 'GET', '/api/v1/namespaces/kit')).status, 200, 'the data dir outlives a stop');

  await ts.close();
  closed = true;
  await t.rejects(access(ts.dir), { code: 'ENOENT' }, 'close removes the data dir');
});
