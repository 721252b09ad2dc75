// Kubernetes' Pod commands against berth, with the real kubectl and a real container (API server, controllers,
// node agent with crun, busybox from a loopback registry): `kubectl run` makes a Container, `get pods` prints it
// as a Pod (READY, STATUS, RESTARTS, AGE, -o wide IP and NODE), logs (-f), exec, port-forward and delete reach it,
// and a watch of Pods resumes from a resourceVersion. Needs root, crun, conmon.

import { execFile, spawn } from 'node:child_process';
import { get } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort, kubectlBackground, kubectlBinary, request, startTestCluster } from '@berth/testkit';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

const container = async (name: string): Promise<Container | undefined> => {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
};
const podField = async (name: string, jsonPath: string): Promise<string> =>
  (await server.kubectl(['get', 'pod', name, '-o', `jsonpath=${jsonPath}`])).stdout;

const script = 'echo started; echo hello-pod > /tmp/index.html; exec httpd -f -p 80 -h /tmp';

t.test('kubectl run makes the Container; get pods prints it as a running Pod', async (t) => {
  const run = await server.kubectl([
    'run',
    'web',
    `--image=${image}`,
    '--port=80',
    '--env=GREETING=hi',
    '--command',
    '--',
    'sh',
    '-c',
    script,
  ]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /pod\/web created/);
  const c = await container('web');
  t.equal(c?.spec.image, image, 'the Container is the source of truth');
  t.same(c?.spec.command, ['sh', '-c', script]);
  t.same(c?.spec.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  t.same(c?.spec.env, [{ name: 'GREETING', value: 'hi' }]);
  t.equal(c?.metadata.labels?.['run'], 'web');
  t.ok(await eventually(async () => (await podField('web', '{.status.phase}')) === 'Running', 30_000), 'Running');
  t.ok(
    await eventually(async () => (await podField('web', '{.status.containerStatuses[0].ready}')) === 'true', 15_000),
  );
  const table = await server.kubectl(['get', 'pods']);
  t.match(table.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
  t.match(table.stdout, /\nweb\s+1\/1\s+Running\s+0\s+\d+s\n/);
  const wide = await server.kubectl(['get', 'pods', '-o', 'wide']);
  const ip = await podField('web', '{.status.podIP}');
  t.match(ip, /^10\.214\.\d+\.\d+$/, 'the pod IP is the Container address');
  t.match(wide.stdout, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/);
  t.match(
    wide.stdout,
    new RegExp(
      `web\\s+1/1\\s+Running\\s+0\\s+\\d+s\\s+${ip.replaceAll('.', '\\.')}\\s+${cluster.agent.nodeName}\\s+<none>\\s+<none>`,
    ),
  );
  t.equal(c?.metadata.uid, await podField('web', '{.metadata.uid}'), 'same uid');
  t.equal(await podField('web', '{.status.hostIP} {.status.hostIPs[0].ip}'), '127.0.0.1 127.0.0.1', "the node's IP");
  const containers = await server.kubectl(['get', 'containers', 'web', '-o', 'name']);
  t.equal(containers.stdout.trim(), 'container.berth.dev/web', 'the same object shows as a Container');
});

t.test('field and label selectors select Pods', async (t) => {
  const names = async (...args: string[]) =>
    (await server.kubectl(['get', 'pods', '-o', 'name', ...args])).stdout.trim();
  t.equal(await names('--field-selector', `spec.nodeName=${cluster.agent.nodeName}`), 'pod/web');
  t.equal(await names('--field-selector', 'spec.nodeName=elsewhere'), '');
  t.equal(await names('--field-selector', 'status.phase=Running'), 'pod/web');
  t.equal(await names('--field-selector', 'status.phase!=Running'), '');
  t.equal(await names('-l', 'run=web'), 'pod/web');
  t.equal(await names('-l', 'run=other'), '');
  const bad = await server.kubectl(['get', 'pods', '--field-selector', 'spec.image=x']);
  t.not(bad.code, 0, 'a field no Pod selects by is refused');
});

t.test('logs, logs -f and exec reach the container', async (t) => {
  const logs = await server.kubectl(['logs', 'web']);
  t.equal(logs.code, 0, logs.stderr);
  t.equal(logs.stdout, 'started\n');
  t.equal(
    (await server.kubectl(['logs', 'web', '-c', 'web'])).stdout,
    'started\n',
    'the container is named as the Pod',
  );
  const other = await server.kubectl(['logs', 'web', '-c', 'other']);
  t.match(other.stderr, /container other is not valid for pod web/);
  const follow = kubectlBackground(server, ['logs', '-f', 'web']);
  t.teardown(follow.stop);
  t.ok(await eventually(() => follow.output().includes('started'), 10_000), 'follow prints what is there');
  const exec = await server.kubectl([
    'exec',
    'web',
    '--',
    'sh',
    '-c',
    'echo "$GREETING" from-exec > /proc/1/fd/1; cat /tmp/index.html',
  ]);
  t.equal(exec.code, 0, exec.stderr);
  t.equal(exec.stdout, 'hello-pod\n');
  t.ok(
    await eventually(() => follow.output().includes('hi from-exec'), 10_000),
    `follow streams new lines: ${follow.output()}`,
  );
  const failing = await server.kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
  t.equal(failing.code, 3, "kubectl exits with the command's code");
});

/** kubectl on a real pty (util-linux script), 33 rows by 91 columns; resolves with its exit code and output. */
function kubectlInTerminal(args: readonly string[], input: string): Promise<{ code: number; output: string }> {
  const quoted = [kubectlBinary, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', `stty cols 91 rows 33; exec ${quoted}`, '/dev/null'], {
    env: {
      ...process.env,
      KUBECONFIG: server.kubeconfig,
      KUBECACHEDIR: join(server.dir, 'kube-cache'),
      HOME: server.dir,
    },
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdin.write(input);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    }),
  );
}

