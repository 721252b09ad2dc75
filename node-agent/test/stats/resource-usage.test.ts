// What runs, as users and scrapers see it: `kubectl top node` and `kubectl top pod` through the API server's
// metrics.k8s.io (read from the agent's /stats/summary), and the agent's own /metrics with each container's CPU,
// memory, processes and network from its cgroup, the image pull and the start latency. Real crun; root.
import t from 'tap';
import { eventually, sampleSum, scrapeMetrics } from '@berth/testkit';
import type { NodeAgent } from '../../src/index.js';
import { setUpCluster } from '../agent/harness.js';

const cluster = await setUpCluster(t, { controllers: false });
let agent: NodeAgent;
t.before(async () => {
  agent = await cluster.startAgent({ metricsServer: { port: 0 } });
  // A busy loop under a CPU limit (a fifth of a core), so top has something to show and the machine is spared.
  await cluster.create('hot', {
    args: ['sh', '-c', 'while true; do :; done'],
    resources: { limits: { cpu: '200m', memory: '32Mi' } },
  });
  await cluster.waitFor('hot', (c) => c.status?.phase === 'Running', 60_000);
});
t.teardown(() => cluster.remove('hot'));

const kubectl = (args: string[]) => cluster.server.kubectl(args);

t.test('kubectl top node shows the node’s CPU and memory', async (t) => {
  const top = await kubectl(['top', 'node']);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, /^NAME\s+CPU\(cores\)\s+CPU(%|\(%\))\s+MEMORY\(bytes\)\s+MEMORY(%|\(%\))/);
  t.match(top.stdout, new RegExp(`^${cluster.nodeName}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, 'm'));
});

t.test('kubectl top pod shows the Container, busy under its limit', async (t) => {
  let last = '';
  const busy = await eventually(async () => {
    const top = await kubectl(['top', 'pod', 'hot', '--no-headers']);
    last = `${top.stdout}${top.stderr}`;
    const m = /^hot\s+(\d+)m\s+(\d+)Mi/m.exec(top.stdout);
    // Its limit is 200m; a reading under load may show less, but not nothing, and never much more.
    return m !== null && Number(m[1]) >= 20 && Number(m[1]) <= 300;
  }, 30_000);
  t.ok(busy, last);
  const raw = await kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/hot']);
  t.equal(raw.code, 0, raw.stderr);
  t.match(JSON.parse(raw.stdout), { kind: 'PodMetrics', containers: [{ name: 'hot', usage: { cpu: /n$/ } }] });
});

t.test('the agent’s /metrics has per-container usage from cgroups, the pull and the start', async (t) => {
  const url = `${agent.metricsUrl}/metrics`;
  const s = await scrapeMetrics(url, { token: cluster.server.token });
  t.equal(s.status, 200, s.text.slice(0, 300));
  const hot = { namespace: 'default', pod: 'hot', container: 'hot' };
  t.ok(sampleSum(s, 'container_cpu_usage_seconds_total', hot) > 0, 'cpu');
  t.ok(sampleSum(s, 'container_memory_working_set_bytes', hot) > 0, 'memory');
  t.ok(sampleSum(s, 'container_processes', hot) >= 1, 'processes');
  t.equal(s.families.get('container_network_receive_bytes_total')?.type, 'COUNTER', 'network rx');
  t.ok(s.families.get('container_network_transmit_bytes_total')?.metrics.some((m) => m.labels?.['pod'] === 'hot'));
  t.ok(sampleSum(s, 'node_memory_working_set_bytes') > 0, 'node memory');
  t.ok(sampleSum(s, 'kubelet_image_pull_duration_seconds') >= 1, 'pull timed');
  t.ok(sampleSum(s, 'kubelet_image_pull_bytes_total') > 0, 'pulled bytes');
  t.ok(sampleSum(s, 'kubelet_pod_start_duration_seconds') >= 1, 'start latency');
  t.ok(sampleSum(s, 'controller_runtime_reconcile_total', { controller: 'container' }) >= 1, 'agent reconciles');
  const cpu = sampleSum(s, 'container_cpu_usage_seconds_total', hot);
  t.ok(
    await eventually(
      async () =>
        sampleSum(await scrapeMetrics(url, { token: cluster.server.token }), 'container_cpu_usage_seconds_total', hot) >
        cpu,
    ),
    'cpu grows as it runs',
  );
  t.equal((await scrapeMetrics(url, { token: '' })).status, 401, 'no token, no metrics');
});
