// `berth run` against a real berth (API server, controllers, node agent with crun, busybox from a loopback
// registry): what it makes is API objects, attached runs stream and exit with the container's code, detached runs
// serve, and the flags reach the running process. Needs root, crun, conmon, util-linux script.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Container, Volume } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

async function getContainer(name: string): Promise<Container | undefined> {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
}

t.test('attached: output streams, berth exits with the exit code, the Container stays, stopped', async (t) => {
  const run = await berth(server, ['run', '--name', 'once', image, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
  t.equal(run.code, 3, `the container's exit code: ${run.stderr}`);
  t.match(run.stdout, /to-out/);
  t.match(run.stdout + run.stderr, /to-err/);
  const c = await getContainer('once');
  t.ok(c !== undefined, 'not removed without --rm');
  t.equal(c?.status?.phase, 'Failed');
  t.equal(c?.status?.exitCode, 3);
  t.equal(c?.spec.restartPolicy, 'Never', "docker's default restart policy, no");
  const got = await server.kubectl(['get', 'containers', 'once', '-o', 'jsonpath={.spec.args}']);
  t.match(got.stdout, /echo to-out/, 'kubectl sees what berth run made');
  const stamped = await berth(server, ['logs', '-t', 'once']);
  t.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z to-out\n/m, `docker's -t: ${stamped.stderr}`);
});

t.test('--rm removes the Container after it exits; a generated name comes from the image', async (t) => {
  const run = await berth(server, ['run', '--rm', image, 'echo', 'bye']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^bye\n$/);
  const list = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers');
  const names = list.json<{ items: Container[] }>().items.map((c) => c.metadata.name ?? '');
  t.notOk(
    names.some((n) => n.startsWith('busybox-')),
    `no busybox-… Container left: ${names.join(' ')}`,
  );
});

t.test('-d with flags: the Container serves on its published port and the flags reach the process', async (t) => {
  const port = await freePort();
  const envFile = join(cluster.hostPathDir, 'web.env');
  await writeFile(envFile, '# comment\nFROM_FILE=yes\n\nOVERRIDDEN=file\n');
  const run = await berth(server, [
    'run',
    '-d',
    '--name',
    'web',
    '-p',
    `127.0.0.1:${port}:8080`,
    '-e',
    'GREETING=hello',
    '-e',
    'OVERRIDDEN=flag',
    '--env-file',
    envFile,
    '--label',
    'app=web',
    '--hostname',
    'webhost',
    '-w',
    '/tmp',
    '--memory',
    '64m',
    '--cpus',
    '0.5',
    '--pids-limit',
    '50',
    '--restart',
    'always',
    '--pull',
    'missing',
    '--stop-timeout',
    '1',
    image,
    'sh',
    '-c',
    'echo "$GREETING from $(hostname)" > index.html; exec httpd -f -p 8080 -h /tmp',
  ]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, 'web\n', 'prints the name');
  const c = await getContainer('web');
  t.match(c?.spec, {
    restartPolicy: 'Always',
    imagePullPolicy: 'IfNotPresent',
    hostname: 'webhost',
    workingDir: '/tmp',
    terminationGracePeriodSeconds: 1,
    ports: [{ containerPort: 8080, hostPort: port, hostIP: '127.0.0.1', protocol: 'TCP' }],
    resources: { limits: { memory: '64Mi', cpu: '500m', pids: '50' } },
  });
  t.same(
    Object.fromEntries((c?.spec.env ?? []).map((e) => [e.name, e.value])),
    { FROM_FILE: 'yes', OVERRIDDEN: 'flag', GREETING: 'hello' },
    '-e wins over --env-file',
  );
  t.equal(c?.metadata.labels?.['app'], 'web');
  let body = '';
  t.ok(
    await eventually(async () => {
      body = await fetch(`http://127.0.0.1:${port}/index.html`).then(
        (r) => r.text(),
        () => '',
      );
      return body.includes('hello');
    }, 30_000),
    `curl 127.0.0.1:${port} answers: ${body}`,
  );
  t.equal(body, 'hello from webhost\n');
  const inside = await berth(server, ['exec', 'web', '--', 'pwd']);
  t.equal(inside.code, 0, inside.stderr);
  t.equal(inside.stdout, '/tmp\n', 'the working directory');
  // A command that cannot start: the shell's codes, as docker's run and podman's exec exit.
  const missing = await berth(server, ['exec', 'web', '--', 'no-such-command']);
  t.equal(missing.code, 127, missing.stderr);
  const notRunnable = await berth(server, ['exec', 'web', '--', '/etc/passwd']);
  t.equal(notRunnable.code, 126, notRunnable.stderr);
  // The limits as the kernel holds them, in the container's cgroups (v1 on this host, v2 elsewhere).
  const id = c?.metadata.uid ?? '';
  const { v1, mode } = cluster.agent.host.cgroups;
  const limit = (controller: string, v1File: string, v2File: string) =>
    readFile(
      mode === 'v2' ? join('/sys/fs/cgroup/berth', id, v2File) : join(v1.get(controller) ?? '', 'berth', id, v1File),
      'utf8',
    ).then((x) => x.trim());
  t.equal(await limit('memory', 'memory.limit_in_bytes', 'memory.max'), String(64 * 1024 * 1024));
  t.equal(await limit('pids', 'pids.max', 'pids.max'), '50');
  t.match(await limit('cpu', 'cpu.cfs_quota_us', 'cpu.max'), /^50000\b/);
});

t.test('-u, --entrypoint, -e KEY from the environment', async (t) => {
  const run = await berth(server, [
    'run',
    '--rm',
    '-u',
    '1000:1001',
    '--entrypoint',
    'sh',
    image,
    '-c',
    'id -u; id -g',
  ]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, '1000\n1001\n');
});

t.test(
  '-v: a named Volume (made on first use) outlives the container; a host directory mounts read-only',
  async (t) => {
    await writeFile(join(cluster.hostPathDir, 'from-host.txt'), 'host data\n');
    const write = await berth(server, ['run', '--rm', '-v', 'data:/data', image, 'sh', '-c', 'echo kept > /data/file']);
    t.equal(write.code, 0, write.stderr);
    const vol = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/volumes/data');
    t.equal(vol.status, 200, 'berth run made the Volume');
    t.equal(vol.json<Volume>().spec?.driver, 'local');
    const read = await berth(server, [
      'run',
      '--rm',
      '-v',
      'data:/data:ro',
      '-v',
      `${cluster.hostPathDir}:/host:ro`,
      image,
      'sh',
      '-c',
      'cat /data/file /host/from-host.txt; touch /host/x 2>/dev/null && echo writable || echo read-only',
    ]);
    t.equal(read.code, 0, read.stderr);
    t.equal(read.stdout, 'kept\nhost data\nread-only\n');
  },
);

t.test('-i passes stdin; without a terminal -t says why it is not used', async (t) => {
  const run = await berth(server, ['run', '-i', '--rm', image, 'sh', '-c', 'read line; echo "got $line"; exit 2'], {
    input: 'piped\n',
  });
  t.equal(run.code, 2, run.stderr);
  t.match(run.stdout, /got piped/);
  const noTty = await berth(server, ['run', '--rm', '-t', image, 'true']);
  t.equal(noTty.code, 0, noTty.stderr);
  t.match(noTty.stderr, /Unable to use a TTY - stdin is not attached/);
});
