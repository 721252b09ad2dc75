// Several `berth up` on one etcd (TLS with a client certificate), each on its own data dir, so nothing comes from the
// disk of another: they serve the same objects at the same resourceVersions, and with one --token they share the
// cluster's identity (CA, admin token, ServiceAccount key, Secrets key), so one kubeconfig and one ServiceAccount
// token work against either. An agent joins with a bootstrap token (`berth token create`, `berth agent --server
// --token`) and works with its own node certificate; when the server it works through (a `berth up` process) is
// killed -9 it moves to the other (its kubeconfig lists both), and the CLI does too; the controller manager fails over
// to the other server when its leader process is killed -9. The servers, the agent and the standby controllers run in this process (the same code
// `berth up`, `berth agent` and `berth controllers` run; a process each costs seconds of CPU on a loaded machine); the
// controller leader that is killed and `berth token create` run as the built CLI. Then backups: on etcd, restored
// into the live store (a watch sees the restore as changes), and of the embedded store, restored and migrated to etcd,
// each read back with kubectl; last, etcd's own snapshot, restored with etcdctl under a restarted server.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { createClientCertificateRequest } from '@berth/apiserver';
import {
  etcdctlBinary,
  eventually,
  freePort,
  kubectlBinary,
  pushBusybox,
  startRegistry,
  startTestEtcd,
} from '@berth/testkit';
import { agent as startAgent } from '../src/commands/agent.js';
import { backup, migrate, restore } from '../src/commands/backup.js';
import { controllers as startControllers } from '../src/commands/controllers.js';
import { up as startUp, type RunningBerth } from '../src/commands/up.js';
import { berthMain as main } from './berth-process.js';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
}

/** `berth ARGS` as a long-running process; resolves once its output shows `ready`. */
function startProcess(args: readonly string[], ready: string, env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve({ child, output: () => out });
    });
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.once('exit', (code) => reject(new Error(`berth ${args[0]} exited ${code}: ${out}`)));
  });
}

/** `berth ARGS` to its end. */
function runBerth(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill(signal);
  await exited;
}

