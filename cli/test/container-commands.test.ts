// docker's container commands beyond run/ps/stop/start/rm, against a real berth (API server, controllers, node
// agent with crun, busybox from a loopback registry): run -d --rm, ps --filter, port, kill [-s], wait, restart
// (the writable layer kept), rename, attach, cp both ways; login, contexts, completion and gitops. Needs root,
// crun, conmon, git.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort, request, startTestCluster } from '@berth/testkit';
import { berth, repo } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;
const registry = image.split('/')[0] ?? '';

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
  const trapped = await berth(server, [
    'run',
    '-d',
    '--rm',
    '--name',
    'waited',
    image,
    'sh',
    '-c',
    'trap "exit 3" TERM; while true; do sleep 0.1; done',
  ]);
  t.equal(trapped.code, 0, trapped.stderr);
  // wait starts first; the TERM makes it exit 3, and auto-remove deletes it at once.
  const waiting = berth(server, ['wait', 'waited']);
  t.equal((await berth(server, ['kill', '-s', 'TERM', 'waited'])).code, 0);
  const wait = await waiting;
  t.equal(wait.stdout, '3\n', `wait prints the exit code of a --rm container, as docker does: ${wait.stderr}`);
  t.ok(await eventually(async () => (await getContainer('waited')) === undefined, 30_000), 'and it was removed');
});

t.test('pull progress per layer; ps --filter: name, label, ancestor, id and status as docker filters', async (t) => {
  t.equal(web.code, 0, web.stderr);
  t.match(
    web.stderr,
    /^Pulling image \S+ …\n([0-9a-f]{12}: (Downloading|Download complete)\n)*[0-9a-f]{12}: Pull complete\n$/,
    "the first pull shows docker's per-layer lines (plain, not a terminal)",
  );
  const done = await berth(server, ['run', '--name', 'done', image, 'true']);
  t.equal(done.code, 0, done.stderr);
  const names = async (...filters: string[]) =>
    (await berth(server, ['ps', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])])).stdout;
  t.equal(await names('name=we'), 'web\n', 'a name matches as a substring');
  t.equal(await names('label=app=web', 'ancestor=busybox'), 'web\n', 'a label, and the image without registry and tag');
  t.equal(
    await names('status=exited', 'status=running', 'name=^d'),
    'done\n',
    'a status filter reaches stopped ones without -a; keys AND, values OR',
  );
  const id = ((await getContainer('web'))?.metadata.uid ?? '').replace(/-/g, '').slice(0, 6);
  t.equal(await names(`id=${id}`, 'label=app=db'), '', 'an id matches, a label does not');
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

