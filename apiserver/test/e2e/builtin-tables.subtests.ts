// Kubernetes' own kinds print with the real kubectl 1.32 as Kubernetes' printers print them: Nodes (v1, with
// STATUS Ready/NotReady, ROLES, VERSION, the wide columns, cordon/uncordon, describe), Events, Namespaces,
// ConfigMaps, Secrets, ServiceAccounts, Leases, CRDs, and a Container's STATUS (reason, else phase).

import t from 'tap';
import { request, startTestServer, type TestServer } from '@berth/testkit';

// No scheduler or node lifecycle controller: the fixture Node's conditions, taints and Events are the test's own.
const ts: TestServer = await startTestServer({ controllers: ['*', '-scheduler', '-node-lifecycle'] });
t.teardown(() => ts.close());
const k = ts.kubectl;

async function call(
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<Record<string, unknown>> {
  const res = await request(ts, method, path, { body: JSON.stringify(body), contentType });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.json();
}

/** kubectl's table as cells, cut at the header's column starts (so an empty cell stays an empty string). */
function rows(stdout: string): string[][] {
  const lines = stdout.trimEnd().split('\n');
  const starts = [...lines[0]!.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
  return lines.map((l) => starts.map((s, i) => l.slice(s, starts[i + 1] ?? l.length).trim()));
}

// Ages far enough from a unit boundary that the seconds a test takes do not change how they print.
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const nodeStatus = {
  capacity: { cpu: '2', memory: '4028700Ki', pids: '4194304' },
  addresses: [
    { type: 'InternalIP', address: '127.0.0.1' },
    { type: 'Hostname', address: 'worker-1' },
  ],
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'AgentReady',
      message: 'berth node agent is posting ready status',
      lastHeartbeatTime: minutesAgo(0),
      lastTransitionTime: minutesAgo(5),
    },
  ],
  nodeInfo: {
    machineID: 'm',
    systemUUID: '',
    bootID: 'b',
    kernelVersion: '6.1.0-28-amd64',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    containerRuntimeVersion: 'crun://1.8.1',
    kubeletVersion: 'v0.1.0',
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: 'amd64',
    monitorVersion: 'conmon://2.1.6',
    cgroupVersion: 'v1',
  },
  daemonEndpoints: { kubeletEndpoint: { Port: 0 }, agentEndpoint: { address: 'unix:/var/lib/berth/agent.sock' } },
};

t.test('nodes are v1 Nodes: discovery, short name, scope, status subresource, no berth.dev Node', async (t) => {
  const res = await k(['api-resources', '--api-group=', '-o', 'wide']);
  t.match(res.stdout, /^nodes\s+no\s+v1\s+false\s+Node\s/m, 'nodes, short name no, core v1, cluster-scoped');
  const explain = await k(['explain', 'nodes.status.nodeInfo.kubeletVersion']);
  t.match(explain.stdout, /KIND:\s+Node\nVERSION:\s+v1\n/, 'kubectl explain knows the v1 Node');
  const berth = await k(['api-resources', '--api-group=berth.dev']);
  t.notMatch(berth.stdout, /\bnodes\b/, 'berth.dev serves no Node kind');
  await call('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'worker-1', labels: { 'kubernetes.io/hostname': 'worker-1' } },
  });
  const patched = await call(
    'PATCH',
    '/api/v1/nodes/worker-1/status',
    { status: nodeStatus },
    'application/merge-patch+json',
  );
  t.same(
    (patched['status'] as Record<string, unknown>)['daemonEndpoints'],
    nodeStatus.daemonEndpoints,
    "berth's agent endpoint is kept",
  );
  const ignored = await call(
    'PATCH',
    '/api/v1/nodes/worker-1',
    { status: { phase: 'Running' } },
    'application/merge-patch+json',
  );
  t.notOk((ignored['status'] as Record<string, unknown>)['phase'], 'the main resource ignores status');
  const withStatus = await call('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'fake-1' },
    status: { nodeInfo: { kubeletVersion: 'v1.32.0' } },
  });
  t.same(
    withStatus['status'],
    { nodeInfo: { kubeletVersion: 'v1.32.0' } },
    'a Node may be created with its status, as on Kubernetes',
  );
  await request(ts, 'DELETE', '/api/v1/nodes/fake-1');
});