interface Kubeconfig {
  clusters: {
    cluster: {
      server: string;
      'certificate-authority-data': string;
      extensions?: { name: string; extension: { servers: string[] } }[];
    };
  }[];
  users: { user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}
const readKubeconfig = async (path: string) => parse(await readFile(path, 'utf8')) as Kubeconfig;
/** The servers a kubeconfig lists for failover (berth's cluster extension). */
const listedServers = (kc: Kubeconfig) =>
  kc.clusters[0]?.cluster.extensions?.find((e) => e.name === 'berth.dev/servers')?.extension.servers;

interface Credential {
  readonly server: string;
  readonly ca: string;
  readonly token?: string;
  readonly cert?: string;
  readonly key?: string;
}
async function credential(kubeconfig: string): Promise<Credential> {
  const kc = await readKubeconfig(kubeconfig);
  const cluster = kc.clusters[0]?.cluster;
  const user = kc.users[0]?.user;
  if (cluster === undefined || user === undefined) throw new Error('kubeconfig without cluster or user');
  const b64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString());
  const cert = b64(user['client-certificate-data']);
  const key = b64(user['client-key-data']);
  return {
    server: cluster.server,
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
    ...(user.token === undefined ? {} : { token: user.token }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
  };
}

/** One request with a credential (its CA checked), optionally to another server than its own. */
function api(
  who: Credential,
  method: string,
  path: string,
  body?: unknown,
  server = who.server,
): Promise<{ status: number; json: () => unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, server),
      {
        method,
        ca: who.ca,
        ...(who.cert === undefined ? {} : { cert: who.cert, key: who.key }),
        headers: {
          ...(who.token === undefined ? {} : { Authorization: `Bearer ${who.token}` }),
          'Content-Type': 'application/json',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, text, json: () => JSON.parse(text) as unknown }));
      },
    );
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const etcd = await startTestEtcd({ tls: true });
t.teardown(() => etcd.close());
const dir = await mkdtemp(join(tmpdir(), 'berth-up-etcd-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const tls = etcd.tls;
if (tls?.cert === undefined || tls.key === undefined) throw new Error('fixture without a client certificate');
await writeFile(join(dir, 'etcd-ca.crt'), tls.ca);
await writeFile(join(dir, 'etcd-client.crt'), tls.cert);
await writeFile(join(dir, 'etcd-client.key'), tls.key);
const serverToken = 'correct-horse-battery-staple';
const upOptions = async (name: string, token: string) => ({
  dataDir: join(dir, name),
  listen: `127.0.0.1:${await freePort()}`,
  kubeconfig: join(dir, `${name}.kubeconfig`),
  agent: false,
  controllers: false,
  logLevel: 'warn',
  token,
  store: etcd.storeUrl,
  etcdCafile: join(dir, 'etcd-ca.crt'),
  etcdCertfile: join(dir, 'etcd-client.crt'),
  etcdKeyfile: join(dir, 'etcd-client.key'),
});
const up = async (name: string): Promise<{ running: RunningBerth; kubeconfig: string; close: () => Promise<void> }> => {
  const running = await startUp(await upOptions(name, serverToken));
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= running.close());
  t.teardown(close);
  return { running, kubeconfig: running.kubeconfigPath, close };
};

const first = await up('first');
const admin = await credential(first.kubeconfig);
const second = await up('second');
const secondUrl = second.running.server.url;
// The controller leader of the failover subtest, a process; started now, so its start-up (seconds of CPU) overlaps
// the subtests before it. It acts on the first server as a controller manager does (nothing there needs it before).
const leaderStarting = startProcess(
  [
    'controllers',
    '--kubeconfig',
    first.kubeconfig,
    '--leader-elect-lease-duration',
    '3',
    '--leader-elect-renew-deadline',
    '2',
    '--leader-elect-retry-period',
    '0.5',
    '--log-level',
    'warn',
  ],
  'started',
);
leaderStarting.catch(() => undefined);
t.teardown(async () => stop(await leaderStarting));
// The server the joined agent works through, a `berth up` process of its own to be killed -9 (started now too).
const doomedPort = await freePort();
const doomedUrl = `https://127.0.0.1:${doomedPort}`;
const doomedStarting = startProcess(
  [
    'up',
    '--no-agent',
    '--no-controllers',
    '--log-level',
    'warn',
    '--data-dir',
    join(dir, 'doomed'),
    '--listen',
    `127.0.0.1:${doomedPort}`,
    '--kubeconfig',
    join(dir, 'doomed.kubeconfig'),
    '--store',
    etcd.storeUrl,
    '--etcd-cafile',
    join(dir, 'etcd-ca.crt'),
    '--etcd-certfile',
    join(dir, 'etcd-client.crt'),
    '--etcd-keyfile',
    join(dir, 'etcd-client.key'),
    '--servers',
    secondUrl,
  ],
  'berth is up',
  { ...process.env, BERTH_TOKEN: serverToken },
);
doomedStarting.catch(() => undefined);
t.teardown(async () => stop(await doomedStarting));
const registry = await startRegistry(t);
const imagePushed = pushBusybox(t, registry.address);
imagePushed.catch(() => undefined);
/** The agent that joined, once it has; it runs until the subtest after its own is done with it. */
let joined: { node: string; kubeconfig: string; agent: Awaited<ReturnType<typeof startAgent>> } | undefined;
t.teardown(() => joined?.agent.close());

t.test('two berth up on one etcd share the objects and the cluster identity', async (t) => {
  const created = await api(admin, 'POST', '/api/v1/namespaces/default/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kept-in-etcd' },
    data: { where: 'etcd' },
  });
  t.equal(created.status, 201, 'the first berth up writes');
  const rv = Number((created.json() as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
  const got = await api(
    await credential(second.kubeconfig),
    'GET',
    '/api/v1/namespaces/default/configmaps/kept-in-etcd',
  );
  t.equal(got.status, 200, 'a berth up on another data dir serves it');
  const cm = got.json() as { data: { where: string }; metadata: { resourceVersion: string } };
  t.same(cm.data, { where: 'etcd' });
  t.equal(Number(cm.metadata.resourceVersion), rv, "the resourceVersion is etcd's mod revision of the write");
  // Where a Kubernetes user looks for the store (kube-apiserver's etcd check), and berth info's line from it.
  const readyz = await kubectl(second.kubeconfig, ['get', '--raw', '/readyz?verbose']);
  t.match(readyz.out, /^\[\+\]ping ok\n\[\+\]etcd ok\nreadyz check passed\n$/);
  const info = await runBerth(['info'], { ...process.env, KUBECONFIG: second.kubeconfig, NO_COLOR: '1' });
  t.match(info.out, /\n Store: etcd\n/);

  // The first server's kubeconfig, pointed at the second: its CA verifies the second's serving certificate and its
  // admin token is the second's too.
  const ns = await api(admin, 'GET', '/api/v1/namespaces/default', undefined, secondUrl);
  t.equal(ns.status, 200, "the first server's kubeconfig works against the second");
  t.equal((await credential(second.kubeconfig)).ca, admin.ca, 'both kubeconfigs hold the one cluster CA');
  // Secrets are sealed at rest with the shared key: one server writes, the other reads them.
  const secret = await api(admin, 'POST', '/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'shared-key' },
    stringData: { password: 's3cret' },
  });
  t.equal(secret.status, 201);
  const read = await api(admin, 'GET', '/api/v1/namespaces/default/secrets/shared-key', undefined, secondUrl);
  t.equal((read.json() as { data?: { password?: string } }).data?.password, Buffer.from('s3cret').toString('base64'));
  // A ServiceAccount token signed by the first server is accepted by the second.
  const tr = await api(admin, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {},
  });
  t.equal(tr.status, 201);
  const saToken = (tr.json() as { status: { token: string } }).status.token;
  const who = await api(
    { ...admin, token: saToken },
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    },
    secondUrl,
  );
  t.equal(
    (who.json() as { status?: { userInfo?: { username?: string } } }).status?.userInfo?.username,
    'system:serviceaccount:default:default',
    "the second server accepts the first's ServiceAccount token",
  );
  // Another token does not open what the first server stored: that server refuses to start.
  await t.rejects(
    startUp(await upOptions('wrong', 'another-token')),
    /server token does not open the cluster identity/,
    'a server with another token does not start',
  );
});