t.test(
  'kill -s HUP reaches the process; cp in and out; restart keeps the writable layer; kill stops it; wait',
  async (t) => {
    const hup = await berth(server, ['kill', '-s', 'HUP', 'web']);
    t.equal(hup.code, 0, hup.stderr);
    t.equal(hup.stdout, 'web\n');
    const log = async () =>
      (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/log')).text;
    t.ok(await eventually(async () => /got HUP/.test(await log()), 20_000), 'the trap ran');
    t.match(await getContainer('web'), { status: { phase: 'Running' } }, 'a trapped HUP leaves it running');

    const dir = await mkdtemp(join(tmpdir(), 'berth-cp-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'written'), 'kept\n');
    const copyIn = await berth(server, ['cp', join(dir, 'written'), 'web:/tmp']);
    t.equal(copyIn.code, 0, copyIn.stderr);
    const restart = await berth(server, ['restart', '-t', '0', 'web']);
    t.equal(restart.code, 0, restart.stderr);
    t.equal(restart.stdout, 'web\n');
    t.ok(
      await eventually(async () => /^started\ngot HUP\nstarted\n/.test(await log()), 20_000),
      "the log keeps the first run's lines and goes on after them, as docker's does",
    );
    const copyOut = await berth(server, ['cp', 'web:/tmp/written', join(dir, 'back.txt')]);
    t.equal(copyOut.code, 0, copyOut.stderr);
    t.equal(
      await readFile(join(dir, 'back.txt'), 'utf8'),
      'kept\n',
      "cp both ways; the container's writes survive a restart",
    );
    const missing = await berth(server, ['cp', 'web:/nope', dir]);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /^berth: copying failed in container web \(tar exit code 1\): tar: .*nope/);

    const kill = await berth(server, ['kill', 'web']);
    t.equal(kill.code, 0, kill.stderr);
    t.match(await getContainer('web'), { spec: { stopped: true }, status: { exitCode: 137 } });
    const wait = await berth(server, ['wait', 'web']);
    t.equal(wait.stdout, '137\n');
    const again = await berth(server, ['kill', 'web']);
    t.equal(again.code, 1);
    t.match(again.stderr, /^berth: cannot kill container: web: container web is not running\n$/);
  },
);

t.test('rename: the same spec under the new name; the old name is free', async (t) => {
  const rename = await berth(server, ['rename', 'web', 'site']);
  t.equal(rename.code, 0, rename.stderr);
  t.equal(await getContainer('web'), undefined);
  t.match(await getContainer('site'), { metadata: { labels: { app: 'web' } }, spec: { stopped: true } });
});

t.test('login stores a dockerconfigjson Secret that run names for pulls; logout takes the registry out', async (t) => {
  const login = await berth(server, ['login', registry, '-u', 'me', '--password-stdin'], { input: 'secret\n' });
  t.equal(login.code, 0, login.stderr);
  t.match(login.stdout, /^Login Succeeded/);
  const secret = (await request(server, 'GET', '/api/v1/namespaces/default/secrets/berth-registry-login')).json<{
    type: string;
    data: Record<string, string>;
  }>();
  t.equal(secret.type, 'kubernetes.io/dockerconfigjson');
  t.same(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'] ?? '', 'base64').toString()), {
    auths: { [registry]: { auth: Buffer.from('me:secret').toString('base64') } },
  });
});

t.test('attach: stdin to the container, its output back, its exit code', async (t) => {
  const run = await berth(server, [
    'run',
    '-d',
    '-i',
    '--name',
    'reader',
    image,
    'sh',
    '-c',
    'read x; echo "got $x"; exit 4',
  ]);
  t.equal(run.code, 0, run.stderr);
  const attach = await berth(server, ['attach', 'reader'], { input: 'hello\n' });
  t.equal(attach.stdout, 'got hello\n', attach.stderr);
  t.equal(attach.code, 4);
  t.same(
    (await getContainer('reader'))?.spec.imagePullSecrets,
    [{ name: 'berth-registry-login' }],
    'pulled with the login',
  );
  const logout = await berth(server, ['logout', registry]);
  t.equal(logout.stdout, `Removing login credentials for ${registry}\n`, logout.stderr);
});

t.test('context create, use, ls and rm over a kubeconfig; completion scripts from the commands', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-context-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'config');
  await writeFile(kubeconfig, await readFile(server.kubeconfig));
  const env = { KUBECONFIG: kubeconfig };
  const create = await berth(server, ['context', 'create', 'staging', '-n', 'stage'], { env });
  t.equal(create.code, 0, create.stderr);
  t.equal((await berth(server, ['context', 'use', 'staging'], { env })).code, 0);
  const ls = await berth(server, ['context', 'ls', '--format', '{{.Name}} {{.Namespace}}'], { env });
  t.match(ls.stdout, /^staging \* stage$/m, 'the new context is current, with its namespace');
  const rmCurrent = await berth(server, ['context', 'rm', 'staging'], { env });
  t.equal(rmCurrent.code, 1);
  t.match(rmCurrent.stderr, /context "staging" is in use/);

  const berthFn = `berth() { KUBECONFIG=${server.kubeconfig} ${process.execPath} ${join(repo, 'cli/dist/main.js')} "$@"; }`;
  const complete = (words: string) =>
    `COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _berth; echo "\${COMPREPLY[*]}"`;
  const script = [
    berthFn,
    'eval "$(berth completion bash)"',
    complete('berth netw'),
    complete('berth volume cr'),
    complete('berth run --det'),
    complete('berth logs re'),
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('bash', ['-c', script], (e, stdout, stderr) => (e === null ? resolve(stdout) : reject(new Error(stderr)))),
  );
  t.equal(out, 'network\ncreate\n--detach\nreader\n', 'commands, subcommands, options and container names');
});

