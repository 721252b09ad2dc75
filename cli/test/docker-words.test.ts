// The CLI's pure translations, without a cluster: docker's run flags as Container fields, docker's STATUS words,
// aligned tables and --format templates, "did you mean", a Compose file as objects, and system df's sums.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Container, Volume } from '@berth/api';
import { composeProject } from '../src/compose/compose-file.js';
import { normalizedModel } from '../src/compose/normalize.js';
import { parseScale, parseServicePort, serviceFromFlags, updatePatch } from '../src/service/service-flags.js';
import { statusText } from '../src/docker/container-state.js';
import { diskUsage } from '../src/docker/disk-usage.js';
import { parseCpus, parseMemory, parsePublish, parseRestart, parseVolume, runPlan } from '../src/docker/run-spec.js';
import { UsageError } from '../src/errors.js';
import { formatRows, renderTable } from '../src/output/table.js';
import { suggestions } from '../src/output/suggest.js';

// The Compose schema's compiled validator is cached under XDG_CACHE_HOME: this run's own, not the user's.
const cacheHome = await mkdtemp(join(tmpdir(), 'berth-cache-'));
process.env['XDG_CACHE_HOME'] = cacheHome;
t.teardown(() => rm(cacheHome, { recursive: true, force: true }));

t.test('-p, --memory, --cpus, --restart, -v', async (t) => {
  t.same(parsePublish('8080:80'), { containerPort: 80, protocol: 'TCP', hostPort: 8080 });
  t.same(parsePublish('0.0.0.0:53:53/udp'), { containerPort: 53, protocol: 'UDP', hostPort: 53, hostIP: '0.0.0.0' });
  t.same(parsePublish('[::1]:8443:443'), { containerPort: 443, protocol: 'TCP', hostPort: 8443, hostIP: '::1' });
  t.same(parsePublish('9000'), { containerPort: 9000, protocol: 'TCP' });
  t.throws(() => parsePublish('80:0'), UsageError);
  t.equal(parseMemory('512m'), '512Mi');
  t.equal(parseMemory('1g'), '1Gi');
  t.equal(parseMemory('1.5k'), '1536');
  t.throws(() => parseMemory('lots'), /invalid --memory/);
  t.equal(parseCpus('0.5'), '500m');
  t.equal(parseCpus('2'), '2000m');
  t.equal(parseRestart(undefined), 'Never');
  t.equal(parseRestart('on-failure:3'), 'OnFailure');
  t.equal(parseRestart('unless-stopped'), 'Always');
  t.throws(() => parseRestart('sometimes'), /invalid restart policy/);
  t.match(parseVolume('data:/var/lib/data:ro', 0), { namedVolume: 'data', mount: { readOnly: true } });
  t.match(parseVolume('/srv:/srv', 1), { volume: { name: 'host-1', hostPath: { path: '/srv' } } });
  t.throws(() => parseVolume('data:relative', 0), /not absolute/);
  t.throws(() => parseVolume('Bad_Name:/x', 0), /invalid volume name/);
});

t.test('runPlan: --entrypoint replaces ENTRYPOINT, the rest replaces CMD; no name means generateName', async (t) => {
  const plan = await runPlan(
    { publish: [], env: ['A=1'], envFile: [], volume: ['v:/v'], label: ['x=y'], entrypoint: 'sh', network: 'host' },
    '127.0.0.1:5000/library/busybox:latest',
    ['-c', 'true'],
  );
  t.match(plan.container, {
    metadata: { generateName: 'busybox-', labels: { x: 'y' } },
    spec: { command: ['sh'], args: ['-c', 'true'], networkMode: 'host', env: [{ name: 'A', value: '1' }] },
  });
  t.same(plan.volumes, ['v']);
  await t.rejects(
    runPlan({ publish: [], env: [], envFile: [], volume: [], label: [], rm: true, restart: 'always' }, 'x', []),
    /--restart and --rm/,
  );
});

