// docker's container commands beyond run/ps/stop/start/rm, against a real berth (API server, controllers, node
// agent with crun, busybox from a loopback registry): run -d --rm, ps --filter, port, kill [-s], wait, restart
// (the writable layer kept), rename, attach, cp both ways. Needs root, crun, conmon.

import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

async function getContainer(name: string): Promise<Container | undefined> {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
}

const hostPort = await freePort();
const loop = 'trap "echo got HUP" HUP; echo started; while true; do sleep 0.1; done';
const web = await berth(server, [
  'run',
  '-d',
  '--name',
  'web',
  '-l',
  'app=web',
  '-p',
  `127.0.0.1:${hostPort}:80`,
  image,
  'sh',
  '-c',
  loop,
]);

t.test('run -d --rm: the Container is removed once it exits', async (t) => {
  const run = await berth(server, ['run', '-d', '--rm', '--name', 'brief', image, 'sh', '-c', 'exit 3']);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, 'brief\n');
  t.ok(await eventually(async () => (await getContainer('brief')) === undefined, 30_000), 'removed after it exited');
});

t.test('ps --filter: name, label, ancestor, id and status as docker filters', async (t) => {
  t.equal(web.code, 0, web.stderr);
  const done = await berth(server, ['run', '--name', 'done', image, 'true']);
  t.equal(done.code, 0, done.stderr);
  const names = async (...filters: string[]) =>
    (await berth(server, ['ps', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])])).stdout;
  t.equal(await names('name=we'), 'web\n', 'a name matches as a substring');
  t.equal(await names('label=app=web'), 'web\n');
  t.equal(await names('label=app=db'), '');
  t.equal(await names('ancestor=busybox'), 'web\n', 'the image without registry and tag');
  t.equal(await names('status=exited'), 'done\n', 'a status filter reaches stopped ones without -a');
  t.equal(await names('status=exited', 'status=running', 'name=^d'), 'done\n', 'keys AND, values OR');
  const id = ((await getContainer('web'))?.metadata.uid ?? '').replace(/-/g, '').slice(0, 6);
  t.equal(await names(`id=${id}`), 'web\n');
  const bad = await berth(server, ['ps', '--filter', 'colour=red']);
  t.equal(bad.code, 125);
  t.match(bad.stderr, /^berth: invalid filter 'colour'/);
});

t.test('port: the published ports, or the host side of one', async (t) => {
  t.equal((await berth(server, ['port', 'web'])).stdout, `80/tcp -> 127.0.0.1:${hostPort}\n`);
  t.equal((await berth(server, ['port', 'web', '80/tcp'])).stdout, `127.0.0.1:${hostPort}\n`);
  const none = await berth(server, ['port', 'web', '81']);
  t.equal(none.code, 1);
  t.equal(none.stderr, "berth: No public port '81/tcp' published for web\n");
});

t.test('kill -s HUP reaches the process; restart keeps the writable layer; kill stops it; wait', async (t) => {
  const hup = await berth(server, ['kill', '-s', 'HUP', 'web']);
  t.equal(hup.code, 0, hup.stderr);
  t.equal(hup.stdout, 'web\n');
  t.ok(await eventually(async () => /got HUP/.test((await berth(server, ['logs', 'web'])).stdout), 20_000));
  t.match(await getContainer('web'), { status: { phase: 'Running' } }, 'a trapped HUP leaves it running');

  const write = await berth(server, ['exec', 'web', '--', 'sh', '-c', 'echo kept > /tmp/written']);
  t.equal(write.code, 0, write.stderr);
  const restart = await berth(server, ['restart', '-t', '0', 'web']);
  t.equal(restart.code, 0, restart.stderr);
  t.equal(restart.stdout, 'web\n');
  const read = await berth(server, ['exec', 'web', '--', 'cat', '/tmp/written']);
  t.equal(read.stdout, 'kept\n', `the container's writes survive stop and start: ${read.stderr}`);

  const kill = await berth(server, ['kill', 'web']);
  t.equal(kill.code, 0, kill.stderr);
  t.match(await getContainer('web'), { spec: { stopped: true }, status: { exitCode: 137 } });
  const wait = await berth(server, ['wait', 'web']);
  t.equal(wait.stdout, '137\n');
  const again = await berth(server, ['kill', 'web']);
  t.equal(again.code, 1);
  t.match(again.stderr, /^berth: cannot kill container: web: container web is not running\n$/);
});

t.test('rename: the same spec under the new name; the old name is free', async (t) => {
  const rename = await berth(server, ['rename', 'web', 'site']);
  t.equal(rename.code, 0, rename.stderr);
  t.equal(await getContainer('web'), undefined);
  t.match(await getContainer('site'), { metadata: { labels: { app: 'web' } }, spec: { stopped: true } });
});

t.test('attach: stdin to the container, its output back, its exit code', async (t) => {
  const run = await berth(server, ['run', '-d', '-i', '--name', 'reader', image, 'sh', '-c', 'read x; echo "got $x"; exit 4']);
  t.equal(run.code, 0, run.stderr);
  const attach = await berth(server, ['attach', 'reader'], { input: 'hello\n' });
  t.equal(attach.stdout, 'got hello\n', attach.stderr);
  t.equal(attach.code, 4);
});