t.test('an agent joins with a bootstrap token and then works as its node', async (t) => {
  const env = { ...process.env, KUBECONFIG: first.kubeconfig, HOME: dir };
  const made = await runBerth(['token', 'create', '--ttl', '10m'], env);
  t.equal(made.code, 0, made.out);
  const token = made.out.trim();
  t.match(
    token,
    /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/,
    "k3s's shape: the CA's hash, then kubeadm's id.secret",
  );
  const [, bare] = token.split('::') as [string, string];
  const id = bare.split('.')[0];
  const stored = await api(admin, 'GET', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${id}`);
  t.equal(
    (stored.json() as { type?: string }).type,
    'bootstrap.kubernetes.io/token',
    'a kubeadm bootstrap token Secret',
  );

  // The bootstrap token is a bootstrapper and nothing more.
  const bootstrapper = { ...admin, token: bare };
  t.equal((await api(bootstrapper, 'GET', '/api/v1/namespaces/kube-system/secrets')).status, 403);
  const { request } = await createClientCertificateRequest('mallory', ['system:masters']);
  const csr = (req: string) => ({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: 'node-csr-' },
    spec: { request: Buffer.from(req).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet' },
  });
  const forged = await api(
    bootstrapper,
    'POST',
    '/apis/certificates.k8s.io/v1/certificatesigningrequests',
    csr(request),
  );
  t.equal(forged.status, 422, 'only a node identity is signed');
  // An expired token stands for no one.
  const expired = await api(admin, 'POST', '/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bootstrap-token-xpired' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': 'xpired',
      'token-secret': '0123456789abcdef',
      expiration: '2020-01-01T00:00:00Z',
      'usage-bootstrap-authentication': 'true',
    },
  });
  t.equal(expired.status, 201);
  const late = await api({ ...admin, token: 'xpired.0123456789abcdef' }, 'GET', '/api/v1/namespaces/default');
  t.equal(late.status, 401, 'an expired bootstrap token is refused');

  const node = `joined-${id}`;
  const agentDir = join(dir, node);
  await doomedStarting;
  const agentOptions = (tok: string, d: string) => ({
    server: `${doomedUrl},${secondUrl}`,
    token: tok,
    nodeName: node,
    dataDir: d,
    runtimeRoot: join(d, 'run', 'crun'),
    logLevel: 'warn',
  });
  await t.rejects(
    startAgent(agentOptions(`${token.slice(0, -1)}x`, join(dir, 'refused'))),
    /refused the join \(401\)/,
    'a wrong token does not join',
  );
  const agent = await startAgent(agentOptions(token, agentDir));
  joined = { node, kubeconfig: join(agentDir, 'kubeconfig'), agent };
  const nodeCred = await credential(join(agentDir, 'kubeconfig'));
  t.equal(nodeCred.token, undefined, 'the agent keeps no bootstrap token');
  t.equal(new X509Certificate(nodeCred.cert ?? '').subject, `CN=system:node:${node}\nO=system:nodes`);
  t.ok(new X509Certificate(nodeCred.cert ?? '').checkIssued(new X509Certificate(admin.ca)), 'signed by the cluster CA');
  t.ok(
    await eventually(async () => (await api(admin, 'GET', `/api/v1/nodes/${node}`)).status === 200, 20_000),
    'the joined agent registered its Node',
  );
  // Its own credential, against either server; the node authorizer keeps it to its own graph.
  t.equal((await api(nodeCred, 'GET', `/api/v1/nodes/${node}`, undefined, admin.server)).status, 200);
  t.equal((await api(nodeCred, 'GET', `/api/v1/namespaces/default/secrets/shared-key`)).status, 403);
});

t.test('the agent and the CLI move to the other server when theirs is killed -9', async (t) => {
  if (joined === undefined) throw new Error('no agent joined');
  const listed = await readKubeconfig(joined.kubeconfig);
  t.equal(listed.clusters[0]?.cluster.server, doomedUrl, 'the agent joined through the first server of its list');
  t.same(listedServers(listed), [doomedUrl, secondUrl], 'its kubeconfig lists both');
  const doomed = await doomedStarting;
  t.same(
    listedServers(await readKubeconfig(join(dir, 'doomed.kubeconfig'))),
    [doomedUrl, secondUrl],
    'berth up --servers lists the others in the kubeconfig it writes',
  );
  await stop(doomed, 'SIGKILL');
  await t.rejects(api(admin, 'GET', '/version', undefined, doomedUrl), 'the killed server is gone');

  // Created through the other server, bound to the agent: its watch, moved there, sees it and runs it.
  const image = `${registry.address}/library/busybox:latest`;
  await imagePushed;
  const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
  const created = await api(
    admin,
    'POST',
    base,
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'after-server-loss' },
      spec: {
        image,
        command: ['sh', '-c', 'echo moved-over; exec sleep 3600'],
        networkMode: 'none',
        nodeName: joined.node,
        terminationGracePeriodSeconds: 0,
      },
    },
    secondUrl,
  );
  t.equal(created.status, 201, created.status === 201 ? 'created through the other server' : created.text);
  const { agent } = joined;
  t.teardown(async () => {
    await api(admin, 'DELETE', `${base}/after-server-loss`, undefined, secondUrl);
    await eventually(
      async () => (await api(admin, 'GET', `${base}/after-server-loss`, undefined, secondUrl)).status === 404,
      30_000,
    );
    await agent.close();
  });
  const phase = async () =>
    (
      (await api(admin, 'GET', `${base}/after-server-loss`, undefined, secondUrl)).json() as {
        status?: { phase?: string };
      }
    ).status?.phase;
  t.ok(await eventually(async () => (await phase()) === 'Running', 30_000), `it runs on the agent (${await phase()})`);

  // The CLI with a kubeconfig that names the dead server first.
  const kc = await readKubeconfig(first.kubeconfig);
  const cluster = (kc.clusters[0] as Kubeconfig['clusters'][number]).cluster;
  cluster.server = doomedUrl;
  cluster.extensions = [{ name: 'berth.dev/servers', extension: { servers: [doomedUrl, secondUrl] } }];
  const both = join(dir, 'both.kubeconfig');
  await writeFile(both, stringify(kc), { mode: 0o600 });
  const logs = await runBerth(['logs', 'after-server-loss'], { ...process.env, KUBECONFIG: both, HOME: dir });
  t.equal(logs.code, 0, logs.code === 0 ? 'berth logs, with the dead server first in its kubeconfig' : logs.out);
  t.equal(logs.out, 'moved-over\n', "berth logs reads it through the live server (and that server's proxy)");
});

t.test('the controller manager fails over to the other server within seconds of a kill -9', async (t) => {
  // One controller process per server, admin credentials, short Lease timings (kube-controller-manager's flags).
  const toSecond = join(dir, 'admin-second.kubeconfig');
  const kc = await readKubeconfig(first.kubeconfig);
  (kc.clusters[0] as Kubeconfig['clusters'][number]).cluster.server = secondUrl;
  await writeFile(toSecond, stringify(kc), { mode: 0o600 });
  const holder = async () => {
    const lease = await api(
      admin,
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth-controller-manager',
    );
    return lease.status === 200
      ? ((lease.json() as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? '')
      : '';
  };
  // The leader: a `berth controllers` process on the first server, with a 3 s Lease.
  const leader = await leaderStarting;
  const leaderIdentity = /identity ([^)]+)\)/.exec(leader.output())?.[1] ?? '';
  t.ok(await eventually(async () => (await holder()) === leaderIdentity, 20_000), 'the process holds the Lease');
  // The standby on the second server, waiting for the Lease.
  const standby = await startControllers({
    kubeconfig: toSecond,
    leaderElectLeaseDuration: 3,
    leaderElectRenewDeadline: 2,
    leaderElectRetryPeriod: 0.5,
    logLevel: 'warn',
  });
  t.teardown(() => standby.close());
  t.equal(await holder(), leaderIdentity, 'the standby waits');
  await stop(leader, 'SIGKILL');
  const killed = Date.now();
  t.ok(
    await eventually(async () => (await holder()) === standby.identity, 15_000),
    'the standby on the other server takes the Lease',
  );
  const tookOver = Date.now() - killed;
  t.comment(`Lease taken over ${tookOver} ms after the leader's kill -9 (lease duration 3 s)`);
  t.ok(tookOver < 10_000, 'within seconds');
  // The new leader reconciles: a deleted Namespace is emptied and finalized by its namespace controller.
  t.equal(
    (
      await api(admin, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'after-failover' },
      })
    ).status,
    201,
  );
  t.equal((await api(admin, 'DELETE', '/api/v1/namespaces/after-failover')).status, 200);
  t.ok(
    await eventually(async () => (await api(admin, 'GET', '/api/v1/namespaces/after-failover')).status === 404, 20_000),
    "the new leader's namespace controller finalizes the deleted Namespace",
  );
});

