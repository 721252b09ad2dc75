// `berth service …` as docker service's commands, against a real berth (API server, controllers, one node agent with
// crun, busybox from a loopback registry): create waits for convergence and serves through the routing mesh, ls and
// ps in docker's columns, logs merged with docker's prefixes (and -f picking up a replica a scale adds), scale,
// update (rolling, waited for, or -d), rollback, rm; history and rollback by revision. Needs root, crun, conmon.

import t from 'tap';
import type { Container, Service } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { berth, berthBackground } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;
// Runs before the cluster's own teardown (last in, first out): Services left by a failed test would make replicas
// again while it deletes them.
t.teardown(() => server.kubectl(['delete', 'services.berth.dev', '--all', '--wait=true']));
const node = cluster.agent.nodeName;
const port = await freePort();

const getService = async (name: string) =>
  (await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/services/${name}`)).json<Service>();
const replicas = async (name: string) =>
  (
    await request(
      server,
      'GET',
      `/apis/berth.dev/v1alpha1/namespaces/default/containers?labelSelector=berth.dev%2Fservice-name%3D${name}`,
    )
  )
    .json<{ items: Container[] }>()
    .items.filter((c) => c.metadata.deletionTimestamp === undefined);
async function served(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

const httpd = 'echo "$K $(hostname)" > /tmp/index.html; echo "started $K"; exec httpd -f -p 8080 -h /tmp';
const converged = /^web\n(overall progress: \d out of \d tasks\n)+verify: Service web converged\n$/;

t.test(
  'create waits until the replicas run, then the published port serves; ls and ps in docker columns',
  async (t) => {
    const created = await berth(server, [
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '2',
      '-p',
      `${port}:8080`,
      '-e',
      'K=V',
      '--stop-grace-period',
      '1s',
      image,
      'sh',
      '-c',
      httpd,
    ]);
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, converged);
    t.match(created.stdout, /overall progress: 2 out of 2 tasks\n/);
    t.equal((await replicas('web')).length, 2);
    t.ok(await eventually(async () => (await served())?.startsWith('V web-') === true, 20_000), 'the mesh serves it');

    const ls = await berth(server, ['service', 'ls']);
    t.equal(ls.code, 0, ls.stderr);
    const [header, row, ...rest] = ls.stdout.split('\n');
    t.match(header, /^ID {13}NAME {3}MODE {9}REPLICAS {3}IMAGE {3,}PORTS$/);
    t.match(
      row,
      new RegExp(`^[0-9a-f]{12}   web    replicated   2/2 {8}${image.replace(/\./g, '\\.')}   \\*:${port}->8080/tcp$`),
    );
    t.same(rest, ['']);
    t.equal((await berth(server, ['service', 'ls', '-q'])).stdout.length, 13, '-q: the id alone');
    t.equal((await berth(server, ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}'])).stdout, 'web 2/2\n');

    const ps = await berth(server, ['service', 'ps', 'web']);
    t.equal(ps.code, 0, ps.stderr);
    const lines = ps.stdout.trimEnd().split('\n');
    t.match(lines[0], /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS$/);
    t.equal(lines.length, 3);
    for (const [i, line] of lines.slice(1).entries())
      t.match(line, new RegExp(`^[0-9a-f]{12}   web\\.${i + 1}   \\S+   ${node}   Running {9}Running .+ ago$`));
  },
);

t.test('logs: every replica, merged, behind docker prefixes; -f follows a replica a scale adds', async (t) => {
  const prefix = `web\\.[12]\\.[0-9a-f]{12}@${node} +\\| `;
  const logs = await berth(server, ['service', 'logs', 'web']);
  t.equal(logs.code, 0, logs.stderr);
  t.match(logs.stdout, new RegExp(`^${prefix}started V\n${prefix}started V\n$`));
  t.not(logs.stdout.split('\n')[0]?.split(' ')[0], logs.stdout.split('\n')[1]?.split(' ')[0], 'two replicas');
  t.match((await berth(server, ['service', 'logs', '--raw', 'web'])).stdout, /^started V\nstarted V\n$/);
  t.match(
    (await berth(server, ['service', 'logs', '--no-task-ids', 'web'])).stdout,
    /^(web\.[12]@\S+ +\| started V\n){2}$/,
  );

  const follow = berthBackground(server, ['service', 'logs', '-f', 'web']);
  t.ok(await eventually(async () => follow.output().split('\n').length === 3, 20_000), 'both replicas followed');
  const scaled = await berth(server, ['service', 'scale', 'web=3']);
  t.equal(scaled.code, 0, scaled.stderr);
  t.match(scaled.stdout, /^web scaled to 3\noverall progress: .*verify: Service web converged\n$/s);
  t.equal((await getService('web')).spec.replicas, 3);
  t.ok(
    await eventually(async () => /web\.3\.[0-9a-f]{12}@\S+ +\| started V\n/.test(follow.output()), 20_000),
    `the new replica's lines join the follow: ${follow.output()}`,
  );
  const stopped = await follow.stop();
  t.equal(stopped.code, 0, stopped.stderr);

  const bad = await berth(server, ['service', 'scale', 'web']);
  t.equal(bad.code, 125);
  t.match(bad.stderr, /invalid scale specifier 'web'/);
  const detached = await berth(server, ['service', 'scale', '-d', 'web=2']);
  t.equal(detached.stdout, 'web scaled to 2\n', '-d: no waiting');
});

