// `berth volume …`, `berth network …`, `berth version` against a real berth (API server, controllers, node agent
// with crun, busybox from a loopback registry): Volume and Network objects in docker's columns, and a container
// that uses them; kubectl's verbs (apply -f, get, describe, delete), info, system df|prune, volume prune and
// network connect; login's check at a registry that wants credentials. Needs root, crun, conmon, htpasswd.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Container, Volume } from '@berth/api';
import { eventually, freePort, request, startRegistry, startTestCluster } from '@berth/testkit';
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
  const quietPull = await berth(server, ['pull', '-q', '--wait', '60', image]);
  t.equal(quietPull.stdout, `${image}\n`, `pull -q prints only the reference: ${quietPull.stderr}`);
  t.match((await berth(server, ['images', '-q'])).stdout, /^([0-9a-f]{12}\n)+$/, 'images -q: only ids');
  t.match((await berth(server, ['ps', '-aq'])).stdout, /^([0-9a-f]{12}\n)+$/, 'ps -aq: only ids, stopped ones too');
  const objects = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/images');
  t.match(objects.json<{ items: Array<{ spec: { image: string; pullPolicy: string } }> }>().items, [
    { spec: { image, pullPolicy: 'Always' } },
  ]);
});

// Shared by the two tests below: what `apply` made, `network connect`, the prunes and `delete -f` then use.
const manifests = await mkdtemp(join(tmpdir(), 'berth-apply-'));
t.teardown(() => rm(manifests, { recursive: true, force: true }));
const manifest = join(manifests, 'app.yaml');

