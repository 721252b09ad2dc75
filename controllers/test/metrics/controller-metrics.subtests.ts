// The controller manager's /metrics as a scraper sees it: client-go's workqueue and controller-runtime's
// reconcile families for every controller, moving as a controller works, behind the API server's TokenReview and
// SubjectAccessReview (401 without a valid token, 403 for a ServiceAccount not granted `/metrics`).

import t from 'tap';
import { startControllers, type RunningControllers } from '@berth/controllers';
import { eventually, sampleSum, scrapeMetrics, startTestServer, type TestServer } from '@berth/testkit';

let ts: TestServer;
let running: RunningControllers;
let url: string;
t.before(async () => {
  ts = await startTestServer({ controllers: false });
  running = await startControllers({
    kubeconfig: ts.kubeconfig,
    leaderElection: false,
    controllers: ['namespace'],
    // Decisions are reused briefly here so a new binding shows within the test.
    metricsServer: { port: 0, cacheTtlMs: 200 },
  });
  url = `${running.manager.metricsUrl}/metrics`;
});
t.teardown(async () => {
  await running.close();
  await ts.close();
});

t.test('every controller has its workqueue and reconcile families, and they move with work', async (t) => {
  const before = await scrapeMetrics(url, { token: ts.token });
  t.equal(before.status, 200, before.text.slice(0, 300));
  const types: Record<string, string> = {
    workqueue_depth: 'GAUGE',
    workqueue_adds_total: 'COUNTER',
    workqueue_queue_duration_seconds: 'HISTOGRAM',
    workqueue_work_duration_seconds: 'HISTOGRAM',
    workqueue_retries_total: 'COUNTER',
    controller_runtime_reconcile_total: 'COUNTER',
    controller_runtime_reconcile_errors_total: 'COUNTER',
    controller_runtime_reconcile_time_seconds: 'HISTOGRAM',
    controller_runtime_active_workers: 'GAUGE',
    process_cpu_seconds_total: 'COUNTER',
  };
  for (const [name, type] of Object.entries(types)) t.equal(before.families.get(name)?.type, type, name);
  const ns = { name: 'namespace' };
  t.ok(
    before.families.get('workqueue_depth')?.metrics.some((m) => m.labels?.['name'] === 'namespace'),
    'depth',
  );
  t.equal(sampleSum(before, 'controller_runtime_reconcile_errors_total', { controller: 'namespace' }), 0);

  const created = await ts.kubectl(['create', 'namespace', 'measured']);
  t.equal(created.code, 0, created.stderr);
  const deleted = await ts.kubectl(['delete', 'namespace', 'measured', '--wait=false']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.ok(await eventually(async () => (await ts.kubectl(['get', 'namespace', 'measured'])).code !== 0, 30_000), 'gone');
  const after = await scrapeMetrics(url, { token: ts.token });
  t.ok(sampleSum(after, 'workqueue_adds_total', ns) > sampleSum(before, 'workqueue_adds_total', ns), 'adds moved');
  t.ok(
    sampleSum(after, 'workqueue_queue_duration_seconds', ns) >
      sampleSum(before, 'workqueue_queue_duration_seconds', ns),
    'waits observed',
  );
  const reconciles = (s: typeof after) =>
    sampleSum(s, 'controller_runtime_reconcile_total', { controller: 'namespace' });
  t.ok(reconciles(after) > reconciles(before), 'reconciles counted');
  t.ok(
    sampleSum(after, 'controller_runtime_reconcile_time_seconds', { controller: 'namespace' }) >= reconciles(after),
    'each reconcile timed',
  );
});

t.test('/metrics asks the API server who the caller is and whether it may get /metrics', async (t) => {
  const none = await scrapeMetrics(url, { token: '' });
  t.equal(none.status, 401, 'no token');
  const bad = await scrapeMetrics(url, { token: 'not-a-token' });
  t.equal(bad.status, 401, 'unknown token');
  const sa = await ts.kubectl(['create', 'token', 'default', '-n', 'default']);
  t.equal(sa.code, 0, sa.stderr);
  const refused = await scrapeMetrics(url, { token: sa.stdout.trim() });
  t.equal(refused.status, 403, refused.text);
  t.match(refused.text, 'User \\"system:serviceaccount:default:default\\" cannot get path \\"/metrics\\"');
  const bind = await ts.kubectl([
    'create',
    'clusterrolebinding',
    'default-monitoring',
    '--clusterrole=system:monitoring',
    '--serviceaccount=default:default',
  ]);
  t.equal(bind.code, 0, bind.stderr);
  t.ok(
    await eventually(async () => (await scrapeMetrics(url, { token: sa.stdout.trim() })).status === 200),
    'allowed once bound to system:monitoring',
  );
});
