// What runs, as users and scrapers see it: `kubectl top node` and `kubectl top pod` through the API server's
// metrics.k8s.io (read from the agent's /stats/summary), `berth stats` in docker's columns and `berth top`, and
// the agent's own /metrics with each container's CPU, memory, processes and network from its cgroup, the image
// pull and the start latency; exec counted on both sides (the API server's CONNECT, the agent's runtime
// operations); the metrics API's window; the agent's OpenTelemetry spans of the start. Real crun, conmon; root.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { eventually, request, sampleSum, scrapeMetrics, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const fileStarted = Date.now();
const traceFile = join(await mkdtemp(join(tmpdir(), 'berth-usage-traces-')), 'spans.jsonl');
t.teardown(() => rm(dirname(traceFile), { recursive: true, force: true }));
const cluster = await startTestCluster(t, { agentMetrics: true, agentTraceFile: traceFile });
const { server, agent } = cluster;
const nodeName = agent.nodeName;
// A busy loop under a CPU limit (a fifth of a core), so top has something to show and the machine is spared.
const started = await berth(server, [
  'run',
  '-d',
  '--name',
  'hot',
  '--cpus',
  '0.2',
  '--memory',
  '32m',
  cluster.image,
  'sh',
  '-c',
  'while true; do :; done',
]);
t.equal(started.code, 0, started.stderr);

const kubectl = (args: string[]) => server.kubectl(args);

t.test('kubectl top node shows the node’s CPU and memory', async (t) => {
  const top = await kubectl(['top', 'node']);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, /^NAME\s+CPU\(cores\)\s+CPU(%|\(%\))\s+MEMORY\(bytes\)\s+MEMORY(%|\(%\))/);
  t.match(top.stdout, new RegExp(`^${nodeName}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, 'm'));
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
  const pod = JSON.parse(raw.stdout) as { window: string };
  t.match(pod, { kind: 'PodMetrics', containers: [{ name: 'hot', usage: { cpu: /n$/ } }] });
  // The window is the span the rate was measured over (as metrics-server's), not a constant: more than nothing,
  // less than the time this file has run.
  const node = JSON.parse(
    (await kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/nodes/${nodeName}`])).stdout,
  ) as { window: string };
  for (const [what, window] of [
    ['pod', pod.window],
    ['node', node.window],
  ] as const) {
    t.match(window, /^\d+(\.\d{1,3})?s$/, `${what} window is a duration`);
    const seconds = Number.parseFloat(window);
    // A rate spans a second at least (the agent answers a younger reading again); the node's always has one.
    const least = what === 'node' ? 1 : Number.MIN_VALUE;
    t.ok(seconds >= least && seconds <= (Date.now() - fileStarted) / 1000, `${what} window ${window}`);
  }
});

t.test('the agent’s /metrics has per-container usage from cgroups, the pull and the start', async (t) => {
  const url = `${agent.metricsUrl}/metrics`;
  const s = await scrapeMetrics(url, { token: server.token });
  t.equal(s.status, 200, s.text.slice(0, 300));
  const hot = { namespace: 'default', pod: 'hot', container: 'hot' };
  t.ok(sampleSum(s, 'container_cpu_usage_seconds_total', hot) > 0, 'cpu');
  t.ok(sampleSum(s, 'container_memory_working_set_bytes', hot) > 0, 'memory');
  t.ok(sampleSum(s, 'container_processes', hot) >= 1, 'processes');
  t.equal(s.families.get('container_network_receive_bytes_total')?.type, 'COUNTER', 'network rx');
  // This host's kernel counts no v1 blkio at all (the root cgroup reads `Total 0`): the families are there, their
  // values only where the kernel keeps them (node-agent/test/stats/cgroup-stats.subtests.ts reads its formats).
  t.equal(s.families.get('container_fs_reads_bytes_total')?.type, 'COUNTER', 'block I/O read');
  t.equal(s.families.get('container_fs_writes_bytes_total')?.type, 'COUNTER', 'block I/O written');
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
        sampleSum(await scrapeMetrics(url, { token: server.token }), 'container_cpu_usage_seconds_total', hot) > cpu,
    ),
    'cpu grows as it runs',
  );
  t.equal((await scrapeMetrics(url, { token: '' })).status, 401, 'no token, no metrics');
});

t.test('an exec is counted: CONNECT on the API server, a runtime operation on the agent', async (t) => {
  const exec = await kubectl(['exec', 'hot', '--', 'echo', 'hi']);
  t.equal(exec.stdout, 'hi\n', exec.stderr);
  // Without an upgrade an exec is refused before it reaches the agent, and is still a CONNECT.
  const plain = await request(server, 'GET', '/api/v1/namespaces/default/pods/hot/exec?command=true');
  t.equal(plain.status, 400, plain.text);
  const api = await scrapeMetrics(`${server.url}/metrics`, { token: server.token, ca: server.caCert });
  const connect = { verb: 'CONNECT', resource: 'pods', subresource: 'exec' };
  t.ok(sampleSum(api, 'apiserver_request_total', { ...connect, code: '101' }) >= 1, 'upgraded: code 101');
  t.ok(sampleSum(api, 'apiserver_request_total', { ...connect, code: '400' }) >= 1, 'refused: its Status code');
  const agentScrape = await scrapeMetrics(`${agent.metricsUrl}/metrics`, { token: server.token });
  const op = { operation_type: 'exec' };
  t.ok(sampleSum(agentScrape, 'kubelet_runtime_operations_total', op) >= 1, 'the agent counted the exec');
  t.ok(sampleSum(agentScrape, 'kubelet_runtime_operations_duration_seconds', op) >= 1, 'and timed it');
  t.equal(sampleSum(agentScrape, 'kubelet_runtime_operations_errors_total', op), 0, 'without errors');
});

