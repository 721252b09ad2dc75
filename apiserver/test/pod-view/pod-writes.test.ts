// The Pod writes kubectl and schedulers send, against the API server alone (no node agent, so nothing binds a
// Pod before the test does): server-side apply, the three kubectl patch types, pods/binding, pods/status and the
// ephemeral containers `kubectl debug` asks for. Each reaches the Container the Pod is.

import t from 'tap';
import type { Container } from '@berth/api';
import { request, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: false });
t.teardown(() => server.close());

const image = '127.0.0.1:5000/library/busybox:latest';
const container = async (name: string): Promise<Container | undefined> => {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
};
const pod = (labels: Record<string, string>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'applied', labels },
    spec: {
      // Kubernetes' defaults, as a manifest written for a real cluster may say them.
      securityContext: {},
      dnsPolicy: 'ClusterFirst',
      containers: [{ name: 'main', image, command: ['sleep', '600'], ports: [{ containerPort: 80 }], ...extra }],
    },
  });
const json = (body: unknown) => ({ contentType: 'application/json', body: JSON.stringify(body) });

t.test('kubectl apply --server-side creates the Container, then changes its labels and image', async (t) => {
  const first = await server.kubectl(['apply', '--server-side', '-f', '-'], { input: pod({ tier: 'a' }) });
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stdout.trim(), 'pod/applied serverside-applied');
  const made = await container('applied');
  t.same(made?.spec.command, ['sleep', '600'], 'the Container is made');
  t.equal(made?.metadata.labels?.['tier'], 'a');
  const again = await server.kubectl(['apply', '--server-side', '-f', '-'], {
    input: pod({ tier: 'b' }, { image: `${image}-2` }),
  });
  t.equal(again.code, 0, again.stderr);
  t.equal(again.stdout.trim(), 'pod/applied serverside-applied');
  t.equal((await container('applied'))?.metadata.labels?.['tier'], 'b');
  t.equal((await container('applied'))?.spec.image, `${image}-2`, 'the image may change, as on Kubernetes');
  const spec = await server.kubectl(['apply', '--server-side', '-f', '-'], {
    input: pod({ tier: 'b' }, { command: ['sleep', '1'] }),
  });
  t.not(spec.code, 0);
  t.match(spec.stderr, /pod updates may not change fields other than `spec\.containers\[\*\]\.image`/);
  const noManager = await request(server, 'PATCH', '/api/v1/namespaces/default/pods/applied', {
    contentType: 'application/apply-patch+yaml',
    body: pod({}),
  });
  t.equal(noManager.status, 422, 'an apply names its field manager');
  t.match(noManager.text, /fieldManager: Required value/);
  const clientSide = await server.kubectl(['apply', '-f', '-'], { input: pod({ tier: 'c' }, { image: `${image}-2` }) });
  t.equal(clientSide.code, 0, `client-side apply of the same manifest: ${clientSide.stderr}`);
  t.equal((await container('applied'))?.metadata.labels?.['tier'], 'c');
});

t.test('kubectl patch of a Pod: strategic merge, merge and JSON patch', async (t) => {
  const patch = (type: string, body: string) =>
    server.kubectl(['patch', 'pod', 'applied', `--type=${type}`, '-p', body]);
  const strategic = await patch('strategic', '{"metadata":{"labels":{"s":"1"}}}');
  t.equal(strategic.code, 0, strategic.stderr);
  t.equal(strategic.stdout.trim(), 'pod/applied patched');
  t.equal((await patch('merge', '{"metadata":{"labels":{"m":"1"}}}')).code, 0);
  const jsonPatch = await patch('json', '[{"op":"add","path":"/metadata/labels/j","value":"1"}]');
  t.equal(jsonPatch.code, 0, jsonPatch.stderr);
  t.match((await container('applied'))?.metadata.labels, { s: '1', m: '1', j: '1' });
  const containers = await patch('strategic', `{"spec":{"containers":[{"name":"main","image":"${image}-3"}]}}`);
  t.equal(containers.code, 0, `a strategic patch merges the container by name: ${containers.stderr}`);
  t.equal((await container('applied'))?.spec.image, `${image}-3`);
});

