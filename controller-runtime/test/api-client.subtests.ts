// The API client's writes with a body on every verb: a DELETE carrying DeleteOptions (a uid precondition) is sent
// sized, so the server reads it as one request; the connection it leaves in the pool serves the next request.
import type { KubernetesObject } from '@kubernetes/client-node';
import t from 'tap';
import { apiStatusCode, type ApiClient } from '../src/index.js';
import { configMaps, startApi } from './harness.js';

const api = await startApi(t);
const client: ApiClient = api.client;

t.test('DELETE with a uid precondition: a mismatch is a 409, a match deletes', async (t) => {
  const cm = await client.create<KubernetesObject>(configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'doomed', namespace: 'default' },
  });
  let code: number | undefined;
  try {
    await client.delete(configMaps, 'default', 'doomed', { preconditionUid: 'not-its-uid' });
  } catch (err) {
    code = apiStatusCode(err);
  }
  t.equal(code, 409, 'a uid precondition that does not match');
  await client.delete(configMaps, 'default', 'doomed', { preconditionUid: cm.metadata?.uid ?? '' });
  // The same pooled connection answers the next request: no leftover body read as a request of its own.
  const list = await client.list(configMaps, { namespace: 'default' });
  t.notOk(
    list.items.some((c) => c.metadata?.name === 'doomed'),
    'deleted, and the next request on the connection is fine',
  );
});