t.test('exec -it runs a shell on a real terminal; attach sees what pid 1 writes', async (t) => {
  const shell = await kubectlInTerminal(
    ['exec', '-it', 'web', '--', 'sh'],
    'tty; stty size; echo "a$((40+2))b"; exit 5\n',
  );
  t.equal(shell.code, 5, `the shell's exit code: ${shell.output}`);
  t.match(shell.output, /\/dev\/pts\/\d+/, 'the shell has a terminal');
  t.match(shell.output, /33 91/, "of the user's terminal size");
  t.match(shell.output, /a42b/);
  const attach = kubectlBackground(server, ['attach', 'web']);
  t.teardown(attach.stop);
  // Written until the attach has connected and passed it on (an attach shows only what comes after it).
  t.ok(
    await eventually(async () => {
      await server.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo to-attach > /proc/1/fd/1']);
      return attach.output().includes('to-attach');
    }, 15_000),
    `attach streams pid 1's output: ${attach.output()}`,
  );
});

t.test('run -it --rm: a shell on a new Pod, its exit code, then the Container is gone', async (t) => {
  const run = await kubectlInTerminal(
    ['run', 'shell', '-it', '--rm', '--restart=Never', `--image=${image}`, '--', 'sh'],
    'echo "a$((40+2))b"; exit 4\n',
  );
  t.match(run.output, /a42b/, run.output);
  t.equal(run.code, 4, `kubectl exits with the container's code: ${run.output}`);
  t.match(run.output, /pod "shell" deleted/);
  t.ok(await eventually(async () => (await container('shell')) === undefined, 20_000), 'the Container is removed');
});

t.test('describe pod reads as Kubernetes prints a Pod', async (t) => {
  const d = await server.kubectl(['describe', 'pod', 'web']);
  t.equal(d.code, 0, d.stderr);
  t.match(d.stdout, /Name:\s+web\n/);
  t.match(d.stdout, new RegExp(`Node:\\s+${cluster.agent.nodeName}`));
  t.match(d.stdout, /Status:\s+Running\n/);
  t.match(d.stdout, /IP:\s+10\.214\./);
  t.match(d.stdout, /Containers:\n\s+web:\n/);
  t.match(d.stdout, new RegExp(`Image:\\s+${image.replaceAll('.', '\\.')}`));
  t.match(d.stdout, /State:\s+Running/);
  t.match(d.stdout, /Ready:\s+True/);
  t.match(d.stdout, /Restart Count:\s+0/);
  t.match(d.stdout, /Events:\n[\s\S]*Started/, "the Container's Events are the Pod's");
  const node = await server.kubectl(['describe', 'node', cluster.agent.nodeName]);
  t.match(node.stdout, /Non-terminated Pods:\s+\(1 in total\)/, "describe node lists the node's Pods");
});