t.test('pods/binding binds the pending Pod once, as kube-scheduler binds', async (t) => {
  const pending = await server.kubectl(['get', 'pod', 'applied', '-o', 'jsonpath={.status.phase}']);
  t.equal(pending.stdout, 'Pending', 'unbound: Pending');
  const binding = (node: string) =>
    request(
      server,
      'POST',
      '/api/v1/namespaces/default/pods/applied/binding',
      json({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'applied' }, target: { kind: 'Node', name: node } }),
    );
  const bound = await binding('n1');
  t.equal(bound.status, 201, bound.text);
  t.equal((await container('applied'))?.spec.nodeName, 'n1', 'the Container is bound');
  const wide = await server.kubectl(['get', 'pod', 'applied', '-o', 'wide', '--no-headers']);
  t.match(wide.stdout, /^applied\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+n1\s+/);
  const twice = await binding('n2');
  t.equal(twice.status, 409);
  t.equal(
    twice.json<{ message: string }>().message,
    'Operation cannot be fulfilled on pods "applied": pod applied is already assigned to node "n1"',
  );
  const discovery = await request(server, 'GET', '/api/v1');
  const pods = discovery.json<{ resources: { name: string; verbs: string[] }[] }>().resources;
  t.same(pods.find((r) => r.name === 'pods/binding')?.verbs, ['create'], 'discovery lists pods/binding');
});

t.test('pods/status: get, patch and update through the view', async (t) => {
  const got = await request(server, 'GET', '/api/v1/namespaces/default/pods/applied/status');
  t.equal(got.status, 200);
  t.equal(got.json<{ kind: string }>().kind, 'Pod');
  const gate = await server.kubectl([
    'patch',
    'pod',
    'applied',
    '--subresource=status',
    '-p',
    '{"status":{"conditions":[{"type":"example.com/gate","status":"True","reason":"Checked"}]}}',
  ]);
  t.equal(gate.code, 0, gate.stderr);
  const types = await server.kubectl(['get', 'pod', 'applied', '-o', 'jsonpath={.status.conditions[*].type}']);
  t.equal(types.stdout, 'PodScheduled Initialized ContainersReady Ready example.com/gate', 'merged by type');
  const kept = (await container('applied'))?.status?.conditions?.find((c) => c.type === 'example.com/gate');
  t.match(kept, { status: 'True', reason: 'Checked' }, "kept on the Container's status");
  const stale = await request(server, 'PUT', '/api/v1/namespaces/default/pods/applied/status', json(got.json()));
  t.equal(stale.status, 409, 'a PUT of an older read is a conflict');
  t.match(stale.json<{ message: string }>().message, /^Operation cannot be fulfilled on pods "applied": the object/);
  const read = await request(server, 'GET', '/api/v1/namespaces/default/pods/applied/status');
  const current = read.json<{ status: { conditions: { type: string; status: string }[] } }>();
  const put = await request(
    server,
    'PUT',
    '/api/v1/namespaces/default/pods/applied/status',
    json({ ...current, status: { ...current.status, conditions: [{ type: 'example.com/gate', status: 'False' }] } }),
  );
  t.equal(put.status, 200, put.text);
  t.equal(
    (await container('applied'))?.status?.conditions?.find((c) => c.type === 'example.com/gate')?.status,
    'False',
  );
  const phase = await server.kubectl([
    'patch',
    'pod',
    'applied',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Failed"}}',
  ]);
  t.not(phase.code, 0);
  t.match(phase.stderr, /status\.phase: Forbidden: berth: the node agent writes it from the Container/);
});

t.test('kubectl debug asks for an ephemeral container: a 422 saying berth cannot honour it', async (t) => {
  const debug = await server.kubectl(['debug', 'applied', `--image=${image}`]);
  t.not(debug.code, 0);
  t.match(
    debug.stderr,
    /Pod "applied" is invalid: spec\.ephemeralContainers: Forbidden: berth cannot honour ephemeral containers/,
    debug.stderr,
  );
  t.notOk((await container('applied'))?.spec.command?.includes('debugger'), 'the Container is unchanged');
});

