// `berth compose up|down|ps|logs|restart|pull|config|convert` against a real berth (API server, controllers, node agent with crun, busybox from a
// loopback registry): a three-service project (a published web service reading a volume another service fills, a
// worker with two replicas finding web by name) comes up, stays unchanged on a second up, and down removes exactly
// what it made. Needs root, crun, conmon.

import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { parse, stringify } from 'yaml';
import { berth, berthBackground } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;
const dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const port = await freePort();
// A subnet of its own: the network controller of every test cluster allocates from the same pool (10.214.0.0/16,
// first free /24 first), so two files running at once would each build a bridge on 10.214.0.0/24.
const subnet = `10.215.${randomBytes(1)[0] ?? 0}.0/24`;
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
      replicas: \${WORKERS:-2}
volumes:
  store: {}
networks:
  default:
    ipam:
      config:
        - subnet: ${subnet}
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

t.test(
  'logs: the services merged behind their names; -f follows, a replica added later too; restart and pull',
  async (t) => {
    const prefixed = /^shop-worker-[12] {2}\| web sees stored$/;
    const logs = await berth(server, ['compose', 'logs', '--tail', '2', 'worker'], { cwd: dir });
    t.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.trimEnd().split('\n');
    t.equal(lines.length, 4, 'two lines of each replica');
    for (const line of lines) t.match(line, prefixed);
    t.match(logs.stdout, /shop-worker-1 {2}\|/);
    t.match(logs.stdout, /shop-worker-2 {2}\|/);
    const raw = await berth(server, ['compose', 'logs', '--no-log-prefix', '--tail', '1', 'worker'], { cwd: dir });
    t.equal(raw.stdout, 'web sees stored\nweb sees stored\n');
    const unknown = await berth(server, ['compose', 'logs', 'nosuch'], { cwd: dir });
    t.equal(unknown.code, 1);
    t.match(unknown.stderr, /no such service: nosuch/);

    const follow = berthBackground(server, ['compose', 'logs', '-f', '--tail', '0', 'worker'], { cwd: dir });
    t.ok(
      (await eventually(async () => /shop-worker-1 {2}\| web sees stored\n/.test(follow.output()), 20_000)) &&
        (await eventually(async () => /shop-worker-2 {2}\| web sees stored\n/.test(follow.output()), 20_000)),
      'new lines of both replicas as they come',
    );
    // A replica started after the follow began is followed too (a watch, not the list it began with).
    const scaled = await berth(server, ['compose', 'up', '-d'], { cwd: dir, env: { WORKERS: '3' } });
    t.equal(scaled.code, 0, scaled.stderr);
    t.match(scaled.stdout, / Container shop-worker-3 {2}Started\n/);
    t.ok(
      await eventually(async () => /shop-worker-3 {2}\| web sees stored\n/.test(follow.output()), 20_000),
      `the third replica's lines too: ${follow.output().slice(-300)}`,
    );
    t.equal((await follow.stop()).code, 0);
    const back = await berth(server, ['compose', 'up', '-d'], { cwd: dir });
    t.equal(back.code, 0, back.stderr);
    t.match(back.stdout, / Container shop-worker-3 {2}Removed\n/);

    const before = (await list('containers')).find((c) => c.metadata.name === 'shop-store-1');
    const restarted = await berth(server, ['compose', 'restart', '-t', '1', 'store'], { cwd: dir });
    t.equal(restarted.code, 0, restarted.stderr);
    t.equal(restarted.stdout, ' Container shop-store-1  Restarting\n Container shop-store-1  Started\n');
    const after = (await list('containers')).find((c) => c.metadata.name === 'shop-store-1');
    t.not(after?.status?.startedAt, before?.status?.startedAt, 'started again');
    t.equal(after?.status?.phase, 'Running');

    const pulled = await berth(server, ['compose', 'pull', 'web'], { cwd: dir });
    t.equal(pulled.code, 0, pulled.stderr);
    t.equal(pulled.stdout, ' Service web  Pulling\n Service web  Pulled\n');
    const images = (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/images')).json<{
      items: { spec: { image: string }; status?: { phase?: string } }[];
    }>().items;
    t.ok(
      images.some((i) => i.spec.image === image && i.status?.phase === 'Ready'),
      'an Image object a node reports pulled',
    );
  },
);

