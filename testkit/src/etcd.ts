// Test fixture: Debian's etcd (/usr/bin/etcd, package etcd-server) as one member on free loopback ports with a
// temp data dir, optionally serving TLS with client-certificate auth; it can be killed and started again on its data.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki, issueClientCertificate, type EtcdTls } from '@berth/apiserver';
import { freePort } from './free-port.js';

export const etcdBinary = '/usr/bin/etcd';

export interface TestEtcd {
  /** `host:port` of the client URL. */
  readonly endpoint: string;
  /** `etcd://host:port`, as `berth up --store` takes it. */
  readonly storeUrl: string;
  /** With `tls`: the CA and a client certificate etcd accepts. */
  readonly tls: EtcdTls | undefined;
  readonly dir: string;
  /** A key prefix no other caller of this fixture gets (for several stores on one etcd). */
  freshPrefix(): string;
  /** SIGKILL etcd (no clean shutdown) and wait for it to exit; its data stays. */
  kill(): Promise<void>;
  /** Start etcd again on the same data dir and ports. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TestEtcdOptions {
  /** Serve TLS and require client certificates signed by the fixture's CA. @default false */
  readonly tls?: boolean;
}

/**
 * etcd fsyncs its WAL on every commit; on tmpfs that costs nothing, and its data still outlives a kill -9 of the
 * process, which is the crash the tests stage.
 */
const dataRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export async function startTestEtcd(options: TestEtcdOptions = {}): Promise<TestEtcd> {
  const dir = await mkdtemp(join(dataRoot, 'berth-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const scheme = options.tls ? 'https' : 'http';
  const clientUrl = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
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
  const args = [
    '--name=test',
    `--data-dir=${join(dir, 'data')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=test=${peerUrl}`,
    '--log-level=error',
    ...tlsArgs,
  ];
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  let prefixes = 0;

  const start = async (): Promise<void> => {
    stderr = '';
    const child = spawn(etcdBinary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    proc = child;
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // etcd serves once its one-member raft elected itself; the port answering is the condition we wait on.
    for (const until = Date.now() + 20_000; Date.now() < until; ) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${stderr}`);
      if (await healthy(clientPort, tls)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    throw new Error(`etcd was not healthy within 20 s: ${stderr}`);
  };
  const kill = async (): Promise<void> => {
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    proc = undefined;
  };
  try {
    await start();
  } catch (e) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `127.0.0.1:${clientPort}`;
  return {
    endpoint,
    storeUrl: `etcd://${endpoint}`,
    tls,
    dir,
    freshPrefix: () => `/t${++prefixes}/`,
    kill,
    start,
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