t.test('kubectl get nodes: NAME STATUS ROLES AGE VERSION, and -o wide as Kubernetes prints them', async (t) => {
  const get = await k(['get', 'nodes']);
  t.equal(get.code, 0, get.stderr);
  t.same(rows(get.stdout), [
    ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
    ['worker-1', 'Ready', '<none>', rows(get.stdout)[1]![3]!, 'v0.1.0'],
  ]);
  t.match(rows(get.stdout)[1]![3], /^\d+s$/, 'AGE is an age');
  const wide = await k(['get', 'no', '-o', 'wide']);
  t.same(rows(wide.stdout)[0], [
    'NAME',
    'STATUS',
    'ROLES',
    'AGE',
    'VERSION',
    'INTERNAL-IP',
    'EXTERNAL-IP',
    'OS-IMAGE',
    'KERNEL-VERSION',
    'CONTAINER-RUNTIME',
  ]);
  t.same(rows(wide.stdout)[1]!.slice(4), [
    'v0.1.0',
    '127.0.0.1',
    '<none>',
    'Debian GNU/Linux 12 (bookworm)',
    '6.1.0-28-amd64',
    'crun://1.8.1',
  ]);

  await k(['label', 'node', 'worker-1', 'node-role.kubernetes.io/control-plane=', 'node-role.kubernetes.io/worker=']);
  t.equal(
    rows((await k(['get', 'nodes'])).stdout)[1]![2],
    'control-plane,worker',
    'ROLES from node-role.kubernetes.io/* labels, sorted',
  );

  await call(
    'PATCH',
    '/api/v1/nodes/worker-1/status',
    { status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } },
    'application/merge-patch+json',
  );
  t.equal(rows((await k(['get', 'nodes'])).stdout)[1]![1], 'NotReady', 'a Ready condition not True is NotReady');
  await call(
    'PATCH',
    '/api/v1/nodes/worker-1/status',
    { status: { conditions: nodeStatus.conditions } },
    'application/merge-patch+json',
  );
});

t.test('cordon, uncordon, describe', async (t) => {
  const cordon = await k(['cordon', 'worker-1']);
  t.equal(cordon.code, 0, cordon.stderr);
  t.match(cordon.stdout, /node\/worker-1 cordoned/);
  t.equal(rows((await k(['get', 'nodes'])).stdout)[1]![1], 'Ready,SchedulingDisabled');
  t.equal((await k(['get', 'node', 'worker-1', '-o', 'jsonpath={.spec.unschedulable}'])).stdout, 'true');
  const uncordon = await k(['uncordon', 'worker-1']);
  t.match(uncordon.stdout, /node\/worker-1 uncordoned/);
  t.equal(rows((await k(['get', 'nodes'])).stdout)[1]![1], 'Ready');

  const describe = await k(['describe', 'node', 'worker-1']);
  t.equal(describe.code, 0, describe.stderr);
  t.match(describe.stdout, /^Name:\s+worker-1$/m);
  t.match(describe.stdout, /^Roles:\s+control-plane,worker$/m);
  t.match(describe.stdout, /^Unschedulable:\s+false$/m);
  t.match(describe.stdout, /Ready\s+True\s+.*AgentReady\s+berth node agent is posting ready status/);
  t.match(describe.stdout, /Container Runtime Version:\s+crun:\/\/1\.8\.1/);
  t.match(describe.stdout, /Kubelet Version:\s+v0\.1\.0/);
  t.match(describe.stdout, /InternalIP:\s+127\.0\.0\.1/);
});