t.test('apply -f (server-side) twice, get (table, -o yaml, unknown kind), describe with Events', async (t) => {
  await writeFile(
    manifest,
    `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: berth.dev/v1alpha1
kind: Network
metadata: {name: joined}
spec: {subnet: 10.215.9.0/24}
---
apiVersion: berth.dev/v1alpha1
kind: Network
metadata: {name: spare}
---
apiVersion: berth.dev/v1alpha1
kind: Volume
metadata: {name: named-kept}
---
apiVersion: berth.dev/v1alpha1
kind: Container
metadata: {name: applied, labels: {app: applied}}
spec:
  image: ${image}
  command: [sh, -c, 'test -f /tmp/f && printf again; touch /tmp/f; printf ready; trap "exit 0" TERM; while true; do sleep 0.1; done']
`,
  );
  const apply = await berth(server, ['apply', '-f', manifests]);
  t.equal(apply.code, 0, apply.stderr);
  t.equal(
    apply.stdout,
    'configmap/settings serverside-applied\nnetwork.berth.dev/joined serverside-applied\n' +
      'network.berth.dev/spare serverside-applied\nvolume.berth.dev/named-kept serverside-applied\n' +
      'container.berth.dev/applied serverside-applied\n',
  );
  const settings = async () =>
    (await request(server, 'GET', '/api/v1/namespaces/default/configmaps/settings')).json<{
      metadata: { resourceVersion: string; managedFields: { manager: string; operation: string }[] };
    }>().metadata;
  t.match((await settings()).managedFields, [{ manager: 'berth-cli', operation: 'Apply' }], 'by server-side apply');
  const before = (await settings()).resourceVersion;
  const again = await berth(server, ['apply', '-f', '-'], { input: await readFile(manifest, 'utf8') });
  t.equal(again.code, 0, again.stderr);
  t.equal((await settings()).resourceVersion, before, 'applying the same file again changes nothing');
  const ctr = async () =>
    (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/applied')).json<Container>();
  t.ok(await eventually(async () => (await ctr()).status?.phase === 'Running', 30_000), 'the agent runs it');
  const table = await berth(server, ['get', 'ctr', '-l', 'app=applied']);
  t.match(
    table.stdout,
    /^NAME +IMAGE +STATUS +NODE +IP +RESTARTS +AGE\napplied +\S+busybox\S* +Running /,
    table.stderr,
  );
  const yaml = await berth(server, ['get', 'configmap', 'settings', '-o', 'yaml']);
  t.match(yaml.stdout, /^apiVersion: v1\nkind: ConfigMap\nmetadata:\n {2}name: settings\n/);
  t.notMatch(yaml.stdout, /managedFields/, 'managed fields hidden, as kubectl hides them');
  const describe = await berth(server, ['describe', 'container', 'applied']);
  t.match(describe.stdout, /^Name: +applied\nNamespace: +default\nLabels: +app=applied\n/);
  t.match(describe.stdout, /\nSpec:\n {2}Image: +\S+\n/);
  t.match(
    describe.stdout,
    /\nEvents:\n {2}Type +Reason +Age +From +Message\n[\s\S]*Normal +Started +\S+ +\S+ +Started container applied/,
  );
  const unknown = await berth(server, ['get', 'gizmos']);
  t.equal(unknown.code, 125);
  t.equal(unknown.stderr, 'berth: the server doesn\'t have a resource type "gizmos" (see: kubectl api-resources)\n');
});

t.test(
  'info; network connect|disconnect (restarts that keep the files); system df; system and volume prune; delete -f',
  async (t) => {
    const info = await berth(server, ['info']);
    t.equal(info.code, 0, info.stderr);
    t.match(info.stdout, /\n Server Version: v\d+\.\d+\.\d+\S*\n Store: level\n/, 'the store, from /readyz?verbose');
    t.match(
      info.stdout,
      /\n Containers: \d+\n {2}Running: [1-9]\d*\n {2}Paused: 0\n {2}Stopped: [1-9]\d*\n Images: [1-9]/,
    );
    t.match(
      info.stdout,
      /\n Nodes: 1 \(1 ready\)\n Node: \S+\n {2}Storage Driver: overlay\n {2}Runtimes: (crun|runc):\/\/\S+/,
    );
    t.match(info.stdout, /\n {2}Cgroup Version: (1|2|hybrid)\n {2}Kernel Version: \S+/);
    t.match(info.stdout, /\n {2}Security Options:\n( {3}name=seccomp,profile=builtin\n)? {3}name=no-new-privileges\n$/);

    const connect = await berth(server, ['network', 'connect', 'joined', 'applied']);
    t.equal(connect.code, 0, connect.stderr);
    t.match(
      connect.stderr,
      /container applied is restarted to attach it to network joined/,
      'says it restarts, as podman',
    );
    const inside = await berth(server, ['exec', 'applied', '--', 'ip', '-4', 'addr', 'show', 'eth0']);
    t.match(inside.stdout, /inet 10\.215\.9\.\d+\/24/, 'on the network');
    // The second run found the first one's file; the log holds both runs, each ending without a newline.
    const log = await berth(server, ['logs', 'applied']);
    t.equal(log.stdout, 'readyagainready', `writable layer and log kept across the restart: ${log.stderr}`);

    t.equal((await berth(server, ['volume', 'create'])).code, 0);
    const df = await berth(server, ['system', 'df']);
    t.match(
      df.stdout,
      /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +[1-9]\d* +[1-9]\d* +\d[\d.]*[kMG]?B +\S+.*\nContainers +\d+ +[1-9]\d* +\d[\d.]*[kMG]?B +\S+.*\nLocal Volumes +\d+ +\d+ +\d[\d.]*[kMG]?B +\S+.*\nBuild Cache /,
      'real sizes, measured by the node agent',
    );
    // `keep` (images, above) has exited; `applied` runs on `joined`; `spare` and the anonymous volume are unused.
    const prune = await berth(server, ['system', 'prune', '-f', '--volumes']);
    t.equal(prune.code, 0, prune.stderr);
    t.match(prune.stdout, /^Deleted Containers:\n([\s\S]*\n)?keep\n/);
    t.notMatch(prune.stdout, /\napplied\n|\njoined\n|named-kept/, 'what runs, its network and a named volume stay');
    t.match(prune.stdout, /\nDeleted Networks:\n([\s\S]*\n)?spare\n/);
    t.match(prune.stdout, /\nDeleted Volumes:\n[0-9a-f]{48}\n/, 'the anonymous volume');
    const volumePrune = await berth(server, ['volume', 'prune', '-a', '-f']);
    t.match(volumePrune.stdout, /^Deleted Volumes:\n([\s\S]*\n)?named-kept\n/, volumePrune.stderr);
    const disconnect = await berth(server, ['network', 'disconnect', 'joined', 'applied']);
    t.match(disconnect.stderr, /container applied is restarted to detach it from network joined/);
    const back = (
      await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/applied')
    ).json<Container>();
    t.same(back.spec.networks ?? [], [], 'no Network named: the default network again');
    t.equal(back.status?.phase, 'Running', 'and running');
    const del = await berth(server, ['delete', '--ignore-not-found', '-f', manifest]);
    t.equal(
      del.stdout,
      'configmap/settings deleted\nnetwork.berth.dev/joined deleted\ncontainer.berth.dev/applied deleted\n',
      del.stderr,
    );
    t.equal(
      (await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/applied')).status,
      404,
      'delete waited until the node took it down',
    );
  },
);

t.test('system df -v: the writable layer, the volume and the image as the node agent measured them', async (t) => {
  t.equal((await berth(server, ['volume', 'create', 'df-data'])).code, 0);
  // Exited, not removed: its writable layer holds what it wrote (300,000 bytes), and so does the volume (50,000).
  const run = await berth(server, [
    'run',
    '--name',
    'df-writer',
    '-v',
    'df-data:/data',
    image,
    'sh',
    '-c',
    'head -c 300000 /dev/zero > /big && head -c 50000 /dev/zero > /data/f',
  ]);
  t.equal(run.code, 0, run.stderr);
  t.teardown(async () => {
    await berth(server, ['rm', '-f', 'df-writer']);
    await berth(server, ['volume', 'rm', '-f', 'df-data']);
  });
  const df = await berth(server, ['system', 'df', '-v']);
  t.equal(df.code, 0, df.stderr);
  const row = (name: string) =>
    df.stdout.split('\n').find((l) => l.trimEnd().endsWith(` ${name}`) || l.startsWith(`${name} `));
  t.match(row('df-writer'), /^[0-9a-f]{12} +\S+ +"sh -c head -c 30000…" +1 +300kB +.* Exited \(0\) .* df-writer$/);
  t.match(row('df-data'), /^df-data +1 +50kB$/, 'its one link: df-writer');
  // busybox: one layer, about 2 MB unpacked, used by df-writer (and others here, some maybe sharing its layer).
  t.match(
    df.stdout,
    /\nImages space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n/,
  );
  t.match(
    df.stdout,
    new RegExp(
      `\\n${image.replace(/:latest$/, '').replace(/[.]/g, '\\.')} +latest +[0-9a-f]{12} +.* +[12](\\.\\d+)?MB +\\S+ +\\S+ +[1-9]\\d*\\n`,
    ),
  );
  t.match(df.stdout, /\nBuild cache usage: \d[\d.]*[kMG]?B\n\nCACHE ID +CACHE TYPE +SIZE +SHARED\n/);
  const summary = df.stdout.split('\n').find((l) => l.startsWith('Containers '));
  t.match(summary, /^Containers +\d+ +\d+ +\d[\d.]*[kMG]?B +\d[\d.]*[kMG]?B \(\d+%\)$/);
  t.ok(!/N\/A/.test(df.stdout), 'every size is known');
  const ps = await berth(server, ['ps', '-a', '-s', '--filter', 'name=df-writer']);
  t.match(
    ps.stdout,
    /^CONTAINER ID .* NAMES +SIZE\n[0-9a-f]{12} .* df-writer +300kB \(virtual 2\.\d+MB\)\n$/,
    `ps -s: ${ps.stderr}`,
  );
  const json = await berth(server, ['system', 'df', '--format', 'json']);
  t.same(
    json.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const row = JSON.parse(l) as { Type: string };
        return `${Object.keys(row).join(',')}:${row.Type}`;
      }),
    ['Images', 'Containers', 'Local Volumes', 'Build Cache'].map(
      (type) => `Type,TotalCount,Active,Size,Reclaimable:${type}`,
    ),
    "docker's fields, one line a type",
  );
});