t.test('config prints the normalized model; convert the objects, which kubectl applies as they are', async (t) => {
  const config = await berth(server, ['compose', 'config'], { cwd: dir });
  t.equal(config.code, 0, config.stderr);
  const model = parse(config.stdout) as {
    name: string;
    services: Record<string, Record<string, unknown>>;
    volumes: Record<string, unknown>;
    networks: Record<string, unknown>;
  };
  t.equal(model.name, 'shop');
  t.same(Object.keys(model.services), ['store', 'web', 'worker'], 'services by name');
  t.same(model.services['web']?.['ports'], [
    { host_ip: '127.0.0.1', mode: 'ingress', protocol: 'tcp', published: String(port), target: 8080 },
  ]);
  t.same(model.services['web']?.['volumes'], [
    { read_only: true, source: 'store', target: '/store', type: 'volume', volume: {} },
  ]);
  t.same(model.services['web']?.['depends_on'], { store: { condition: 'service_started', required: true } });
  t.same(model.services['worker']?.['environment'], { ROLE: 'worker' });
  t.same(model.services['store']?.['command'], ['sh', '-c', 'echo stored > /data/x; exec sleep 3600']);
  t.match(model.services['web']?.['command'], ['sh', '-c', /^echo "web sees/]);
  t.same(model.networks, { default: { ipam: { config: [{ subnet }] }, name: 'shop_default' } });
  t.same(model.volumes, { store: { name: 'shop_store' } });
  t.equal((await berth(server, ['compose', 'config', '--services'], { cwd: dir })).stdout, 'store\nweb\nworker\n');

  const convert = await berth(server, ['compose', 'convert'], { cwd: dir });
  t.equal(convert.code, 0, convert.stderr);
  const applied = await server.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: convert.stdout,
  });
  t.equal(applied.code, 0, applied.stderr);
  t.same(
    applied.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]),
    [
      'network.berth.dev/shop-default',
      'volume.berth.dev/shop-store',
      'container.berth.dev/shop-store-1',
      'container.berth.dev/shop-web-1',
      'container.berth.dev/shop-worker-1',
      'container.berth.dev/shop-worker-2',
    ],
    `kubectl takes every object: ${applied.stdout}`,
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

t.test(
  "a public project's file comes up: nginx-golang-postgres, its depends_on chain gated on db's healthcheck",
  async (t) => {
    // cli/test/compose-examples/README.md: the file as docker/awesome-compose has it, with busybox (and commands of its
    // own) for each image, a readiness test busybox can run, a free port for 80, and a subnet of this run's.
    const project = join(dir, 'nginx-golang-postgres');
    await cp(join(import.meta.dirname, 'compose-examples', 'nginx-golang-postgres'), project, { recursive: true });
    const doc = parse(await readFile(join(project, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
      networks?: unknown;
    };
    const { db, backend, proxy } = doc.services;
    if (db === undefined || backend === undefined || proxy === undefined) throw new Error('the example changed');
    for (const s of [db, backend, proxy]) s['image'] = image;
    db['command'] = ['sleep', '3600'];
    delete db['user']; // busybox has no postgres user
    db['healthcheck'] = {
      ...(db['healthcheck'] as object),
      test: ['CMD', 'test', '-s', '/run/secrets/db-password'],
      interval: '1s',
    };
    backend['command'] = [
      'sh',
      '-c',
      'echo "backend $(cat /run/secrets/db-password)" > /tmp/index.html; exec httpd -f -p 8000 -h /tmp',
    ];
    proxy['command'] = [
      'sh',
      '-c',
      'mkdir /tmp/www; while true; do wget -qO /tmp/www/index.html http://backend:8000/; sleep 1; done & exec httpd -f -p 80 -h /tmp/www',
    ];
    // The namespace's Pod Security level (baseline) refuses hostPath volumes: the nginx.conf bind goes.
    delete proxy['volumes'];
    const proxyPort = await freePort();
    proxy['ports'] = [`127.0.0.1:${proxyPort}:80`];
    doc.networks = { default: { ipam: { config: [{ subnet: `10.216.${randomBytes(1)[0] ?? 0}.0/24` }] } } };
    await writeFile(join(project, 'compose.yaml'), stringify(doc));

    // Down even when an assertion fails: a network left behind keeps its bridge on the host.
    let downed = false;
    t.teardown(async () => {
      if (!downed) await berth(server, ['compose', '-p', 'golang', 'down', '-v'], { cwd: project });
    });
    const up = await berth(server, ['compose', '-p', 'golang', 'up', '-d'], { cwd: project });
    t.equal(up.code, 0, up.stderr);
    t.same(
      [...up.stdout.matchAll(/Container (\S+) {2}Started/g)].map((m) => m[1]),
      ['golang-db-1', 'golang-backend-1', 'golang-proxy-1'],
      'db, then (once it is healthy) backend, then proxy',
    );
    let body = '';
    t.ok(
      await eventually(async () => {
        body = await fetch(`http://127.0.0.1:${proxyPort}/index.html`).then(
          (r) => r.text(),
          () => '',
        );
        return body === 'backend db-frknz\n';
      }, 30_000),
      `the proxy serves what the backend made of the secret file: ${body}`,
    );
    const down = await berth(server, ['compose', '-p', 'golang', 'down', '-v'], { cwd: project });
    downed = true;
    t.equal(down.code, 0, down.stderr);
    const left = await request(
      server,
      'GET',
      '/apis/berth.dev/v1alpha1/namespaces/default/containers?labelSelector=berth.dev%2Fcompose-project%3Dgolang',
    );
    t.same(left.json<{ items: unknown[] }>().items, [], 'down removes it');
  },
);

t.test('a file berth cannot run, or the Compose schema refuses, says so and makes nothing', async (t) => {
  await writeFile(join(dir, 'bad.yaml'), 'services:\n  app:\n    build: .\n');
  const bad = await berth(server, ['compose', '-f', 'bad.yaml', 'up', '-d'], { cwd: dir });
  t.equal(bad.code, 125);
  t.equal(bad.stderr, 'berth: service app: "build" is not supported by berth compose yet\n');
  // Checked against the Compose specification's schema, worded as docker compose words it; nothing is made.
  await writeFile(
    join(dir, 'invalid.yaml'),
    `name: invalid\nservices:\n  web:\n    image: ${image}\n    foo: 1\n  db:\n    image: ${image}\n    ports: 80\n`,
  );
  const invalid = await berth(server, ['compose', '-f', 'invalid.yaml', 'up', '-d'], { cwd: dir });
  t.equal(invalid.code, 125);
  // Two faults: the deeper one is reported, as docker compose picks it.
  t.match(invalid.stderr, /^berth: validating \S+invalid\.yaml: services\.db\.ports must be a list\n$/);
  t.equal(invalid.stdout, '', 'nothing created');
  const made = await request(
    server,
    'GET',
    '/apis/berth.dev/v1alpha1/namespaces/default/networks?labelSelector=berth.dev%2Fcompose-project%3Dinvalid',
  );
  t.same(made.json<{ items: unknown[] }>().items, [], 'not even the network');
  await writeFile(join(dir, 'invalid.yaml'), `services:\n  web:\n    image: ${image}\n    foo: 1\n`);
  t.match(
    (await berth(server, ['compose', '-f', 'invalid.yaml', 'up', '-d'], { cwd: dir })).stderr,
    /: services\.web Additional property foo is not allowed\n$/,
  );
  await writeFile(join(dir, 'invalid.yaml'), `services:\n  web:\n    image: ${image}\n    environment: 5\n`);
  const config = await berth(server, ['compose', '-f', 'invalid.yaml', 'config'], { cwd: dir });
  t.equal(config.code, 125);
  t.match(config.stderr, /: services\.web\.environment must be a mapping or list\n$/);
  const none = await berth(server, ['compose', 'ps'], { cwd: tmpdir() });
  t.match(none.stderr, /^berth: no configuration file provided: not found/);
});
