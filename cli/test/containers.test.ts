// `berth ps`, `stop`, `start`, `rm`, `inspect` against a real berth (API server, controllers, node agent with crun,
// busybox from a loopback registry): docker's columns and wording over Container objects. Needs root, crun, conmon.

import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

async function getContainer(name: string): Promise<Container | undefined> {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
}

const loop = 'trap "echo got TERM; exit 0" TERM; echo started; while true; do sleep 0.1; done';
const up = await berth(server, [
  'run',
  '-d',
  '--name',
  'loop',
  '-p',
  '127.0.0.1:18089:80/udp',
  image,
  'sh',
  '-c',
  loop,
]);
const done = await berth(server, ['run', '--name', 'done', image, 'true']);

t.test('ps: running Containers in docker ps columns; -a adds stopped ones; -q and --format', async (t) => {
  t.equal(up.code, 0, up.stderr);
  t.equal(done.code, 0, done.stderr);
  const ps = await berth(server, ['ps']);
  t.equal(ps.code, 0, ps.stderr);
  const [header, ...rows] = ps.stdout.trimEnd().split('\n');
  t.match(header, /^CONTAINER ID {3}IMAGE {2,}COMMAND {2,}CREATED {2,}STATUS {2,}PORTS {2,}NAMES$/);
  t.equal(rows.length, 1, `only the running one: ${ps.stdout}`);
  t.match(
    rows[0],
    /^[0-9a-f]{12} {3}\S+busybox:latest {3}"sh -c trap \\"echo go…" {2,}\d+ seconds? ago {2,}Up \d+ seconds? {2,}127\.0\.0\.1:18089->80\/udp {3}loop$/,
  );
  // Columns line up under their headers.
  t.equal(rows[0]!.indexOf('Up '), header!.indexOf('STATUS'));
  const all = await berth(server, ['ps', '-a']);
  t.match(all.stdout, /Exited \(0\) \d+ seconds? ago .* done\n/);
  const ids = await berth(server, ['ps', '-aq']);
  t.match(ids.stdout, /^[0-9a-f]{12}\n[0-9a-f]{12}\n$/);
  const names = await berth(server, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  t.equal(names.stdout.split('\n').sort().join('\n'), '\ndone exited\nloop running');
  const table = await berth(server, ['ps', '--format', 'table {{.Names}}\\t{{.Image}}']);
  t.match(table.stdout, new RegExp(`^NAMES {3}IMAGE\nloop {4}${image.replace(/[.]/g, '\\.')}\n$`));
  const json = await berth(server, ['ps', '--format', 'json']);
  t.match(JSON.parse(json.stdout), { Names: 'loop', State: 'running', Ports: '127.0.0.1:18089->80/udp' });
  const bad = await berth(server, ['ps', '--format', '{{.Nope}}']);
  t.equal(bad.code, 125);
  t.match(bad.stderr, /^berth: template: can't evaluate field Nope/);
  // docker's -n (--last): the n last created in any state; the namespace is then --namespace only.
  const last = await berth(server, [
    'ps',
    '-n',
    '1',
    '--namespace',
    'default',
    '-f',
    'name=done',
    '--format',
    '{{.Names}}',
  ]);
  t.equal(last.stdout, 'done\n', `ps -n counts stopped ones without -a: ${last.stderr}`);
  const two = await berth(server, ['ps', '-n', '2', '--format', '{{.Names}}']);
  t.equal(two.stdout.split('\n').sort().join(' '), ' done loop');
  t.match((await berth(server, ['ps', '-n', '1', '-q'])).stdout, /^[0-9a-f]{12}\n$/, 'one, the last created');
});

t.test('stop -t keeps the Container, stopped; start runs it again; an id works as a name', async (t) => {
  const stop = await berth(server, ['stop', '-t', '20', 'loop']);
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, 'loop\n');
  const stopped = await getContainer('loop');
  t.match(
    stopped,
    { spec: { stopped: true, terminationGracePeriodSeconds: 20 }, status: { phase: 'Succeeded', exitCode: 0 } },
    'SIGTERM reached its trap',
  );
  const logs = await berth(server, ['logs', 'loop']);
  t.match(logs.stdout, /started\ngot TERM\n/);
  t.notMatch((await berth(server, ['ps'])).stdout, /loop/, 'not running');
  t.match((await berth(server, ['ps', '-a'])).stdout, /Exited \(0\) .* loop\n/);

  const id = (stopped?.metadata.uid ?? '').replace(/-/g, '').slice(0, 12);
  const start = await berth(server, ['start', id]);
  t.equal(start.code, 0, start.stderr);
  t.equal(start.stdout, `${id}\n`);
  const again = await getContainer('loop');
  t.match(again, { status: { phase: 'Running' } });
  t.equal(again?.spec.stopped, undefined, 'start cleared stopped');
  t.equal(again?.metadata.uid, stopped?.metadata.uid, 'the same Container');

  const doneStart = await berth(server, ['start', '-a', 'done']);
  t.equal(doneStart.code, 0, `a container that exited on its own starts again: ${doneStart.stderr}`);
  t.ok(
    await eventually(
      async () =>
        (await getContainer('done'))?.status?.observedGeneration === (await getContainer('done'))?.metadata.generation,
    ),
    'and settles',
  );
});

t.test('inspect: the API objects as a JSON array; --format paths into them', async (t) => {
  const all = await berth(server, ['inspect', 'loop', 'done']);
  t.equal(all.code, 0, all.stderr);
  const objects = JSON.parse(all.stdout) as Container[];
  t.same(
    objects.map((o) => [o.kind, o.metadata.name]),
    [
      ['Container', 'loop'],
      ['Container', 'done'],
    ],
  );
  const phase = await berth(server, ['inspect', '-f', '{{.status.phase}} {{json .spec.ports}}', 'loop']);
  const [phaseText, portsJson] = phase.stdout.split(' ');
  t.equal(phaseText, 'Running');
  t.same(JSON.parse(portsJson ?? ''), [{ containerPort: 80, hostPort: 18089, hostIP: '127.0.0.1', protocol: 'UDP' }]);
  const missing = await berth(server, ['inspect', 'nope']);
  t.equal(missing.code, 1);
  t.equal(missing.stdout, '[]\n');
  t.equal(missing.stderr, 'berth: No such object: nope\n');
});

t.test('rm: refuses a running Container without -f; removes and waits until it is gone', async (t) => {
  const refused = await berth(server, ['rm', 'loop']);
  t.equal(refused.code, 1);
  t.match(
    refused.stderr,
    /^berth: cannot remove container "loop": container is running: stop the container before removing or force remove\n$/,
  );
  const rm = await berth(server, ['rm', 'done']);
  t.equal(rm.code, 0, rm.stderr);
  t.equal(await getContainer('done'), undefined);
  const force = await berth(server, ['rm', '-f', 'loop']);
  t.equal(force.code, 0, force.stderr);
  t.equal(force.stdout, 'loop\n');
  t.equal(await getContainer('loop'), undefined, 'gone once berth rm returns');
  const none = await berth(server, ['rm', 'loop']);
  t.equal(none.code, 1);
  t.equal(none.stderr, 'berth: No such container: loop\n');
});