t.test(
  'the agent traced the Container’s start: apply → scheduled → pulled → started, one trace by its UID',
  async (t) => {
    const uid = JSON.parse((await kubectl(['get', 'containers.berth.dev', 'hot', '-o', 'json'])).stdout).metadata
      .uid as string;
    interface Span {
      traceId: string;
      spanId: string;
      parentSpanId?: string;
      name: string;
      startTimeUnixNano: string;
      endTimeUnixNano: string;
      attributes: Record<string, string>;
    }
    let spans: Span[] = [];
    const traceId = uid.replaceAll('-', '');
    // Written when the agent posts the Started Event, which may follow the status the run above waited for.
    const written = await eventually(async () => {
      const text = await readFile(traceFile, 'utf8').catch(() => '');
      spans = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Span)
        .filter((s) => s.traceId === traceId);
      return spans.length >= 4;
    }, 20_000);
    t.ok(written, `four spans in trace ${traceId}`);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const root = byName.get('apply');
    t.ok(root !== undefined && root.parentSpanId === undefined, 'apply is the root');
    for (const name of ['scheduled', 'pulled', 'started']) {
      const s = byName.get(name);
      t.equal(s?.parentSpanId, root?.spanId, `${name} is a child of apply`);
      t.ok(BigInt(s?.startTimeUnixNano ?? 0) <= BigInt(s?.endTimeUnixNano ?? -1), `${name} ends after it starts`);
    }
    const at = (name: string, end: 'startTimeUnixNano' | 'endTimeUnixNano') => BigInt(byName.get(name)?.[end] ?? 0);
    t.ok(
      at('scheduled', 'endTimeUnixNano') <= at('pulled', 'startTimeUnixNano') &&
        at('pulled', 'endTimeUnixNano') <= at('started', 'startTimeUnixNano') &&
        at('started', 'endTimeUnixNano') === at('apply', 'endTimeUnixNano'),
      'in order, and the start ends the trace',
    );
    t.equal(root?.attributes['k8s.container.name'], 'hot');
    t.equal(root?.attributes['k8s.node.name'], nodeName);
  },
);

t.test('berth stats prints docker stats’ columns once with --no-stream', async (t) => {
  const r = await berth(server, ['stats', '--no-stream']);
  t.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  t.match(
    header,
    /^CONTAINER ID {3}NAME {3,}CPU % {3,}MEM USAGE \/ LIMIT {3,}MEM % {3,}NET I\/O {3,}BLOCK I\/O {3,}PIDS$/,
  );
  t.match(
    rows.join('\n'),
    /^[0-9a-f]{12} {3}hot {3,}\d+\.\d\d% {3,}[\d.]+[KM]iB \/ 32MiB {3,}\d+\.\d\d% {3,}[\d.]+k?B \/ [\d.]+k?B {3,}-- {3,}1$/m,
  );
  const json = await berth(server, ['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'hot']);
  t.equal(json.stdout, 'hot 1\n', json.stderr);
  const missing = await berth(server, ['stats', '--no-stream', 'nothere']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, 'No such container: nothere');
});

t.test('berth top shows the node and the Containers', async (t) => {
  const r = await berth(server, ['top']);
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stdout,
    new RegExp(
      `^NODE\\s+CPU\\(cores\\)\\s+CPU\\(%\\)\\s+MEMORY\\(bytes\\)\\s+MEMORY\\(%\\)\\n${nodeName}\\s+\\d+m\\s+\\d+%`,
    ),
  );
  t.match(r.stdout, /^CONTAINER\s+CPU\(cores\)\s+MEMORY\(bytes\)\s+PIDS\nhot\s+\d+m\s+\d+Mi\s+1$/m);
});

t.test("berth top NAME [ps OPTIONS] lists the Container's processes as docker top does", async (t) => {
  const r = await berth(server, ['top', 'hot']);
  t.equal(r.code, 0, r.stderr);
  // ps -ef on the node, only the container's rows: its one shell, in columns at least 20 wide.
  t.match(r.stdout, /^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD\n/);
  t.match(r.stdout, /\nroot +\d+ +\d+ .* sh -c while true; do :; done\n$/);
  t.equal(r.stdout.split('\n').length, 3, 'the header and one process');
  const fields = await berth(server, ['top', 'hot', '-o', 'pid,comm']);
  t.equal(fields.code, 0, fields.stderr);
  t.match(fields.stdout, /^PID {17}COMMAND\n\d+ +sh\n$/, 'ps options pass through');
  const refused = await berth(server, ['top', 'hot', '-o', 'pid=X,comm']);
  t.not(refused.code, 0);
  t.match(refused.stderr, /only options made of letters and -o field lists are allowed/, 'a renamed header is refused');
  const environment = await berth(server, ['top', 'hot', 'axe']);
  t.match(environment.stderr, /not BSD's e/, "BSD's e (every process's environment) is refused");
  // procps reads `-ex` again as BSD's `ex` (its UNIX parser has no -x), which would print the environments.
  for (const args of [['-ex'], ['-e', '-aux']]) {
    const again = await berth(server, ['top', 'hot', ...args]);
    t.match(again.stderr, /not BSD's e/, `${args.join(' ')}: an e that procps would parse as BSD's is refused`);
  }
  t.equal((await berth(server, ['top', 'hot', '-eH'])).code, 0, "UNIX's -e with UNIX flags still runs");
});