t.test('server-side apply of a Pod keeps field ownership: pruning, conflicts, --force-conflicts', async (t) => {
  const manifest = (labels: Record<string, string>, annotations: Record<string, string> = {}, tag = '') =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'owned', labels, annotations },
      spec: { containers: [{ name: 'web', image: `${image}${tag}`, command: ['sleep', '600'] }] },
    });
  const ssa = (input: string, ...flags: string[]) =>
    server.kubectl(['apply', '--server-side', ...flags, '-f', '-'], { input });
  const labels = async () =>
    JSON.parse((await server.kubectl(['get', 'pod', 'owned', '-o', 'jsonpath={.metadata.labels}'])).stdout);
  t.equal((await ssa(manifest({ a: '1', b: '1' }, { note: 'x' }))).code, 0);
  const dropped = await ssa(manifest({ a: '1' }));
  t.equal(dropped.code, 0, dropped.stderr);
  t.same(await labels(), { a: '1' }, 'a label the manager stops applying is removed');
  t.notOk((await container('owned'))?.metadata.annotations?.['note'], 'so is an annotation, from the Container');
  const rv = (await container('owned'))?.metadata.resourceVersion;
  t.equal((await ssa(manifest({ a: '1' }))).code, 0);
  t.equal((await container('owned'))?.metadata.resourceVersion, rv, 'the same apply again writes nothing');

  const shown = await server.kubectl(['get', 'pod', 'owned', '-o', 'json', '--show-managed-fields']);
  const entries = JSON.parse(shown.stdout).metadata.managedFields as Record<string, unknown>[];
  t.match(
    entries.find((e) => e['manager'] === 'kubectl'),
    {
      operation: 'Apply',
      apiVersion: 'v1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:a': {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:command': {} } } },
      },
    },
    "the Pod shows the Container's managedFields in a Pod's paths",
  );
  t.match(
    (await container('owned'))?.metadata.managedFields?.find((e) => e.manager === 'kubectl'),
    { apiVersion: 'berth.dev/v1alpha1', fieldsV1: { 'f:spec': { 'f:image': {}, 'f:command': {} } } },
    'the Container keeps them in its own',
  );

  t.equal((await server.kubectl(['label', 'pod', 'owned', 'a=2', '--overwrite'])).code, 0);
  const conflict = await ssa(manifest({ a: '1' }));
  t.not(conflict.code, 0, 'a field another manager set is a conflict');
  t.match(
    conflict.stderr,
    /Apply failed with 1 conflict: conflict with "kubectl-label" using v1: \.metadata\.labels\.a/,
  );
  t.same(await labels(), { a: '2' }, 'and the apply changed nothing');
  const image2 = await server.kubectl(['set', 'image', 'pod/owned', `web=${image}-2`]);
  t.equal(image2.code, 0, image2.stderr);
  const both = await ssa(manifest({ a: '1' }));
  t.match(
    both.stderr,
    /Apply failed with 2 conflicts: conflicts with "kubectl-label" using v1:\n- \.metadata\.labels\.a/,
  );
  t.match(both.stderr, /conflicts with "kubectl-set" using v1:\n- \.spec\.containers\[name="web"\]\.image/);
  const forced = await ssa(manifest({ a: '1' }), '--force-conflicts');
  t.equal(forced.code, 0, forced.stderr);
  t.same(await labels(), { a: '1' }, '--force-conflicts takes the fields');
  t.equal((await container('owned'))?.spec.image, image);
  const managers = (await container('owned'))?.metadata.managedFields?.map((e) => e.manager);
  t.notOk(managers?.includes('kubectl-label'), 'the label is no longer kubectl-label’s');

  // The same ownership seen from the Container: its own apply of the image conflicts with the Pod's applier.
  const apply = (manager: string, spec: Record<string, unknown>) =>
    request(server, 'PATCH', `/apis/berth.dev/v1alpha1/namespaces/default/containers/owned?fieldManager=${manager}`, {
      contentType: 'application/apply-patch+yaml',
      body: JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Container', metadata: { name: 'owned' }, spec }),
    });
  const containerApply = await apply('other', { image: `${image}-3` });
  t.equal(containerApply.status, 409);
  t.match(containerApply.json<{ message: string }>().message, /conflict with "kubectl": \.spec\.image/);
  t.equal((await apply('other', { autoRemove: false })).status, 200, 'a field the Pod does not have');
  t.equal((await ssa(manifest({ a: '1', c: '1' }))).code, 0);
  t.match(
    (await container('owned'))?.metadata.managedFields?.find((e) => e.manager === 'other'),
    { fieldsV1: { 'f:spec': { 'f:autoRemove': {} } } },
    "stays its manager's through Pod applies",
  );
  const reset = await server.kubectl([
    'patch',
    'pod',
    'owned',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]',
  ]);
  t.equal(reset.code, 0, reset.stderr);
  t.same((await container('owned'))?.metadata.managedFields, undefined, '[{}] clears managedFields, as Kubernetes');
  const refused = await ssa(manifest({ a: '1' }, {}, '-4'), '--dry-run=server', '--force-conflicts');
  t.equal(refused.code, 0, refused.stderr);
  t.equal((await container('owned'))?.spec.image, image, 'a dry run changes nothing');
});

t.test(
  "a status merge patch pinned to an older resourceVersion is a 409 (the node agent's precondition)",
  async (t) => {
    const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers/applied/status';
    const before = (await container('applied'))?.metadata.resourceVersion ?? '';
    t.equal((await server.kubectl(['label', 'pod', 'applied', 'moved=on'])).code, 0);
    const patch = (resourceVersion: string) =>
      request(server, 'PATCH', path, {
        contentType: 'application/merge-patch+json',
        body: JSON.stringify({ metadata: { resourceVersion }, status: { conditions: [] } }),
      });
    const stale = await patch(before);
    t.equal(stale.status, 409, stale.text);
    const read = await request(server, 'PATCH', '/apis/berth.dev/v1alpha1/namespaces/default/containers/applied', {
      contentType: 'application/json-patch+json',
      body: '[]',
    });
    const now = (await container('applied'))?.metadata.resourceVersion;
    t.equal(
      read.json<Container>().metadata.resourceVersion,
      now,
      'a JSON patch of no operations (the re-read) writes nothing',
    );
    const kept = (await container('applied'))?.status?.conditions?.map((c) => c.type);
    t.ok(kept?.includes('example.com/gate'), "the client's condition is still there");
    const fresh = await patch((await container('applied'))?.metadata.resourceVersion ?? '');
    t.equal(fresh.status, 200, 'pinned to the current one it is written');
  },
);