t.test('a replica that is removed is replaced in its slot, and the other keeps its number', async (t) => {
  // The scale -d above: wait until two are left (web.1 and web.2, the newest going first).
  t.ok(await eventually(async () => (await replicas('web')).length === 2, 30_000));
  const tasks = async () =>
    new Map(
      (await berth(server, ['service', 'ps', '--filter', 'desired-state=running', 'web'])).stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/ {3,}/))
        .map(([id, name]) => [name ?? '', id ?? '']),
    );
  const before = await tasks();
  t.same([...before.keys()].sort(), ['web.1', 'web.2']);
  const first = (await replicas('web')).find((c) =>
    c.metadata.uid?.replace(/-/g, '').startsWith(before.get('web.1') ?? '-'),
  );
  t.ok(first, 'web.1 is one of the replicas');
  t.equal((await server.kubectl(['delete', 'container', first?.metadata.name ?? '', '--wait=false'])).code, 0);
  let after = new Map<string, string>();
  t.ok(
    await eventually(async () => {
      after = await tasks();
      return after.size === 2 && after.has('web.1') && after.get('web.1') !== before.get('web.1');
    }, 30_000),
    `a new task in slot 1: ${JSON.stringify([...after])}`,
  );
  t.equal(after.get('web.2'), before.get('web.2'), 'web.2 is the same task (by age it would now be web.1)');
});

t.test('update rolls the replicas and waits; rollback puts the old template back; -d returns at once', async (t) => {
  const updated = await berth(server, [
    'service',
    'update',
    '--env-add',
    'K=W',
    '--replicas',
    '2',
    '--update-parallelism',
    '2',
    'web',
  ]);
  t.equal(updated.code, 0, updated.stderr);
  t.match(updated.stdout, converged);
  const after = await replicas('web');
  t.equal(after.length, 2);
  for (const c of after) t.same(c.spec.env, [{ name: 'K', value: 'W' }], `${c.metadata.name} runs the new template`);
  t.ok(await eventually(async () => (await served())?.startsWith('W ') === true, 20_000), 'and serves it');

  const back = await berth(server, ['service', 'rollback', 'web']);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /rollback: manually requested rollback\n.*verify: Service web converged\n$/s);
  t.same((await getService('web')).spec.template.spec.env, [{ name: 'K', value: 'V' }]);
  for (const c of await replicas('web')) t.same(c.spec.env, [{ name: 'K', value: 'V' }]);

  const quick = await berth(server, ['service', 'update', '-d', '--label-add', 'tier=front', 'web']);
  t.equal(quick.stdout, 'web\n');
  t.equal((await getService('web')).metadata.labels?.['tier'], 'front');
});

