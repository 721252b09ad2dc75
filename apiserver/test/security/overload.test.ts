// Overload protection as kube-apiserver's max-in-flight filter: with the one write slot held (a write parked in
// admission), the next write is a 429 TooManyRequests Status with Retry-After: 1, while reads, watches and the
// admin still get through; once the slot frees, writes go again.
import type { ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import t from 'tap';
import type { MutatingAdmission } from '@berth/apiserver';
import { eventually, request, startTestServer } from '@berth/testkit';

let release: () => void = () => undefined;
let parked = 0;
const gate: MutatingAdmission = {
  name: 'TestGate',
  async admit(a) {
    if (!a.name.startsWith('slow-')) return;
    parked++;
    await new Promise<void>((resolve) => (release = resolve));
  },
};
const server = await startTestServer({
  controllers: false,
  admission: { mutating: [gate], validating: [] },
  maxMutatingRequestsInFlight: 1,
  maxRequestsInFlight: 1,
});
t.teardown(() => server.close());

const bind = await server.kubectl([
  'create',
  'rolebinding',
  'editor',
  '--clusterrole=edit',
  '--serviceaccount=default:default',
]);
if (bind.code !== 0) throw new Error(bind.stderr);
const token = (await server.kubectl(['create', 'token', 'default'])).stdout.trim();
const configMap = (name: string) =>
  request(server, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }),
    contentType: 'application/json',
    token,
  });

t.test('a write past the limit is a 429 with Retry-After; reads, watches and the admin pass', async (t) => {
  const slow = configMap('slow-1');
  await eventually(async () => parked === 1, 10_000);
  const refused = await configMap('fast-1');
  t.equal(refused.status, 429);
  t.equal(refused.headers['retry-after'], '1');
  t.match(refused.json(), {
    kind: 'Status',
    status: 'Failure',
    reason: 'TooManyRequests',
    code: 429,
    message: 'Too many requests, please try again later.',
    details: { retryAfterSeconds: 1 },
  });
  // A watch held open takes no read slot: with the one read slot, a list still goes through beside it.
  let watchRequest: ClientRequest | undefined;
  const watchStatus = await new Promise<number>((resolve, reject) => {
    watchRequest = httpsRequest(
      new URL('/api/v1/namespaces/default/configmaps?watch=true', server.url),
      { headers: { Authorization: `Bearer ${token}` }, ca: server.caCert },
      (res) => resolve(res.statusCode ?? 0),
    );
    watchRequest.on('error', reject);
    watchRequest.end();
  });
  t.equal(watchStatus, 200);
  const read = await request(server, 'GET', '/api/v1/namespaces/default/configmaps', { token });
  t.equal(read.status, 200, 'reads have their own limit, and the open watch is not counted');
  watchRequest?.destroy();
  const admin = await request(server, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'admin-1' } }),
    contentType: 'application/json',
  });
  t.equal(admin.status, 201, 'system:masters is never refused');
  release();
  t.equal((await slow).status, 201);
  t.equal((await configMap('fast-2')).status, 201, 'the slot is free again');
});