t.test('events: LAST SEEN as an age, TYPE, REASON, OBJECT as kind/name, MESSAGE; wide adds the rest', async (t) => {
  await call('POST', '/api/v1/namespaces/default/events', {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1' },
    involvedObject: { apiVersion: 'berth.dev/v1alpha1', kind: 'Container', name: 'web', namespace: 'default' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container  ',
    type: 'Warning',
    source: { component: 'berth-node-agent', host: 'worker-1' },
    firstTimestamp: minutesAgo(40 * 60),
    lastTimestamp: minutesAgo(30 * 60),
    count: 4,
  });
  // An events.k8s.io-style event: eventTime and a series, no first/last timestamps.
  await call('POST', '/api/v1/namespaces/default/events', {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'node.2' },
    involvedObject: { kind: 'Node', name: 'worker-1' },
    reason: 'Starting',
    message: 'Starting berth node agent.',
    type: 'Normal',
    eventTime: `${minutesAgo(45 * 60).slice(0, -1)}.000000Z`,
    series: { count: 7, lastObservedTime: `${minutesAgo(20).slice(0, -1)}.000000Z` },
    reportingComponent: 'berth-node-agent',
    reportingInstance: 'worker-1',
    action: 'Start',
  });
  const get = await k(['get', 'events', '--sort-by=.metadata.name']);
  t.equal(get.code, 0, get.stderr);
  t.same(rows(get.stdout), [
    ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    ['20m', 'Normal', 'Starting', 'node/worker-1', 'Starting berth node agent.'],
    ['30h', 'Warning', 'BackOff', 'container/web', 'Back-off restarting failed container'],
  ]);
  const wide = await k(['get', 'ev', '-o', 'wide', '--sort-by=.metadata.name']);
  t.same(rows(wide.stdout), [
    ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'SUBOBJECT', 'SOURCE', 'MESSAGE', 'FIRST SEEN', 'COUNT', 'NAME'],
    [
      '20m',
      'Normal',
      'Starting',
      'node/worker-1',
      '',
      'berth-node-agent, worker-1',
      'Starting berth node agent.',
      '45h',
      '7',
      'node.2',
    ],
    [
      '30h',
      'Warning',
      'BackOff',
      'container/web',
      '',
      'berth-node-agent, worker-1',
      'Back-off restarting failed container',
      '40h',
      '4',
      'web.1',
    ],
  ]);
  const all = await k(['get', 'events', '-A', '--sort-by=.metadata.name']);
  t.same(rows(all.stdout)[0], ['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
});

t.test('namespaces, configmaps, secrets, serviceaccounts, leases, CRDs', async (t) => {
  const ns = await k(['get', 'ns', 'default', 'kube-system']);
  t.same(
    rows(ns.stdout).map((r) => [r[0], r[1]]),
    [
      ['NAME', 'STATUS'],
      ['default', 'Active'],
      ['kube-system', 'Active'],
    ],
  );
  t.same(rows(ns.stdout)[0], ['NAME', 'STATUS', 'AGE']);

  await call('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: 'three' },
    data: { a: '1', b: '2' },
    binaryData: { c: 'AA==' },
  });
  await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'empty' } });
  const cm = await k(['get', 'cm', 'empty', 'three']);
  t.same(
    rows(cm.stdout).map((r) => r.slice(0, 2)),
    [
      ['NAME', 'DATA'],
      ['empty', '0'],
      ['three', '3'],
    ],
  );
  t.equal(rows(cm.stdout)[0]![2], 'AGE');

  await call('POST', '/api/v1/namespaces/default/secrets', {
    metadata: { name: 'creds' },
    stringData: { user: 'u', password: 'p' },
  });
  await call('POST', '/api/v1/namespaces/default/secrets', {
    metadata: { name: 'tls' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': 'AA==', 'tls.key': 'AA==' },
  });
  await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'nothing' } });
  const secrets = await k(['get', 'secrets', 'creds', 'nothing', 'tls']);
  t.same(
    rows(secrets.stdout).map((r) => r.slice(0, 3)),
    [
      ['NAME', 'TYPE', 'DATA'],
      ['creds', 'Opaque', '2'],
      ['nothing', 'Opaque', '0'],
      ['tls', 'kubernetes.io/tls', '2'],
    ],
  );

  await call('POST', '/api/v1/namespaces/default/serviceaccounts', {
    metadata: { name: 'builder' },
    secrets: [{ name: 'creds' }],
  });
  await call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'plain' } });
  const sa = await k(['get', 'sa', 'builder', 'plain']);
  t.same(
    rows(sa.stdout).map((r) => r.slice(0, 2)),
    [
      ['NAME', 'SECRETS'],
      ['builder', '1'],
      ['plain', '0'],
    ],
  );
  t.equal(rows(sa.stdout)[0]![2], 'AGE');

  await call('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
    metadata: { name: 'worker-1' },
    spec: { holderIdentity: 'worker-1', leaseDurationSeconds: 40 },
  });
  await call('POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', {
    metadata: { name: 'unheld' },
    spec: {},
  });
  const leases = await k(['get', 'leases', '-A', '--sort-by=.metadata.name']);
  t.equal(leases.code, 0, leases.stderr);
  t.match(leases.stdout, /^NAMESPACE\s+NAME\s+HOLDER\s+AGE\n/);
  t.match(leases.stdout, /^default\s+unheld\s+\d+s\n/m, 'no holder prints empty');
  t.match(leases.stdout, /^kube-node-lease\s+worker-1\s+worker-1\s+\d+s$/m);

  await k(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', kind: 'Widget' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    }),
  });
  const crd = await k(['get', 'crd', 'widgets.example.com']);
  t.same(rows(crd.stdout)[0], ['NAME', 'CREATED AT']);
  t.match(rows(crd.stdout)[1]![1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'CREATED AT is an RFC 3339 time');
});

t.test("a Container's STATUS is its reason when set, else its phase; RESTARTS and AGE", async (t) => {
  const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
  for (const name of ['crashing', 'pulling', 'done'])
    await call('POST', base, {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name },
      spec: { image: 'busybox' },
    });
  await call(
    'PATCH',
    `${base}/crashing/status`,
    { status: { phase: 'Running', reason: 'CrashLoopBackOff', restartCount: 5 } },
    'application/merge-patch+json',
  );
  await call('PATCH', `${base}/pulling/status`, { status: { phase: 'Pulling' } }, 'application/merge-patch+json');
  await call(
    'PATCH',
    `${base}/done/status`,
    { status: { phase: 'Succeeded', reason: 'Completed' } },
    'application/merge-patch+json',
  );
  const get = await k(['get', 'ctr', 'crashing', 'done', 'pulling']);
  t.equal(get.code, 0, get.stderr);
  const table = rows(get.stdout);
  const header = table[0]!;
  const col = (name: string) => header.indexOf(name);
  t.ok(col('RESTARTS') > 0 && col('AGE') > 0, 'RESTARTS and AGE columns');
  const byName = new Map(table.slice(1).map((r) => [r[0], r]));
  t.equal(byName.get('crashing')?.[col('STATUS')], 'CrashLoopBackOff');
  t.equal(byName.get('crashing')?.[col('RESTARTS')], '5');
  t.equal(byName.get('done')?.[col('STATUS')], 'Completed');
  t.equal(byName.get('pulling')?.[col('STATUS')], 'Pulling');
});