t.test('gitops create, get, reconcile, suspend and resume a GitRepository; create and reconcile a Sync', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gitops-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], (e) =>
        e === null ? resolve() : reject(e),
      ),
    );
  await git('init', '-q', '-b', 'main');
  await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-git}\n');
  await git('add', '.');
  await git('commit', '-qm', 'one');
  const made = await berth(server, [
    'gitops',
    'create',
    'source',
    'repo',
    '--url',
    `file://${dir}`,
    '--interval',
    '1h',
  ]);
  t.equal(made.stdout, 'GitRepository repo: applied\n', made.stderr);
  const twoRefs = await berth(server, [
    'gitops',
    'create',
    'source',
    'x',
    '--url',
    `file://${dir}`,
    '--tag',
    'v1',
    '--commit',
    'abc',
  ]);
  t.equal(twoRefs.code, 125, 'two refs are a usage error');
  t.match(twoRefs.stderr, /give one of --branch, --tag, --semver and --commit/);
  const reconcile = await berth(server, ['gitops', 'reconcile', 'source', 'repo']);
  t.equal(reconcile.code, 0, reconcile.stderr);
  t.match(reconcile.stdout, /GitRepository repo: ready at revision main@sha1:[0-9a-f]{40}/);
  const get = await berth(server, ['gitops', 'get', 'sources', '--format', '{{.Name}} {{.Revision}} {{.Ready}}']);
  t.match(get.stdout, /^repo main@sha1:[0-9a-f]{40} True\n$/);
  t.equal((await berth(server, ['gitops', 'suspend', 'source', 'repo'])).stdout, 'GitRepository repo: suspended\n');
  const suspended = await berth(server, ['gitops', 'reconcile', 'source', 'repo']);
  t.equal(suspended.code, 1);
  t.match(suspended.stderr, /is suspended: resume it first/);
  t.equal((await berth(server, ['gitops', 'resume', 'source', 'repo'])).stdout, 'GitRepository repo: resumed\n');
  const sync = await berth(server, [
    'gitops',
    'create',
    'sync',
    'app',
    '--source',
    'repo',
    '--interval',
    '1h',
    '--prune',
  ]);
  t.equal(sync.stdout, 'Sync app: applied\n', sync.stderr);
  const applied = await berth(server, ['gitops', 'reconcile', 'sync', 'app']);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /Sync app: ready at revision main@sha1:[0-9a-f]{40}/);
  t.equal((await request(server, 'GET', '/api/v1/namespaces/default/configmaps/from-git')).status, 200, 'applied');
});

t.test(
  'compose: a healthcheck is a readiness probe depends_on waits for; configs and secrets are mounted files',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'token.txt'), 's3cret\n');
    const idle = 'trap \\"exit 0\\" TERM; while true; do sleep 0.1; done';
    await writeFile(
      join(dir, 'compose.yaml'),
      `name: files
services:
  db:
    image: ${image}
    command: ["sh", "-c", "touch /tmp/ready; ${idle}"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, retries: 2}
  web:
    image: ${image}
    command: ["sh", "-c", "cat /app.conf /run/secrets/token; ${idle}"]
    depends_on: {db: {condition: service_healthy}}
    configs: [{source: app, target: /app.conf}]
    secrets: [token]
# Inline content is the Compose specification's for configs only; a secret comes from a file (or the environment).
configs:
  app: {content: "mode=fast\\n"}
secrets:
  token: {file: ./token.txt}
`,
    );
    const up = await berth(server, ['compose', 'up', '-d'], { cwd: dir });
    t.equal(up.code, 0, up.stderr);
    const db = await getContainer('files-db-1');
    t.match(db?.spec.readinessProbe, {
      exec: { command: ['test', '-f', '/tmp/ready'] },
      periodSeconds: 1,
      failureThreshold: 2,
    });
    t.equal(db?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'web started once db was healthy');
    const log = async () =>
      (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/files-web-1/log')).text;
    await eventually(async () => /s3cret/.test(await log()), 20_000);
    t.equal(await log(), 'mode=fast\ns3cret\n', 'the config and the secret as files');
    const down = await berth(server, ['compose', 'down'], { cwd: dir });
    t.equal(down.code, 0, down.stderr);
    t.equal(
      (await request(server, 'GET', '/api/v1/namespaces/default/configmaps/files-app')).status,
      404,
      'down removes them',
    );
  },
);
