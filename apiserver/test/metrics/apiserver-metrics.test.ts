// The API server's /metrics as Prometheus and kubectl see it: Kubernetes' families in the text format, moving
// with traffic (a create counts under POST/configmaps/201, is timed, and its fsync is observed; an open watch is a
// registered watcher until it ends), and authorized as Kubernetes authorizes it (403 without `/metrics` in RBAC,
// 200 for the group system:monitoring). And its log: JSON lines with a request id that the answer carries.

import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import {
  eventually,
  request,
  sampleSum,
  scrapeMetrics,
  startTestServer,
  type Scrape,
  type TestServer,
} from '@berth/testkit';

let ts: TestServer;
const logLines: Record<string, unknown>[] = [];
t.before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  ts = await startTestServer({ controllers: false, logger: pino({ level: 'debug' }, sink) });
});
t.teardown(() => ts.close());

const scrape = (): Promise<Scrape> => scrapeMetrics(`${ts.url}/metrics`, { token: ts.token, ca: ts.caCert });

t.test('the families Kubernetes exposes are there, in the Prometheus text format', async (t) => {
  const s = await scrape();
  t.equal(s.status, 200, s.text.slice(0, 300));
  t.match(s.contentType, /^text\/plain; version=0\.0\.4/);
  const types: Record<string, string> = {
    apiserver_request_total: 'COUNTER',
    apiserver_request_duration_seconds: 'HISTOGRAM',
    apiserver_current_inflight_requests: 'GAUGE',
    apiserver_longrunning_requests: 'GAUGE',
    apiserver_registered_watchers: 'GAUGE',
    etcd_request_duration_seconds: 'HISTOGRAM',
    etcd_disk_wal_fsync_duration_seconds: 'HISTOGRAM',
    process_cpu_seconds_total: 'COUNTER',
    process_resident_memory_bytes: 'GAUGE',
  };
  for (const [name, type] of Object.entries(types)) t.equal(s.families.get(name)?.type, type, name);
  t.ok(sampleSum(s, 'process_resident_memory_bytes') > 1e6, 'resident memory is the process’s');
});

t.test('a create is counted by verb, resource and code, timed, and synced to disk', async (t) => {
  const before = await scrape();
  const created = await ts.kubectl(['create', 'configmap', 'counted', '--from-literal=a=b']);
  t.equal(created.code, 0, created.stderr);
  const conflict = await ts.kubectl(['create', 'configmap', 'counted', '--from-literal=a=b']);
  t.not(conflict.code, 0);
  const after = await scrape();
  const post = { verb: 'POST', resource: 'configmaps', group: '', version: 'v1', scope: 'namespace' };
  const delta = (s: Scrape, name: string, labels: Record<string, string>) =>
    sampleSum(s, name, labels) - sampleSum(before, name, labels);
  t.equal(delta(after, 'apiserver_request_total', { ...post, code: '201' }), 1, 'one 201');
  t.equal(delta(after, 'apiserver_request_total', { ...post, code: '409' }), 1, 'one 409 AlreadyExists');
  t.equal(delta(after, 'apiserver_request_duration_seconds', post), 2, 'both timed');
  t.ok(delta(after, 'etcd_request_duration_seconds', { operation: 'create', type: 'configmaps' }) >= 1, 'store create');
  t.ok(delta(after, 'etcd_disk_wal_fsync_duration_seconds', {}) >= 1, 'fsync observed');
  const list = await ts.kubectl(['get', 'configmaps']);
  t.equal(list.code, 0, list.stderr);
  const listed = await scrape();
  t.ok(delta(listed, 'apiserver_request_total', { verb: 'LIST', resource: 'configmaps', code: '200' }) >= 1, 'LIST');
});

t.test('an open watch is a registered watcher until it ends', async (t) => {
  const watchers = async () =>
    sampleSum(await scrape(), 'apiserver_registered_watchers', { group: '', version: 'v1', kind: 'ConfigMap' });
  const base = await watchers();
  const controller = new AbortController();
  const opened = new Promise<void>((resolve, reject) => {
    const req = httpsRequest(
      `${ts.url}/api/v1/namespaces/default/configmaps?watch=true`,
      { headers: { Authorization: `Bearer ${ts.token}` }, ca: ts.caCert, signal: controller.signal },
      (res) => {
        res.on('error', () => undefined);
        res.resume();
        resolve();
      },
    );
    req.on('error', (e) => (controller.signal.aborted ? undefined : reject(e)));
    req.end();
  });
  await opened;
  t.ok(await eventually(async () => (await watchers()) === base + 1), 'counted while open');
  controller.abort();
  t.ok(await eventually(async () => (await watchers()) === base), 'gone once closed');
});

t.test('/metrics is authorized as a non-resource URL', async (t) => {
  const nobody = await ts.userKubeconfig('nobody');
  const refused = await ts.kubectl(['get', '--raw', '/metrics'], { env: { KUBECONFIG: nobody } });
  t.not(refused.code, 0);
  t.match(refused.stderr, 'Error from server (Forbidden): forbidden: User "nobody" cannot get path "/metrics"');
  const monitor = await ts.userKubeconfig('prom', { groups: ['system:monitoring'] });
  const allowed = await ts.kubectl(['get', '--raw', '/metrics'], { env: { KUBECONFIG: monitor } });
  t.equal(allowed.code, 0, allowed.stderr);
  t.match(allowed.stdout, /^# HELP /m);
  const anonymous = await scrapeMetrics(`${ts.url}/metrics`, { token: '', ca: ts.caCert });
  t.ok(anonymous.status === 401 || anonymous.status === 403, `anonymous: ${anonymous.status}`);
});

t.test('each request has an id: the Audit-Id header and the debug line that logs it', async (t) => {
  const res = await request(ts, 'GET', '/api/v1/namespaces/default/configmaps/nothere');
  t.equal(res.status, 404);
  const id = res.headers['audit-id'];
  t.match(id, /^[0-9a-f-]{36}$/, 'Audit-Id as Kubernetes sends it');
  t.ok(await eventually(() => logLines.some((l) => l['requestId'] === id)), 'logged with its id');
  t.match(
    logLines.find((l) => l['requestId'] === id),
    {
      level: 20,
      msg: 'request',
      verb: 'get',
      path: '/api/v1/namespaces/default/configmaps/nothere',
      code: 404,
      user: 'admin',
    },
  );
});
