// Overload protection as kube-apiserver's max-in-flight filter: with the one write slot held (a write parked in
// admission), the next write is a 429 TooManyRequests Status with Retry-After: 1, while reads, watches and the
// admin still get through; once the slot frees, writes go again.
import type { ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import t from 'tap';
import type { MutatingAdmission } from '@berth/apiserver';
import { eventually, request, startTestServer } from '@berth/testkit';

const held: (() => void)[] = [];
/** Lets the oldest parked write go on. */
const release = () => held.shift()?.();
let parked = 0;
const gate: MutatingAdmission = {
  name: 'TestGate',
  async admit(a) {
    if (!a.name.startsWith('slow-')) return;
    parked++;
    await new Promise<void>((resolve) => held.push(resolve));
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
const bindOther = await server.kubectl(['create', 'sa', 'other']);
if (bindOther.code !== 0) throw new Error(bindOther.stderr);
const otherBinding = await server.kubectl([
  'create',
  'rolebinding',
  'other-editor',
  '--clusterrole=edit',
  '--serviceaccount=default:other',
]);
if (otherBinding.code !== 0) throw new Error(otherBinding.stderr);
const otherToken = (await server.kubectl(['create', 'token', 'other'])).stdout.trim();
const configMap = (name: string, as = token) =>
  request(server, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }),
    contentType: 'application/json',
    token: as,
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

t.test('one user flooding cannot starve another: a fair share of the seats per user', async (t) => {
  // A (the default ServiceAccount) holds the one write seat; B (another ServiceAccount) asks for it.
  const a = configMap('slow-a');
  await eventually(async () => parked === 2, 10_000);
  const b = configMap('slow-b', otherToken);
  const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => configMap(`flood-${i}`)));
  t.same(new Set(flood.map((r) => r.status)), new Set([429]), 'A past its share is refused at once');
  t.match(flood[0]?.headers, {
    'retry-after': '1',
    'x-kubernetes-pf-flowschema-uid': /^[0-9a-f-]{36}$/,
    'x-kubernetes-pf-prioritylevel-uid': /^[0-9a-f-]{36}$/,
  });
  release();
  t.equal((await a).status, 201);
  // The freed seat went to B, waiting below its share, not to A's flood: B's write is now the parked one.
  t.ok(await eventually(async () => parked === 3, 10_000), "B got the seat A's flood wanted");
  release();
  t.equal((await b).status, 201, 'B was served, not refused');

  // Measured: A floods from 8 loops that retry at once; B makes 6 writes one after another, all served.
  let stop = false;
  const counts = { a201: 0, a429: 0 };
  const loops = Array.from({ length: 8 }, async (_, l) => {
    for (let i = 0; !stop; i++) {
      const r = await configMap(`a-${l}-${i}`);
      if (r.status === 201) counts.a201++;
      else if (r.status === 429) counts.a429++;
    }
  });
  const started = Date.now();
  const bStatuses: number[] = [];
  for (let i = 0; i < 6; i++) bStatuses.push((await configMap(`b-${i}`, otherToken)).status);
  const elapsed = Date.now() - started;
  stop = true;
  await Promise.all(loops);
  t.same(bStatuses, Array(6).fill(201), 'every write of B served while A floods');
  t.ok(counts.a429 > 0, `A was refused past its share (A: ${counts.a201} served, ${counts.a429} refused)`);
  t.comment(`B: 6 writes in ${elapsed} ms under A's flood; A: ${counts.a201} served, ${counts.a429} 429s`);
});
