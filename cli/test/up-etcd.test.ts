// `berth up --store etcd://…` keeps the cluster in etcd, over TLS with a client certificate: what one berth up
// wrote, a second one started on another data dir (so nothing comes from the disk of the first) serves.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { freePort, startTestEtcd } from '@berth/testkit';
import { berthMain } from './berth-process.js';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
}

function startBerth(args: readonly string[]): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [berthMain, 'up', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('berth is up')) resolve({ child, output: () => out });
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`berth up exited ${code}: ${out}`)));
  });
}

async function stopBerth(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await exited;
}

/** A request with the kubeconfig's admin token and CA. */
async function api(kubeconfig: string, method: string, path: string, body?: unknown): Promise<Response> {
  const kc = parse(await readFile(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const { request } = await import('node:https');
  const cluster = kc.clusters[0]?.cluster;
  const token = kc.users[0]?.user.token;
  if (cluster === undefined || token === undefined) throw new Error('kubeconfig without cluster or token');
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, cluster.server),
      {
        method,
        ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(new Response(text, { status: res.statusCode ?? 500 })));
      },
    );
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

t.test('berth up --store etcd:// with TLS client certificates; the state lives in etcd', async (t) => {
  const etcd = await startTestEtcd({ tls: true });
  t.teardown(() => etcd.close());
  const dir = await mkdtemp(join(tmpdir(), 'berth-up-etcd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const tls = etcd.tls;
  if (tls?.cert === undefined || tls.key === undefined) throw new Error('fixture without a client certificate');
  await writeFile(join(dir, 'etcd-ca.crt'), tls.ca);
  await writeFile(join(dir, 'etcd-client.crt'), tls.cert);
  await writeFile(join(dir, 'etcd-client.key'), tls.key);
  const etcdFlags = [
    '--store',
    etcd.storeUrl,
    '--etcd-cafile',
    join(dir, 'etcd-ca.crt'),
    '--etcd-certfile',
    join(dir, 'etcd-client.crt'),
    '--etcd-keyfile',
    join(dir, 'etcd-client.key'),
  ];
  const up = async (name: string): Promise<{ started: Started; kubeconfig: string }> => {
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    const args = ['--data-dir', join(dir, name), '--listen', `127.0.0.1:${await freePort()}`];
    const started = await startBerth([...args, '--kubeconfig', kubeconfig, '--no-agent', ...etcdFlags]);
    return { started, kubeconfig };
  };

  const first = await up('first');
  const created = await api(first.kubeconfig, 'POST', '/api/v1/namespaces/default/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kept-in-etcd' },
    data: { where: 'etcd' },
  });
  t.equal(created.status, 201, 'the first berth up writes');
  const rv = Number(((await created.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
  await stopBerth(first.started);

  const second = await up('second');
  t.teardown(() => stopBerth(second.started));
  const got = await api(second.kubeconfig, 'GET', '/api/v1/namespaces/default/configmaps/kept-in-etcd');
  t.equal(got.status, 200, 'a berth up on another data dir serves it');
  const cm = (await got.json()) as { data: { where: string }; metadata: { resourceVersion: string } };
  t.same(cm.data, { where: 'etcd' });
  t.equal(Number(cm.metadata.resourceVersion), rv, "the resourceVersion is etcd's mod revision of the write");
});
