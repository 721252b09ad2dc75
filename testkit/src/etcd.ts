// Test fixture: Debian's etcd (/usr/bin/etcd, package etcd-server), one member or several, on free loopback ports
// with temp data dirs, optionally serving TLS with client-certificate auth; it can be killed and started again on its
// data, or on an etcd snapshot restored with etcdctl.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePki, issueClientCertificate, type EtcdTls } from '@berth/apiserver';
import { freePort } from './free-port.js';

export const etcdBinary = '/usr/bin/etcd';
/** etcd's client tool (Debian's etcd-client), for snapshots. */
export const etcdctlBinary = '/usr/bin/etcdctl';
const execFileAsync = promisify(execFile);

export interface TestEtcd {
  /** `host:port` of the first member's client URL. */
  readonly endpoint: string;
  /** `host:port` of every member's client URL. */
  readonly endpoints: readonly string[];
  /** `etcd://host:port[,host:port…]`, as `berth up --store` takes it. */
  readonly storeUrl: string;
  /** With `tls`: the CA and a client certificate etcd accepts. */
  readonly tls: EtcdTls | undefined;
  readonly dir: string;
  /** A key prefix no other caller of this fixture gets (for several stores on one etcd). */
  freshPrefix(): string;
  /** SIGKILL every member (no clean shutdown) and wait for them to exit; their data stays. */
  kill(): Promise<void>;
  /** Start every member again on the same data dirs and ports. */
  start(): Promise<void>;
  /** SIGKILL member `i` alone. */
  killMember(i: number): Promise<void>;
  /** Start member `i` again; it rejoins the cluster. */
  startMember(i: number): Promise<void>;
  /**
   * Kill every member, replace their data with an etcd snapshot (`etcdctl snapshot restore`, Debian's etcd-client)
   * and start them again on the same ports: the cluster's state and revision are the snapshot's.
   */
  restoreSnapshot(file: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestEtcdOptions {
  /** Serve TLS and require client certificates signed by the fixture's CA. @default false */
  readonly tls?: boolean;
  /** Members of the cluster (each its own process, ports and data dir). @default 1 */
  readonly members?: number;
}

/**
 * etcd fsyncs its WAL on every commit; on tmpfs that costs nothing, and its data still outlives a kill -9 of the
 * process, which is the crash the tests stage.
 */
const dataRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export async function startTestEtcd(options: TestEtcdOptions = {}): Promise<TestEtcd> {
  const dir = await mkdtemp(join(dataRoot, 'berth-etcd-'));
  const scheme = options.tls ? 'https' : 'http';
  const count = options.members ?? 1;
  const ports: Array<{ client: number; peer: number }> = [];
  for (let i = 0; i < count; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const cluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  let tls: EtcdTls | undefined;
  const tlsArgs: string[] = [];
  if (options.tls) {
    const pki = await ensurePki(join(dir, 'tls'), []);
    const client = await issueClientCertificate(pki, 'berth-apiserver', []);
    tls = { ca: pki.caCert, cert: client.cert, key: client.key };
    tlsArgs.push(
      `--cert-file=${join(pki.dir, 'server.crt')}`,
      `--key-file=${join(pki.dir, 'server.key')}`,
      `--trusted-ca-file=${join(pki.dir, 'ca.crt')}`,
      '--client-cert-auth',
    );
  }
  const members = ports.map((p, i) => {
    const clientUrl = `${scheme}://127.0.0.1:${p.client}`;
    const peerUrl = `http://127.0.0.1:${p.peer}`;
    const args = [
      `--name=m${i}`,
      `--data-dir=${join(dir, `data-${i}`)}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${cluster}`,
      '--initial-cluster-token=berth-test',
      '--log-level=error',
      ...tlsArgs,
    ];
    return {
      port: p.client,
      args,
      proc: undefined as ChildProcess | undefined,
      exited: Promise.resolve(),
      stderr: '',
    };
  });
  let prefixes = 0;

  const spawnMember = (m: (typeof members)[number]): ChildProcess => {
    m.stderr = '';
    const child = spawn(etcdBinary, m.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (m.stderr = (m.stderr + d.toString()).slice(-4000)));
    m.proc = child;
    m.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return child;
  };
  /** A member serves once the cluster has a leader: its /health answering true is the condition we wait on. */
  const awaitHealthy = async (m: (typeof members)[number], child: ChildProcess): Promise<void> => {
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${m.stderr}`);
      if (await healthy(m.port, tls)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`etcd was not healthy within 30 s: ${m.stderr}`);
  };
  const killMember = async (i: number): Promise<void> => {
    const m = members[i];
    if (m === undefined) throw new Error(`no etcd member ${i}`);
    if (m.proc !== undefined && m.proc.exitCode === null && m.proc.signalCode === null) {
      m.proc.kill('SIGKILL');
      await m.exited;
    }
    m.proc = undefined;
  };
  const startMember = async (i: number): Promise<void> => {
    const m = members[i];
    if (m === undefined) throw new Error(`no etcd member ${i}`);
    await awaitHealthy(m, spawnMember(m));
  };
  const kill = async (): Promise<void> => {
    for (let i = 0; i < members.length; i++) await killMember(i);
  };
  // Members start together: a new cluster elects its first leader once a majority is up.
  const start = async (): Promise<void> => {
    const children = members.map((m) => spawnMember(m));
    await Promise.all(members.map((m, i) => awaitHealthy(m, children[i] as ChildProcess)));
  };
  try {
    await start();
  } catch (e) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const restoreSnapshot = async (file: string): Promise<void> => {
    await kill();
    for (const [i, p] of ports.entries()) {
      const dataDir = join(dir, `data-${i}`);
      await rm(dataDir, { recursive: true, force: true });
      await execFileAsync(
        etcdctlBinary,
        [
          'snapshot',
          'restore',
          file,
          `--name=m${i}`,
          `--initial-cluster=${cluster}`,
          '--initial-cluster-token=berth-test',
          `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
          `--data-dir=${dataDir}`,
        ],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      );
    }
    await start();
  };
  const endpoints = ports.map((p) => `127.0.0.1:${p.client}`);
  return {
    endpoint: endpoints[0] as string,
    endpoints,
    storeUrl: `etcd://${endpoints.join(',')}`,
    tls,
    dir,
    freshPrefix: () => `/t${++prefixes}/`,
    kill,
    start,
    killMember,
    startMember,
    restoreSnapshot,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** etcd's /health answering {"health":"true"} (with the client certificate under TLS). */
function healthy(port: number, tls: EtcdTls | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const get = tls === undefined ? httpGet : httpsGet;
    const req = get(
      {
        host: '127.0.0.1',
        port,
        path: '/health',
        ...(tls === undefined ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key }),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
      },
    );
    req.once('error', () => resolve(false));
    req.setTimeout(2000, () => req.destroy());
  });
}