/** The real kubectl with a kubeconfig (its own discovery cache). */
function kubectl(kubeconfig: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBinary, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kube-cache'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** A watch on default's ConfigMaps from `rv`, collecting `TYPE name` until stopped. */
function watchConfigMaps(rv: string): { events: string[]; stop: () => void } {
  const events: string[] = [];
  const req = httpsRequest(
    new URL(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, admin.server),
    { ca: admin.ca, headers: { Authorization: `Bearer ${admin.token}` } },
    (res) => {
      let buffer = '';
      res.on('data', (d: Buffer) => {
        buffer += d.toString();
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const e = JSON.parse(buffer.slice(0, i)) as { type: string; object: { metadata: { name: string } } };
          events.push(`${e.type} ${e.object.metadata.name}`);
          buffer = buffer.slice(i + 1);
        }
      });
      res.on('error', () => undefined);
    },
  );
  req.on('error', () => undefined);
  req.end();
  return { events, stop: () => req.destroy() };
}

const configMap = (name: string, v: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { v },
});

const etcdStore = {
  dataDir: join(dir, 'first'),
  store: etcd.storeUrl,
  etcdCafile: join(dir, 'etcd-ca.crt'),
  etcdCertfile: join(dir, 'etcd-client.crt'),
  etcdKeyfile: join(dir, 'etcd-client.key'),
};