t.test('what Kubernetes UIs call: a watch of all Pods, PodMetrics, a followed log, labels, Pod Events', async (t) => {
  const watch = await server.kubectl(['get', '--raw', '/api/v1/pods?watch=1&timeoutSeconds=1']);
  t.equal(watch.code, 0, watch.stderr);
  t.match(JSON.parse(watch.stdout.split('\n')[0] ?? ''), {
    type: 'ADDED',
    object: { kind: 'Pod', metadata: { name: 'web' } },
  });
  const follow = kubectlBackground(server, ['get', '--raw', '/api/v1/namespaces/default/pods/web/log?follow=true']);
  t.teardown(follow.stop);
  t.ok(await eventually(() => follow.output().includes('started'), 10_000), `a followed log: ${follow.output()}`);
  const labelled = await server.kubectl(['get', 'pods', '-o', 'wide', '--show-labels']);
  t.match(labelled.stdout, /\sIP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\s+LABELS\n/);
  t.match(labelled.stdout, new RegExp(`\\nweb\\s.*\\s${cluster.agent.nodeName}\\s+<none>\\s+<none>\\s+run=web\\n`));
  const events = await server.kubectl([
    'get',
    'events',
    '--field-selector',
    'involvedObject.kind=Pod,involvedObject.name=web',
  ]);
  t.equal(events.code, 0, events.stderr);
  t.match(events.stdout, /Normal\s+Started\s+container\/web\s/, "the Pod's Events are its Container's");
  let top = '';
  t.ok(
    await eventually(async () => {
      const r = await server.kubectl(['top', 'pod', 'web', '--no-headers']);
      top = `${r.stdout}${r.stderr}`;
      return /^web\s+\d+m\s+\d+Mi\s*$/m.test(r.stdout);
    }, 20_000),
    `kubectl top pod: ${top}`,
  );
  const metrics = await server.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/pods']);
  t.match(JSON.parse(metrics.stdout), { kind: 'PodMetricsList', items: [{ metadata: { name: 'web' } }] });
});

t.test("kubetail (Debian's kubectl-based log viewer) finds the Pod and follows its log", async (t) => {
  // On a terminal, as a user runs it (off one, its final `tail -f` holds the lines back).
  const child = spawn('script', ['-qec', 'exec kubetail web --since 1h --colored-output false', '/dev/null'], {
    env: { ...process.env, KUBECTL_BIN: kubectlBinary, KUBECONFIG: server.kubeconfig, HOME: server.dir },
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  t.ok(await eventually(() => output.includes('[web] started'), 15_000), output);
  t.match(output, /Will tail 1 logs\.\.\.\r?\n\S*web\S*\r?\n/, 'it lists the Pod with kubectl get pods');
  await server.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo to-kubetail > /proc/1/fd/1']);
  t.ok(await eventually(() => output.includes('[web] to-kubetail'), 10_000), output);
});

t.test('logs --previous: the run before a restart is kept', async (t) => {
  const never = await server.kubectl(['logs', 'web', '--previous']);
  t.not(never.code, 0);
  t.match(never.stderr, /previous terminated container "web" in pod "web" not found/);
  // Fails once, then runs: the emptyDir outlives the restart, as on Kubernetes.
  const crash = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'crash' },
    spec: {
      volumes: [{ name: 'state', emptyDir: {} }],
      containers: [
        {
          name: 'crash',
          image,
          command: [
            'sh',
            '-c',
            'if [ -e /state/ran ]; then echo second; exec sleep 600; fi; touch /state/ran; echo first; exit 1',
          ],
          volumeMounts: [{ name: 'state', mountPath: '/state' }],
        },
      ],
    },
  };
  const made = await request(server, 'POST', '/api/v1/namespaces/default/pods', {
    contentType: 'application/json',
    body: JSON.stringify(crash),
  });
  t.equal(made.status, 201, made.text);
  // Read through the API, not kubectl: each kubectl call costs a process start.
  const log = () => request(server, 'GET', '/api/v1/namespaces/default/pods/crash/log');
  t.ok(
    await eventually(
      async () => (await container('crash'))?.status?.restartCount === 1 && (await log()).text === 'second\n',
      30_000,
    ),
    'restarted once',
  );
  const previous = await server.kubectl(['logs', 'crash', '--previous']);
  t.equal(previous.code, 0, previous.stderr);
  t.equal(previous.stdout, 'first\n', "the first run's log");
  const shown = await request(server, 'GET', '/api/v1/namespaces/default/pods/crash');
  const status = shown.json<{ status: { containerStatuses: { lastState: unknown; restartCount: number }[] } }>().status;
  t.match(
    status.containerStatuses[0],
    { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: /Z$/ } } },
    'lastState: how the first run ended',
  );
  t.equal((await request(server, 'DELETE', '/api/v1/namespaces/default/pods/crash')).status, 200);
});