t.test(
  'runPlan: --privileged, --cap-add, --cap-drop, --read-only, -u and --userns become a securityContext',
  async (t) => {
    const base = { publish: [], env: [], envFile: [], volume: [], label: [] };
    const plan = await runPlan(
      { ...base, capAdd: ['NET_ADMIN'], capDrop: ['ALL'], readOnly: true, user: '1000:1000', userns: 'auto' },
      'x',
      [],
    );
    t.same(plan.container.spec.securityContext, {
      runAsUser: 1000,
      runAsGroup: 1000,
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    t.equal(plan.container.spec.hostUsers, false, "podman's --userns=auto");
    t.match((await runPlan({ ...base, privileged: true }, 'x', [])).container.spec, {
      securityContext: { privileged: true },
    });
    const plain = (await runPlan({ ...base, userns: 'host' }, 'x', [])).container.spec;
    t.same([plain.securityContext, plain.hostUsers], [undefined, undefined]);
    await t.rejects(runPlan({ ...base, userns: 'keep-id' }, 'x', []), /invalid --userns "keep-id"/);
    const dir = await mkdtemp(join(tmpdir(), 'berth-compose-privs-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const compose = `
services:
  tight: {image: busybox, cap_drop: [ALL], cap_add: [NET_BIND_SERVICE], read_only: true, userns_mode: auto}
  loose: {image: busybox, privileged: true}
`;
    const p = await composeProject(compose, join(dir, 'compose.yaml'), 'privs');
    const spec = (name: string) => p.containers.find((c) => c.metadata.name === `privs-${name}-1`)?.spec;
    t.same(spec('tight')?.securityContext, {
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    t.equal(spec('tight')?.hostUsers, false, "compose's userns_mode");
    t.same(spec('loose')?.securityContext, { privileged: true });
  },
);

t.test("docker ps' STATUS words", async (t) => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const c = (status: Container['status']): Container => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {},
    spec: { image: 'x' },
    ...(status ? { status } : {}),
  });
  t.equal(statusText(c({ phase: 'Running', startedAt: '2026-01-01T00:09:55Z' }), now), 'Up 5 seconds');
  t.equal(
    statusText(
      c({ phase: 'Succeeded', exitCode: 0, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:07:00Z' }),
      now,
    ),
    'Exited (0) 3 minutes ago',
  );
  t.equal(statusText(c(undefined), now), 'Created');
  t.equal(
    statusText(
      c({ phase: 'Running', reason: 'CrashLoopBackOff', exitCode: 1, finishedAt: '2026-01-01T00:09:00Z' }),
      now,
    ),
    'Restarting (1) About a minute ago',
  );
});

t.test('tables and --format', async (t) => {
  t.equal(renderTable(['A', 'LONGER'], [['xx', 'y']]), 'A    LONGER\nxx   y\n');
  const cols = [
    { header: 'NAME', field: 'Name', value: (r: { n: string }) => r.n },
    { header: 'SIZE', field: 'Size', value: () => '1kB' },
  ];
  t.equal(
    formatRows([{ n: 'a' }], cols, '{{.Name}}={{.Size}}', (r) => r),
    'a=1kB\n',
  );
  t.equal(
    formatRows([{ n: 'a' }], cols, 'table {{.Size}}\\t{{.Name}}', (r) => r),
    'SIZE   NAME\n1kB    a\n',
  );
  t.equal(
    formatRows([{ n: 'a' }], cols, '{{json .}}', (r) => r),
    '{"n":"a"}\n',
  );
  t.throws(() => formatRows([{ n: 'a' }], cols, '{{.Nope}}', (r) => r), /can't evaluate field Nope/);
});

t.test('did you mean', async (t) => {
  const known = ['run', 'rm', 'ps', 'start', 'stop', 'volume'];
  t.same(suggestions('rnu', known), ['run'], 'a swapped pair is one typo');
  t.same(suggestions('stpo', known), ['stop']);
  t.same(suggestions('vol', known), ['volume'], 'a prefix');
  t.same(suggestions('frobnicate', known), []);
});

t.test('a Compose file: names, labels, replicas, depends_on order, refusals', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-compose-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, '.env.web'), 'FROM_FILE=1\n');
  const text = `
services:
  web:
    image: nginx
    command: nginx -g "daemon off;"
    env_file: .env.web
    environment: [A=1]
    ports: ["8080:80", {target: 443, published: 8443, protocol: tcp}]
    volumes: ["./html:/usr/share/nginx/html:ro", "data:/data"]
    depends_on: {db: {condition: service_started}}
    deploy: {replicas: 2, resources: {limits: {memory: 128m, cpus: "0.25"}}}
  db:
    image: postgres
    networks: [back]
volumes: {data: {}}
networks: {back: {ipam: {config: [{subnet: 10.250.1.0/24}]}}}
`;
  const p = await composeProject(text, join(dir, 'compose.yaml'), 'My_App');
  t.equal(p.name, 'my-app');
  t.same(
    p.containers.map((c) => c.metadata.name),
    ['my-app-db-1', 'my-app-web-1', 'my-app-web-2'],
  );
  t.same(
    p.networks.map((n) => [n.metadata.name, n.spec?.subnet]),
    [
      ['my-app-default', undefined],
      ['my-app-back', '10.250.1.0/24'],
    ],
    'a network without ipam config leaves its subnet to the network controller',
  );
  const web = p.containers[1]!;
  t.match(web.spec, {
    args: ['nginx', '-g', 'daemon off;'],
    env: [
      { name: 'FROM_FILE', value: '1' },
      { name: 'A', value: '1' },
    ],
    ports: [
      { containerPort: 80, hostPort: 8080 },
      { containerPort: 443, hostPort: 8443, protocol: 'TCP' },
    ],
    volumes: [
      { name: 'bind-0', hostPath: { path: join(dir, 'html') } },
      { name: 'data', volumeRef: { name: 'my-app-data' } },
    ],
    volumeMounts: [{ mountPath: '/usr/share/nginx/html', readOnly: true }, { mountPath: '/data' }],
    networks: [{ name: 'my-app-default', aliases: ['web'] }],
    resources: { limits: { memory: '128Mi', cpu: '250m' } },
    restartPolicy: 'Never',
  });
  t.same(web.metadata.labels, { 'berth.dev/compose-project': 'my-app', 'berth.dev/compose-service': 'web' });
  await t.rejects(
    composeProject(
      'services: {a: {image: x, depends_on: [b]}, b: {image: y, depends_on: [a]}}',
      join(dir, 'c.yaml'),
      'p',
    ),
    /dependency cycle/,
  );
  await t.rejects(
    composeProject('services: {a: {image: x, volumes: ["nope:/x"]}}', join(dir, 'c.yaml'), 'p'),
    /undefined volume nope/,
  );
});

t.test("the Compose specification's schema, its refusals worded as docker compose's; merge keys", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-compose-schema-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const refused = async (text: string) => {
    try {
      await composeProject(text, join(dir, 'compose.yaml'), 'p');
    } catch (e) {
      return (e as Error).message.replace(`validating ${join(dir, 'compose.yaml')}: `, '');
    }
    return 'accepted';
  };
  t.equal(await refused('services: {web: {image: x, foo: 1}}'), 'services.web Additional property foo is not allowed');
  t.equal(await refused('servics: {web: {image: x}}'), '(root) Additional property servics is not allowed');
  t.equal(await refused('services: {web: {image: x, ports: 80}}'), 'services.web.ports must be a list');
  t.equal(await refused('services: {web: {image: [x]}}'), 'services.web.image must be a string');
  t.equal(
    await refused('services: {web: {image: x, environment: 5}}'),
    'services.web.environment must be a mapping or list',
    'oneOf: the types joined',
  );
  t.equal(
    await refused('services: {web: {image: x, ports: [{target: 80, foo: 1}]}}'),
    'services.web.ports.0 Additional property foo is not allowed',
    "oneOf: the object branch's fault, not the other branches' types",
  );
  t.equal(
    await refused('services: {web: {image: x, ports: ["80", "80"]}}'),
    'services.web.ports array items[0,1] must be unique',
  );
  t.equal(
    await refused('services: {web: {image: x, ulimits: {nofile: {soft: 1}}}}'),
    'services.web.ulimits.nofile hard is required',
  );
  t.equal(
    await refused('services: {"my web": {image: x}}'),
    'services Additional property my web is not allowed',
    'a service name the specification does not allow',
  );
  const merged = await composeProject(
    'x-base: &base\n  image: x\n  environment: {A: "1"}\nservices:\n  web:\n    <<: *base\n    command: ["true"]\n',
    join(dir, 'compose.yaml'),
    'p',
  );
  t.match(merged.containers[0]?.spec, { image: 'x', args: ['true'], env: [{ name: 'A', value: '1' }] }, '<<: *base');
});

t.test('five Compose files from public projects (cli/test/compose-examples): config and convert', async (t) => {
  const examples = join(import.meta.dirname, 'compose-examples');
  const read = async (name: string) => {
    const path = join(examples, name, 'compose.yaml');
    const text = await readFile(path, 'utf8');
    return {
      project: await composeProject(text, path, undefined),
      model: await normalizedModel(text, path, undefined),
    };
  };
  const names = (objects: readonly { metadata: { name?: string } }[]) => objects.map((o) => o.metadata.name);

  const wordpress = await read('wordpress-mysql');
  t.same(names(wordpress.project.containers), ['wordpress-mysql-db-1', 'wordpress-mysql-wordpress-1']);
  t.same(names(wordpress.project.volumes), ['wordpress-mysql-db-data']);
  t.match(wordpress.project.containers[0]?.spec, {
    image: 'mariadb:10.6.4-focal',
    args: ['--default-authentication-plugin=mysql_native_password'],
    restartPolicy: 'Always',
    volumeMounts: [{ mountPath: '/var/lib/mysql' }],
  });
  t.match(wordpress.project.containers[1]?.spec.ports, [{ containerPort: 80, hostPort: 80 }]);
  t.match(wordpress.model, { services: { wordpress: { environment: { WORDPRESS_DB_HOST: 'db' } } } });

  const nextcloud = await read('nextcloud-redis-mariadb');
  t.same(names(nextcloud.project.networks), ['nextcloud-redis-mariadb-dbnet', 'nextcloud-redis-mariadb-redisnet']);
  t.same(
    nextcloud.project.containers.map((c) => [c.metadata.name, c.spec.networks?.map((n) => n.name)]),
    [
      ['nextcloud-redis-mariadb-nc-1', ['nextcloud-redis-mariadb-redisnet', 'nextcloud-redis-mariadb-dbnet']],
      ['nextcloud-redis-mariadb-redis-1', ['nextcloud-redis-mariadb-redisnet']],
      ['nextcloud-redis-mariadb-db-1', ['nextcloud-redis-mariadb-dbnet']],
    ],
    'the Redis-backed app on both networks, each store on its own',
  );
  t.same(nextcloud.project.containers[2]?.spec.args, ['--transaction-isolation=READ-COMMITTED', '--binlog-format=ROW']);

  const prometheus = await read('prometheus-grafana');
  t.same(names(prometheus.project.containers), ['prometheus', 'grafana'], 'container_name');
  t.match(prometheus.project.containers[0]?.spec, {
    // unless-stopped: berth's Always (a stopped Container stays stopped).
    restartPolicy: 'Always',
    volumes: [{ hostPath: { path: join(examples, 'prometheus-grafana', 'prometheus') } }, { volumeRef: {} }],
  });

  const flask = await read('nginx-flask-mongo');
  t.same(
    names(flask.project.containers),
    ['nginx-flask-mongo-mongo-1', 'nginx-flask-mongo-backend-1', 'nginx-flask-mongo-web-1'],
    'depends_on order',
  );
  t.match(flask.project.containers[2]?.spec, {
    args: ['/bin/bash', '-c', "envsubst < /tmp/nginx.conf > /etc/nginx/conf.d/default.conf && nginx -g 'daemon off;'"],
    env: [{ name: 'FLASK_SERVER_ADDR', value: 'backend:9091' }],
  });

  const golang = await read('nginx-golang-postgres');
  t.same(names(golang.project.containers), [
    'nginx-golang-postgres-db-1',
    'nginx-golang-postgres-backend-1',
    'nginx-golang-postgres-proxy-1',
  ]);
  t.same(names(golang.project.secrets), ['nginx-golang-postgres-db-password']);
  t.same(
    golang.project.dependsOn.get('backend'),
    new Map([['db', 'service_healthy']]),
    'backend waits for db to be healthy',
  );
  t.match(golang.project.containers[0]?.spec.readinessProbe, { exec: { command: ['pg_isready'] }, periodSeconds: 10 });
  t.match(golang.model, {
    secrets: { 'db-password': { file: /password\.txt$/ } },
  });
});

t.test('Compose interpolation: the shell over .env, defaults, errors, $$; config and the objects agree', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-compose-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, '.env'), '# tags\nTAG=1.25\nPORT="8088"\nSHELL_WINS=from-dotenv\n');
  process.env['SHELL_WINS'] = 'from-shell';
  t.teardown(() => delete process.env['SHELL_WINS']);
  const text = `
services:
  web:
    image: nginx:\${TAG}
    command: sh -c 'echo $$HOME $SHELL_WINS \${UNSET:-fallback} \${UNSET-} $(date)'
    ports: ["\${PORT}:80"]
`;
  const p = await composeProject(text, join(dir, 'compose.yaml'), 'env');
  const web = p.containers[0]!;
  t.equal(web.spec.image, 'nginx:1.25', '.env');
  t.same(web.spec.args, ['sh', '-c', 'echo $HOME from-shell fallback  $(date)'], '$$, the shell over .env, defaults');
  t.match(web.spec.ports, [{ containerPort: 80, hostPort: 8088 }]);
  const model = await normalizedModel(text, join(dir, 'compose.yaml'), 'env');
  t.match(model, { services: { web: { image: 'nginx:1.25', ports: [{ published: '8088', target: 80 }] } } });
  await t.rejects(
    composeProject(`services: {a: {image: "x:\${NEED:?set NEED}"}}`, join(dir, 'compose.yaml'), 'p'),
    /services\.a\.image: required variable NEED is missing a value: set NEED/,
  );
});

t.test("docker service's flags: a Service from create's, a merge patch from update's", async (t) => {
  t.same(parseServicePort('8080:80'), { port: 8080, targetPort: 80, protocol: 'TCP' });
  t.same(parseServicePort('published=53,target=5353,protocol=udp'), { port: 53, targetPort: 5353, protocol: 'UDP' });
  t.same(parseServicePort('9000'), { port: 9000, targetPort: 9000, protocol: 'TCP' });
  t.throws(() => parseServicePort('1.2.3.4:80:80'), UsageError);
  const base = {
    publish: [],
    env: [],
    envFile: [],
    network: [],
    mount: [],
    label: [],
    containerLabel: [],
    constraint: [],
  };
  const svc = await serviceFromFlags(
    {
      ...base,
      name: 'web',
      replicas: '3',
      publish: ['8080:80'],
      env: ['K=V'],
      network: ['back'],
      mount: ['type=volume,source=data,target=/data,readonly'],
      constraint: ['node.labels.disk==ssd'],
      updateParallelism: '2',
      updateOrder: 'stop-first',
    },
    'nginx',
    ['nginx', '-g', 'daemon off;'],
  );
  t.match(svc, {
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { 'berth.dev/service-name': 'web' } },
      ports: [{ port: 8080, targetPort: 80 }],
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 2 } },
      template: {
        metadata: { labels: { 'berth.dev/service-name': 'web' } },
        spec: {
          image: 'nginx',
          args: ['nginx', '-g', 'daemon off;'],
          env: [{ name: 'K', value: 'V' }],
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          networks: [{ name: 'back' }],
          volumes: [{ name: 'data', volumeRef: { name: 'data' } }],
          volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
          nodeSelector: { disk: 'ssd' },
          restartPolicy: 'Always',
        },
      },
    },
  });
  await t.rejects(serviceFromFlags({ ...base, mode: 'global' }, 'nginx', []), /replicated/);
  const patch = updatePatch(
    { ...svc, metadata: { ...svc.metadata, resourceVersion: '7' } },
    {
      image: 'nginx:2',
      envAdd: ['A=1'],
      envRm: ['K'],
      publishAdd: ['9090:90'],
      publishRm: ['8080'],
      labelAdd: [],
      labelRm: ['old'],
      containerLabelAdd: [],
      containerLabelRm: ['berth.dev/service-name'],
    },
  );
  t.match(patch, {
    metadata: { resourceVersion: '7', labels: { old: null } },
    spec: {
      ports: [{ port: 9090, targetPort: 90 }],
      template: {
        metadata: { labels: { 'berth.dev/service-name': 'web' } },
        spec: { image: 'nginx:2', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 90 }] },
      },
    },
  });
  t.equal((patch['spec'] as { ports: unknown[] }).ports.length, 1, '--publish-rm took 8080 away');
  t.throws(() => parseScale('web'), /invalid scale specifier 'web'/);
  t.same(parseScale('web=5'), { name: 'web', replicas: 5 });
});

t.test("system df's arithmetic: shared layers, what pruning frees, the cache's own layers, unmeasured", async (t) => {
  const h = (c: string) => `sha256:${c.repeat(64)}`;
  const container = (name: string, uid: string, image: string | undefined, phase: string): Container =>
    ({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name, namespace: 'default', uid },
      spec: { image: 'app:1', nodeName: 'n1', volumes: [{ name: 'd', volumeRef: { name: 'store' } }] },
      status: { phase, ...(image === undefined ? {} : { imageID: `app@${image}` }) },
    }) as Container;
  const objects = {
    containers: [container('web', 'u1', h('1'), 'Running'), container('old', 'u2', h('1'), 'Succeeded')],
    images: [],
    volumes: [
      { apiVersion: 'berth.dev/v1alpha1', kind: 'Volume', metadata: { name: 'store', namespace: 'default' }, spec: {} },
    ] as Volume[],
  };
  const d = diskUsage(
    [
      {
        metadata: { name: 'n1' },
        // app:1 and tool:2 share the base layer a; only app:1 is in use.
        images: [
          { digest: h('1'), config: h('c'), names: [], layers: [h('a'), h('b')] },
          { digest: h('2'), config: h('e'), names: ['tool:2'], layers: [h('a'), h('f')] },
        ],
        layers: [
          { digest: h('a'), bytes: 1000 },
          { digest: h('b'), bytes: 200 },
          { digest: h('f'), bytes: 30 },
          { digest: h('9'), bytes: 4 },
        ],
        containers: [{ uid: 'u1', bytes: 7 }],
        volumes: [{ namespace: 'default', name: 'store', bytes: 50 }],
        // One cached step made layer f (tool:2 has it too), another layer 9 that no image has.
        buildCache: [
          { layer: h('f'), bytes: 30 },
          { layer: h('9'), bytes: 4 },
        ],
      },
    ],
    objects,
  );
  t.match(d.images, [
    { id: h('c'), references: ['app:1'], size: 1200, shared: 1000, containers: 2 },
    { id: h('e'), references: ['tool:2'], size: 1030, shared: 1000, containers: 0 },
  ]);
  t.equal(d.imagesSize, 1230, 'each layer once');
  t.equal(d.imagesReclaimable, 30, "only tool:2's own layer: the shared one is in use");
  t.same(
    d.containers.map((c) => [c.container.metadata.name, c.size]),
    [
      ['web', 7],
      ['old', 0],
    ],
    'a Container whose node reported no writable layer has written nothing',
  );
  t.same(
    d.volumes.map((v) => [v.size, v.links]),
    [[50, 2]],
  );
  t.same(
    d.buildCache.map((e) => e.shared),
    [true, false],
  );
  t.equal(d.buildCacheSize, 34);
  t.equal(d.buildCacheReclaimable, 4, 'layer 9 is the cache alone');
  const unmeasured = diskUsage([], objects);
  t.same(
    unmeasured.containers.map((c) => c.size),
    [undefined, undefined],
    'no node answered: unknown, not 0',
  );
});