t.test('backup and restore on etcd: the state comes back, and a watch sees it as changes', async (t) => {
  t.equal((await api(admin, 'POST', '/api/v1/namespaces/default/configmaps', configMap('backed-up', '1'))).status, 201);
  const file = join(dir, 'etcd.backup');
  t.match(await backup(file, etcdStore), /keys at revision \d+/);
  // After the backup: a change, a new object, a deleted Secret.
  const patched = await api(admin, 'PUT', '/api/v1/namespaces/default/configmaps/backed-up', {
    ...configMap('backed-up', '2'),
  });
  t.equal(patched.status, 200);
  const rv = (patched.json() as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  t.equal(
    (await api(admin, 'POST', '/api/v1/namespaces/default/configmaps', configMap('after-backup', '1'))).status,
    201,
  );
  t.equal((await api(admin, 'DELETE', '/api/v1/namespaces/default/secrets/shared-key')).status, 200);
  const watch = watchConfigMaps(rv);
  t.teardown(() => watch.stop());

  t.match(await restore(file, etcdStore), /written, [1-9]\d* deleted/);
  // Read back with kubectl, through the other server.
  const kc = second.kubeconfig;
  t.equal((await kubectl(kc, ['get', 'configmap', 'backed-up', '-o', 'jsonpath={.data.v}'])).out, '1');
  const gone = await kubectl(kc, ['get', 'configmap', 'after-backup']);
  t.not(gone.code, 0);
  t.match(gone.out, /NotFound/, 'what was made after the backup is gone');
  const secret = await kubectl(kc, ['get', 'secret', 'shared-key', '-o', 'jsonpath={.data.password}']);
  t.equal(Buffer.from(secret.out, 'base64').toString(), 's3cret', 'the Secret comes back, sealed and opened again');
  t.ok(
    await eventually(
      () => watch.events.includes('MODIFIED backed-up') && watch.events.includes('DELETED after-backup'),
      10_000,
    ),
    `a watch open across the restore sees it as changes: ${watch.events.join(', ')}`,
  );
});

t.test('the embedded store: backup, restore, and migrate to etcd, read back with kubectl', async (t) => {
  const dataDir = join(dir, 'embedded');
  const embedded = async (extra: { store?: string } = {}) => {
    const running = await startUp({
      dataDir,
      listen: `127.0.0.1:${await freePort()}`,
      kubeconfig: join(dir, 'embedded.kubeconfig'),
      agent: false,
      controllers: false,
      logLevel: 'warn',
      ...extra,
      ...(extra.store === undefined
        ? {}
        : {
            etcdCafile: join(dir, 'etcd-ca.crt'),
            etcdCertfile: join(dir, 'etcd-client.crt'),
            etcdKeyfile: join(dir, 'etcd-client.key'),
          }),
    });
    return { running, cred: await credential(running.kubeconfigPath) };
  };
  let { running, cred } = await embedded();
  t.equal(
    (await api(cred, 'POST', '/api/v1/namespaces/default/configmaps', configMap('embedded-cm', '1'))).status,
    201,
  );
  const secret = await api(cred, 'POST', '/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'embedded-secret' },
    stringData: { k: 'v' },
  });
  t.equal(secret.status, 201);
  const file = join(dir, 'embedded.backup');
  await t.rejects(backup(file, { dataDir }), /in use: stop berth up first/, 'the open embedded store is not copied');
  await running.close();
  t.match(await backup(file, { dataDir }), /keys at revision/);

  ({ running, cred } = await embedded());
  t.equal((await api(cred, 'DELETE', '/api/v1/namespaces/default/configmaps/embedded-cm')).status, 200);
  await running.close();
  t.match(await restore(file, { dataDir }), /[1-9]\d* written/);
  ({ running, cred } = await embedded());
  const kc = running.kubeconfigPath;
  t.equal((await kubectl(kc, ['get', 'configmap', 'embedded-cm', '-o', 'jsonpath={.data.v}'])).out, '1', 'restored');
  await running.close();

  const to = `${etcd.storeUrl}/migrated/`;
  const tlsFiles = {
    etcdCafile: join(dir, 'etcd-ca.crt'),
    etcdCertfile: join(dir, 'etcd-client.crt'),
    etcdKeyfile: join(dir, 'etcd-client.key'),
  };
  t.match(await migrate({ dataDir, to, ...tlsFiles }), /keys copied to/);
  await t.rejects(migrate({ dataDir, to, ...tlsFiles }), /already holds a cluster/, 'never over another cluster');
  await t.rejects(backup(file, { dataDir: join(dir, 'nowhere') }), /no embedded store/, 'no empty store made');
  ({ running, cred } = await embedded({ store: to }));
  t.teardown(() => running.close());
  const onEtcd = running.kubeconfigPath;
  t.equal((await kubectl(onEtcd, ['get', 'configmap', 'embedded-cm', '-o', 'jsonpath={.data.v}'])).out, '1');
  const moved = await kubectl(onEtcd, ['get', 'secret', 'embedded-secret', '-o', 'jsonpath={.data.k}']);
  t.equal(Buffer.from(moved.out, 'base64').toString(), 'v', 'served from etcd, Secrets opened with the same key');
});

