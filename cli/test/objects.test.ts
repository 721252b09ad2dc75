// `berth volume …`, `berth network …`, `berth version` against a real berth (API server, controllers, node agent
// with crun, busybox from a loopback registry): Volume and Network objects in docker's columns, and a container
// that uses them. Needs root, crun, conmon.

import t from 'tap';
import type { Volume } from '@berth/api';
import { request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

t.test('volume create|ls|inspect|rm', async (t) => {
  const create = await berth(server, ['volume', 'create', '--label', 'team=a', 'store']);
  t.equal(create.code, 0, create.stderr);
  t.equal(create.stdout, 'store\n');
  const again = await berth(server, ['volume', 'create', 'store']);
  t.equal(again.code, 0, 'creating an existing volume is no error, as in docker');
  const anonymous = await berth(server, ['volume', 'create']);
  t.match(anonymous.stdout, /^[0-9a-f]{48}\n$/, 'an unnamed volume gets a generated name');
  const obj = (
    await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/volumes/store')
  ).json<Volume>();
  t.match(obj, { spec: { driver: 'local' }, metadata: { labels: { team: 'a' } } });

  const write = await berth(server, ['run', '--rm', '-v', 'store:/data', image, 'sh', '-c', 'echo v > /data/f']);
  t.equal(write.code, 0, write.stderr);
  const ls = await berth(server, ['volume', 'ls']);
  t.equal(ls.code, 0, ls.stderr);
  const lines = ls.stdout.trimEnd().split('\n');
  t.equal(lines[0], 'DRIVER   VOLUME NAME');
  t.ok(lines.includes('local    store'), ls.stdout);
  const quiet = await berth(server, ['volume', 'ls', '-q']);
  t.ok(quiet.stdout.split('\n').includes('store'));
  const inspect = await berth(server, ['volume', 'inspect', '--format', '{{.status.phase}} {{.status.path}}', 'store']);
  t.match(inspect.stdout, /^Available \/\S+\n$/, 'the node agent made it');
  const json = JSON.parse((await berth(server, ['volume', 'inspect', 'store'])).stdout) as Volume[];
  t.equal(json[0]?.metadata.name, 'store');

  const rm = await berth(server, ['volume', 'rm', 'store', anonymous.stdout.trim()]);
  t.equal(rm.code, 0, rm.stderr);
  t.equal((await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/volumes/store')).status, 404);
  const missing = await berth(server, ['volume', 'rm', 'store']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'berth: get store: no such volume\n');
});

t.test('network create|ls|inspect|rm, and a container on the network', async (t) => {
  const create = await berth(server, ['network', 'create', '--subnet', '10.215.7.0/24', 'backend']);
  t.equal(create.code, 0, create.stderr);
  t.equal(create.stdout, 'backend\n');
  const clash = await berth(server, ['network', 'create', 'backend']);
  t.equal(clash.code, 1);
  t.equal(clash.stderr, 'berth: network with name backend already exists\n');
  const ls = await berth(server, ['network', 'ls']);
  t.match(ls.stdout, /^NETWORK ID {5}NAME {6}DRIVER {3}SCOPE\n[0-9a-f]{12} {3}backend {3}bridge {3}local\n$/);
  const run = await berth(server, ['run', '--rm', '--network', 'backend', image, 'sh', '-c', 'ip -4 addr show eth0']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /inet 10\.215\.7\.\d+\/24/, 'the container got an address on the network');
  const inspect = await berth(server, ['network', 'inspect', '-f', '{{.spec.subnet}}', 'backend']);
  t.equal(inspect.stdout, '10.215.7.0/24\n');
  const rm = await berth(server, ['network', 'rm', 'backend']);
  t.equal(rm.code, 0, rm.stderr);
  const gone = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/networks/backend');
  t.equal(gone.status, 404);
  t.equal((await berth(server, ['network', 'rm', 'backend'])).stderr, 'berth: network backend not found\n');
});

t.test("version: the client's and the server's", async (t) => {
  const v = await berth(server, ['version']);
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, /^Client:\n Version: +0\.1\.0\n API version: +berth\.dev\/v1alpha1\n Node version: +v\d+/);
  t.match(v.stdout, /\nServer: berth\n Version: +v\d+\.\d+\.\d+/);
  const json = JSON.parse((await berth(server, ['version', '--format', 'json'])).stdout) as {
    Server: { gitVersion: string };
  };
  t.match(json.Server.gitVersion, /^v\d+\.\d+/);
  const template = await berth(server, ['version', '--format', '{{.Client.Version}}']);
  t.equal(template.stdout, '0.1.0\n');
});

t.test('images: what the Containers run; pull records an Image object', async (t) => {
  const { repository } = { repository: image.replace(/:latest$/, '') };
  t.equal((await berth(server, ['run', '--name', 'keep', image, 'true'])).code, 0);
  const list = await berth(server, ['images']);
  t.equal(list.code, 0, list.stderr);
  const [header, ...rows] = list.stdout.trimEnd().split('\n');
  t.match(header, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
  t.ok(
    rows.some((r) => new RegExp(`^${repository.replace(/\./g, '\\.')} +latest +[0-9a-f]{12}`).test(r)),
    `busybox, by its digest: ${list.stdout}`,
  );
  const pulled = await berth(server, ['pull', '--wait', '60', image]);
  t.equal(pulled.code, 0, pulled.stderr);
  t.match(pulled.stdout, `latest: Pulling from ${repository}\n`);
  // The node agent pulls Image objects now (issue 17): the pull is reported with its digest.
  t.match(pulled.stdout, /\nDigest: sha256:[0-9a-f]{64}\nStatus: Image is up to date for /);
  const objects = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/images');
  t.match(objects.json<{ items: Array<{ spec: { image: string; pullPolicy: string } }> }>().items, [
    { spec: { image, pullPolicy: 'Always' } },
  ]);
});