t.test('RBAC: a Pod is authorized as its Container', async (t) => {
  const role = (name: string, resources: string[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: 'default' },
    rules: [
      {
        apiGroups: resources.some((r) => r.startsWith('containers')) ? ['berth.dev'] : [''],
        resources,
        verbs: ['get', 'list', 'watch'],
      },
    ],
  });
  const binding = (name: string, user: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: 'default' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  const objects = [
    role('container-reader', ['containers', 'containers/log']),
    binding('container-reader', 'alice'),
    role('pod-reader', ['pods', 'pods/log']),
    binding('pod-reader', 'bob'),
  ];
  const applied = await server.kubectl(['apply', '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  t.equal(applied.code, 0, applied.stderr);
  const alice = await server.userKubeconfig('alice');
  const bob = await server.userKubeconfig('bob');
  const as = (kubeconfig: string, args: string[]) => server.kubectl(args, { env: { KUBECONFIG: kubeconfig } });
  t.ok(
    await eventually(
      async () => (await as(alice, ['get', 'pod', 'web', '-o', 'name'])).stdout.trim() === 'pod/web',
      10_000,
    ),
    'who may read the Container may read its Pod',
  );
  t.equal((await as(alice, ['logs', 'web'])).code, 0, "and the Pod's log");
  t.equal((await as(alice, ['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes', 'access reviews agree');
  t.equal((await as(alice, ['auth', 'can-i', 'create', 'pods/exec'])).stdout.trim(), 'no');
  const exec = await as(alice, ['exec', 'web', '--', 'true']);
  t.not(exec.code, 0);
  t.match(exec.stderr, /cannot (get|create) resource "containers\/exec" in API group "berth.dev"/, exec.stderr);
  const denied = await as(bob, ['get', 'pod', 'web']);
  t.not(denied.code, 0, 'a grant on pods alone opens no Container');
  t.match(denied.stderr, /forbidden/);
});

const httpGet = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/index.html' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });

t.test('the SPDY upgrade kubectl falls back to is answered as kubelet answers it', async (t) => {
  const answer = await new Promise<{ status: number; protocol: string | undefined }>((resolve, reject) => {
    const req = httpsRequest(new URL('/api/v1/namespaces/default/pods/web/portforward', server.url), {
      method: 'POST',
      ca: server.caCert,
      headers: {
        Authorization: `Bearer ${server.token}`,
        Connection: 'Upgrade',
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': 'portforward.k8s.io',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      const v = res.headers['x-stream-protocol-version'];
      resolve({ status: res.statusCode ?? 0, protocol: Array.isArray(v) ? v[0] : v });
    });
    req.on('response', (res) => resolve({ status: res.statusCode ?? 0, protocol: undefined }));
    req.on('error', reject);
    req.end();
  });
  t.same(answer, { status: 101, protocol: 'portforward.k8s.io' });
});

for (const [how, env] of [
  ['over a WebSocket tunnel (kubectl 1.32 first)', {}],
  ['over SPDY (the fallback)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
] as const) {
  t.test(`port-forward ${how} reaches the container's port`, async (t) => {
    const port = await freePort();
    const forward = kubectlBackground(server, ['port-forward', 'pod/web', `${port}:80`], env);
    t.teardown(forward.stop);
    t.ok(
      await eventually(() => forward.output().includes(`Forwarding from 127.0.0.1:${port} -> 80`), 10_000),
      forward.output(),
    );
    t.equal(await httpGet(port), 'hello-pod\n', 'a request through the forward');
    t.equal(await httpGet(port), 'hello-pod\n', 'and another connection');
    const curl = await new Promise<string>((resolve) =>
      execFile('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/index.html`], (_e, out, err) =>
        resolve(`${out}${err}`),
      ),
    );
    t.equal(curl, 'hello-pod\n', 'and curl, as the issue has a user check it');
    t.notMatch(forward.output(), /error/i, forward.output());
  });
}

t.test('label and annotate write the Container; a spec change is refused', async (t) => {
  t.equal((await server.kubectl(['label', 'pod', 'web', 'tier=front'])).code, 0);
  t.equal((await server.kubectl(['annotate', 'pod', 'web', 'note=yes'])).code, 0);
  const c = await container('web');
  t.equal(c?.metadata.labels?.['tier'], 'front');
  t.equal(c?.metadata.annotations?.['note'], 'yes');
  const patch = await server.kubectl([
    'patch',
    'pod',
    'web',
    '--type=merge',
    '-p',
    '{"spec":{"restartPolicy":"Never"}}',
  ]);
  t.not(patch.code, 0);
  t.match(patch.stderr, /may not change fields/);
});

t.test('client-node, what Kubernetes UIs are built on, lists Pods typed and keeps an informer of them', async (t) => {
  const kc = server.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listPodForAllNamespaces();
  const web = list.items.find((p) => p.metadata?.name === 'web');
  t.equal(web?.status?.phase, 'Running');
  t.equal(web?.status?.containerStatuses?.[0]?.ready, true);
  t.ok(web?.metadata?.creationTimestamp instanceof Date, 'decoded as a V1Pod');
  const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/default/pods', () =>
    core.listNamespacedPod({ namespace: 'default' }),
  );
  const seen: string[] = [];
  informer.on('update', (p) => seen.push(`${p.metadata?.name ?? ''}:${p.metadata?.labels?.['informed'] ?? ''}`));
  await informer.start();
  t.teardown(() => informer.stop());
  t.ok(
    informer.list().some((p) => p.metadata?.name === 'web'),
    'the informer lists the Pod',
  );
  const rows = kubectlBackground(server, ['get', 'pods', '-w', '--no-headers']);
  t.teardown(rows.stop);
  t.ok(await eventually(() => rows.output().includes('web'), 10_000), 'get -w prints the Pod');
  t.equal((await server.kubectl(['label', 'pod', 'web', 'informed=yes'])).code, 0);
  t.ok(await eventually(() => seen.includes('web:yes'), 10_000), `the informer sees the change: ${seen.join(' ')}`);
  t.ok(
    await eventually(
      () =>
        rows
          .output()
          .split('\n')
          .filter((l) => l.startsWith('web')).length >= 2,
      10_000,
    ),
    rows.output(),
  );
});

t.test('a watch of Pods resumes from a resourceVersion', async (t) => {
  const list = await request(server, 'GET', '/api/v1/namespaces/default/pods');
  const rv = list.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  t.equal((await server.kubectl(['label', 'pod', 'web', 'watched=yes'])).code, 0);
  const watch = await request(
    server,
    'GET',
    `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${rv}&timeoutSeconds=1`,
  );
  const events = watch.text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(
      (l) => JSON.parse(l) as { type: string; object: { kind: string; metadata: { labels?: Record<string, string> } } },
    );
  const modified = events.find((e) => e.type === 'MODIFIED' && e.object.metadata.labels?.['watched'] === 'yes');
  t.equal(modified?.object.kind, 'Pod', 'the event after that version, as a Pod');
});

t.test('a Pod berth cannot honour is refused with a 422 naming the field', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'two' },
    spec: {
      containers: [
        { name: 'a', image },
        { name: 'b', image },
      ],
      initContainers: [{ name: 'i', image }],
    },
  };
  const res = await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  t.not(res.code, 0);
  t.match(res.stderr, /spec\.containers: Forbidden: berth cannot honour more than one container/);
  t.match(res.stderr, /spec\.initContainers/);
  t.equal(await container('two'), undefined, 'no Container made');
});

t.test('eviction and delete remove the Container', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'evicted' },
    spec: { containers: [{ name: 'x', image, command: ['sleep', '600'] }] },
  };
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
  t.ok(await container('evicted'));
  const relabelled = { ...pod, metadata: { ...pod.metadata, labels: { applied: 'again' } } };
  const reapplied = await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(relabelled) });
  t.equal(reapplied.code, 0, `a second apply patches the Pod: ${reapplied.stderr}`);
  t.equal((await container('evicted'))?.metadata.labels?.['applied'], 'again');
  t.equal(await podField('evicted', '{.spec.containers[0].name}'), 'x', 'the container keeps the name it was given');
  const shown = await request(server, 'GET', '/api/v1/namespaces/default/pods/evicted');
  t.notOk(shown.text.includes('berth.dev/pod-container-name'), 'kept on the Container, not shown on the Pod');
  t.equal((await container('evicted'))?.metadata.annotations?.['berth.dev/pod-container-name'], 'x');
  const eviction = await request(server, 'POST', '/api/v1/namespaces/default/pods/evicted/eviction', {
    contentType: 'application/json',
    body: JSON.stringify({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'evicted' },
      deleteOptions: { gracePeriodSeconds: 0 },
    }),
  });
  t.equal(eviction.status, 201, eviction.text);
  t.ok(await eventually(async () => (await container('evicted')) === undefined, 20_000), 'evicted Container gone');
  const del = await server.kubectl(['delete', 'pod', 'web', '--grace-period=1']);
  t.equal(del.code, 0, del.stderr);
  t.match(del.stdout, /pod "web" deleted/);
  t.equal(await container('web'), undefined, 'kubectl waited for the Container to go');
  const again = await server.kubectl(['get', 'pod', 'web']);
  t.match(again.stderr, /pods "web" not found/);
});
