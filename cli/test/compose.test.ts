// `berth compose up|down|ps` against a real berth (API server, controllers, node agent with crun, busybox from a
// loopback registry): a three-service project (a published web service reading a volume another service fills, a
// worker with two replicas finding web by name) comes up, stays unchanged on a second up, and down removes exactly
// what it made. Needs root, crun, conmon.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;
const dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const port = await freePort();
await writeFile(
  join(dir, 'compose.yaml'),
  `name: shop
services:
  web:
    image: ${image}
    command: sh -c 'echo "web sees $$(cat /store/x)" > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'
    ports:
      - "127.0.0.1:${port}:8080"
    volumes:
      - store:/store:ro
    depends_on:
      - store
  store:
    image: ${image}
    command: ["sh", "-c", "echo stored > /data/x; exec sleep 3600"]
    volumes:
      - store:/data
  worker:
    image: ${image}
    command: sh -c 'while true; do wget -qO- http://web:8080/index.html; sleep 1; done'
    environment:
      ROLE: worker
    deploy:
      replicas: 2
volumes:
  store: {}
`.replace(/\$\$/g, '$'),
);

const list = async (plural: string) =>
  (
    await request(
      server,
      'GET',
      `/apis/berth.dev/v1alpha1/namespaces/default/${plural}?labelSelector=berth.dev%2Fcompose-project%3Dshop`,
    )
  ).json<{ items: Container[] }>().items;

t.test('up -d: the project as objects, in depends_on order, serving', async (t) => {
  // Something of the user's own, which down must leave alone.
  t.equal((await berth(server, ['volume', 'create', 'mine'])).code, 0);
  const up = await berth(server, ['compose', 'up', '-d'], { cwd: dir });
  t.equal(up.code, 0, up.stderr);
  const order = [...up.stdout.matchAll(/Container (\S+) {2}Started/g)].map((m) => m[1]);
  t.same(order, ['shop-store-1', 'shop-web-1', 'shop-worker-1', 'shop-worker-2'], 'store before web (depends_on)');
  t.match(up.stdout, / Network shop-default {2}Created\n/);
  t.match(up.stdout, / Volume shop-store {2}Created\n/);
  let body = '';
  t.ok(
    await eventually(async () => {
      body = await fetch(`http://127.0.0.1:${port}/index.html`).then(
        (r) => r.text(),
        () => '',
      );
      return body === 'web sees stored\n';
    }, 30_000),
    `web serves what store wrote to the volume: ${body}`,
  );
  t.ok(
    await eventually(
      async () => /web sees stored/.test((await berth(server, ['logs', 'shop-worker-2'])).stdout),
      30_000,
    ),
    'a worker replica reaches web by its service name',
  );
  const kubectl = await server.kubectl(['get', 'containers', '-l', 'berth.dev/compose-service=worker', '-o', 'name']);
  t.equal(
    kubectl.stdout,
    'container.berth.dev/shop-worker-1\ncontainer.berth.dev/shop-worker-2\n',
    'kubectl sees the replicas',
  );
  const ps = await berth(server, ['compose', 'ps'], { cwd: dir });
  t.match(ps.stdout, /^NAME +IMAGE +SERVICE +CREATED +STATUS +PORTS\n/);
  t.match(ps.stdout, new RegExp(`shop-web-1 .* web .* Up .* 127\\.0\\.0\\.1:${port}->8080/tcp\\n`));
});

t.test('up again changes nothing', async (t) => {
  const before = (await list('containers')).map((c) => [c.metadata.name, c.metadata.resourceVersion]);
  const again = await berth(server, ['compose', 'up', '-d'], { cwd: dir });
  t.equal(again.code, 0, again.stderr);
  t.notMatch(again.stdout, /Started|Created/, again.stdout);
  t.same(
    (await list('containers')).map((c) => [c.metadata.name, c.metadata.resourceVersion]),
    before,
    'not one write to a Container',
  );
});

t.test('down removes what the project made, its volumes only with -v', async (t) => {
  const down = await berth(server, ['compose', 'down'], { cwd: dir });
  t.equal(down.code, 0, down.stderr);
  t.same(await list('containers'), []);
  t.same(await list('networks'), []);
  t.equal((await list('volumes')).length, 1, 'the volume stays without -v');
  const downV = await berth(server, ['compose', 'down', '-v'], { cwd: dir });
  t.equal(downV.code, 0, downV.stderr);
  t.same(await list('volumes'), []);
  t.equal(
    (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/volumes/mine')).status,
    200,
    "and nothing that is not the project's",
  );
});

t.test('a file berth cannot run says so', async (t) => {
  await writeFile(join(dir, 'bad.yaml'), 'services:\n  app:\n    build: .\n');
  const bad = await berth(server, ['compose', '-f', 'bad.yaml', 'up', '-d'], { cwd: dir });
  t.equal(bad.code, 125);
  t.equal(bad.stderr, 'berth: service app: "build" is not supported by berth compose yet\n');
  const none = await berth(server, ['compose', 'ps'], { cwd: tmpdir() });
  t.match(none.stderr, /^berth: no configuration file provided: not found/);
});