t.test('rm removes the Service and its replicas; a missing one says so', async (t) => {
  const rm = await berth(server, ['service', 'rm', 'web']);
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, 'web\n');
  t.ok(await eventually(async () => (await replicas('web')).length === 0, 30_000), 'replicas collected');
  const missing = await berth(server, ['service', 'ps', 'web']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /services.berth.dev "web" not found/);
});

// History and rollback by revision number (with -d: the revisions and the template are what is checked).
const svc = (v: string) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'hist', namespace: 'default' },
  spec: {
    // No replicas: the revisions are recorded all the same, and no container start is waited for.
    replicas: 0,
    selector: { matchLabels: { app: 'hist' } },
    template: {
      metadata: { labels: { app: 'hist' } },
      spec: { image, args: ['sleep', '600'], terminationGracePeriodSeconds: 0, env: [{ name: 'V', value: v }] },
    },
  },
});
const get = () => getService('hist');
// The revision recorded and the status written for it (updateRevision is read next).
const revisionIs = (n: string) =>
  eventually(async () => {
    const s = await get();
    return (
      s.metadata.annotations?.['berth.dev/revision'] === n && s.status?.observedGeneration === s.metadata.generation
    );
  }, 30_000);

t.test('history, rollback to the previous revision, then to a named one', async (t) => {
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc('1')) })).code, 0);
  t.ok(await revisionIs('1'));
  const hash1 = (await get()).status?.updateRevision;
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc('2')) })).code, 0);
  t.ok(await revisionIs('2'));
  const history = await berth(server, ['service', 'history', 'hist']);
  t.equal(history.code, 0, history.stderr);
  const lines = history.stdout.trim().split('\n');
  t.match(lines[0], /^REVISION\tTEMPLATE-HASH\tCREATED\tCURRENT$/);
  t.match(lines[1], new RegExp(`^1\t${hash1}\t\\S+\t$`));
  t.match(lines[2], /^2\t\S+\t\S+\t\*$/);

  const back = await berth(server, ['service', 'rollback', '-d', 'hist']);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /rollback to the previous revision requested/);
  t.ok(await revisionIs('3'), 'the old template is the newest revision again');
  const after = await get();
  t.same(after.spec.template.spec.env, [{ name: 'V', value: '1' }]);
  t.equal(after.status?.updateRevision, hash1);
  t.match((await berth(server, ['service', 'history', 'hist'])).stdout, /\n2\t\S+\t\S+\t\n3\t\S+\t\S+\t\*\n?$/);

  t.equal((await berth(server, ['service', 'rollback', '-d', 'hist', '--to-revision', '2'])).code, 0);
  t.ok(await revisionIs('4'));
  t.same((await get()).spec.template.spec.env, [{ name: 'V', value: '2' }]);
  const refused = await berth(server, ['service', 'rollback', 'hist', '--to-revision', '9']);
  t.equal(refused.code, 1, 'a rollback the controller refuses fails with its reason');
  t.match(refused.stderr, /revision 9 not found/);
});

t.test('bad input: a revision that is not a number, a Service that does not exist', async (t) => {
  const bad = await berth(server, ['service', 'rollback', 'hist', '--to-revision', 'last']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--to-revision: "last" must be a revision number/);
  const missing = await berth(server, ['service', 'history', 'nosuch']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /services.berth.dev "nosuch" not found/);
});

t.test('rm of several: each named as it goes', async (t) => {
  const rm = await berth(server, ['service', 'rm', 'hist', 'nosuch']);
  t.equal(rm.code, 1);
  t.equal(rm.stdout, 'hist\n');
  t.match(rm.stderr, /"nosuch" not found/);
});