t.test('login checks the credentials at the registry (its Basic round trip) before it stores them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-login-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const htpasswd = await new Promise<string>((resolve, reject) =>
    execFile('htpasswd', ['-Bbn', 'alice', 's3cret'], (e, out) => (e === null ? resolve(out) : reject(e))),
  );
  await writeFile(join(dir, 'htpasswd'), htpasswd);
  const guarded = await startRegistry(t, { htpasswd: join(dir, 'htpasswd') });
  const login = (password: string, address = guarded.address) =>
    berth(server, ['login', address, '-u', 'alice', '--password-stdin'], { input: `${password}\n` });
  const wrong = await login('nope');
  t.equal(wrong.code, 1);
  t.equal(wrong.stderr, `berth: login attempt to http://${guarded.address}/v2/ failed with status: 401 Unauthorized\n`);
  const secret = () => request(server, 'GET', '/api/v1/namespaces/default/secrets/berth-registry-login');
  t.equal((await secret()).status, 404, 'nothing stored');
  const unreachable = await login('s3cret', `127.0.0.1:${await freePort()}`);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /^berth: Get "http:\/\/127\.0\.0\.1:\d+\/v2\/": connect ECONNREFUSED/);
  const right = await login('s3cret');
  t.match(right.stdout, /^Login Succeeded/, right.stderr);
  const stored = (await secret()).json<{ data: Record<string, string> }>();
  t.same(
    Object.keys(JSON.parse(Buffer.from(stored.data['.dockerconfigjson'] ?? '', 'base64').toString()).auths),
    [guarded.address],
    'only the checked credentials',
  );
});