t.test("etcd's own snapshot: saved by berth backup --etcd-snapshot, restored by etcdctl, served again", async (t) => {
  t.equal(
    (await api(admin, 'POST', '/api/v1/namespaces/default/configmaps', configMap('in-snapshot', '1'))).status,
    201,
  );
  const file = join(dir, 'etcd.snapshot');
  t.match(await backup(file, { ...etcdStore, etcdSnapshot: true }), /etcd's snapshot/);
  const status = await new Promise<string>((resolve, reject) =>
    execFile(
      etcdctlBinary,
      ['snapshot', 'status', file, '-w', 'json'],
      { env: { ...process.env, ETCDCTL_API: '3' } },
      (e, out) => (e === null ? resolve(out) : reject(e)),
    ),
  );
  t.ok((JSON.parse(status) as { revision: number }).revision > 0, `etcdctl reads it: ${status.trim()}`);
  t.equal(
    (await api(admin, 'POST', '/api/v1/namespaces/default/configmaps', configMap('after-snapshot', '1'))).status,
    201,
  );
  await t.rejects(restore(file, etcdStore), /etcdctl snapshot restore/, "berth restore points at etcd's own tools");
  // As with Kubernetes: the API servers stop, etcd comes back on the restored data, the servers start again.
  await first.close();
  await second.close();
  await etcd.restoreSnapshot(file);
  const third = await up('third');
  t.equal((await credential(third.kubeconfig)).ca, admin.ca, "the cluster's identity came back with the snapshot");
  t.equal((await kubectl(third.kubeconfig, ['get', 'configmap', 'in-snapshot', '-o', 'jsonpath={.data.v}'])).out, '1');
  t.match((await kubectl(third.kubeconfig, ['get', 'configmap', 'after-snapshot'])).out, /NotFound/);
});