t.test('from client-side to server-side apply of a Pod: the migration, then an image change', async (t) => {
  const manifest = (tier: string, tag = '') =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'migrated', labels: { tier } },
      spec: { containers: [{ name: 'main', image: `${image}${tag}`, command: ['sleep', '600'] }] },
    });
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: manifest('a') })).code, 0);
  // kubectl moves the client-side apply's fields (restartPolicy, defaulted at create, among them) to its apply.
  const moved = await server.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest('b') });
  t.equal(moved.code, 0, moved.stderr);
  t.equal(moved.stderr, '', 'the migration re-applies without a warning');
  const diff = await server.kubectl(['diff', '--server-side', '-f', '-'], { input: manifest('b', '-2') });
  t.equal(diff.code, 1, `kubectl diff shows the change: ${diff.stderr}`);
  t.match(diff.stdout, /\+ {4}image: \S+busybox:latest-2\n/);
  const image2 = await server.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest('b', '-2') });
  t.equal(image2.code, 0, `a field it stops applying that has a default is no change: ${image2.stderr}`);
  t.equal((await container('migrated'))?.spec.image, `${image}-2`);
  t.equal((await container('migrated'))?.spec.restartPolicy, 'Always');
});

t.test('server-side apply of pods/status: a manager applies its own conditions, and drops them', async (t) => {
  const conditions = (...c: { type: string; status: string }[]) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'migrated' }, status: { conditions: c } });
  const applyStatus = (manager: string, input: string, ...flags: string[]) =>
    server.kubectl(
      ['apply', '--server-side', '--subresource=status', `--field-manager=${manager}`, ...flags, '-f', '-'],
      { input },
    );
  const types = async () =>
    (await server.kubectl(['get', 'pod', 'migrated', '-o', 'jsonpath={.status.conditions[*].type}'])).stdout;
  const gate = { type: 'example.com/gate', status: 'True' };
  const other = { type: 'example.com/other', status: 'False' };
  const first = await applyStatus('gates', conditions(gate, other));
  t.equal(first.code, 0, first.stderr);
  t.match(await types(), /PodScheduled .*example\.com\/gate example\.com\/other$/);
  t.equal((await applyStatus('gates', conditions(gate))).code, 0);
  t.match(await types(), /example\.com\/gate$/, 'a condition the manager stops applying is removed');
  const clash = await applyStatus('checker', conditions({ type: 'example.com/gate', status: 'False' }));
  t.not(clash.code, 0);
  t.match(
    clash.stderr,
    /conflict with "gates" with subresource "status": \.status\.conditions\[type="example\.com\/gate"\]\.status/,
  );
  const forced = await applyStatus('checker', conditions({ ...gate, status: 'False' }), '--force-conflicts');
  t.equal(forced.code, 0, forced.stderr);
  t.equal(
    (await container('migrated'))?.status?.conditions?.find((c) => c.type === 'example.com/gate')?.status,
    'False',
    "on the Container's status",
  );
  const phase = await server.kubectl(['apply', '--server-side', '--subresource=status', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'migrated' },
      status: { phase: 'Failed' },
    }),
  });
  t.match(phase.stderr, /status\.phase: Forbidden: berth: the node agent writes it/, "the agent's fields stay its own");
});

t.test("the Container's own /status apply keeps its manager's entry, as the Pod's does", async (t) => {
  const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers/migrated/status?fieldManager=marker';
  const body = (status: string) =>
    JSON.stringify({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'migrated' },
      status: { conditions: [{ type: 'example.com/mark', status, lastTransitionTime: '2026-12-01T00:00:00Z' }] },
    });
  const applied = await request(server, 'PATCH', path, {
    contentType: 'application/apply-patch+yaml',
    body: body('True'),
  });
  t.equal(applied.status, 200, applied.text);
  t.match(
    (await container('migrated'))?.metadata.managedFields?.find((e) => e.manager === 'marker'),
    { operation: 'Apply', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {} } } },
    'stored after the status strategy',
  );
  const other = await request(server, 'PATCH', path.replace('marker', 'another'), {
    contentType: 'application/apply-patch+yaml',
    body: body('False'),
  });
  t.equal(other.status, 409, 'so another manager conflicts with it');
});
