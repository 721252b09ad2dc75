// Starts Debian's etcd (/usr/bin/etcd) on loopback with random ports and a temp data dir, as the peer the API
// benchmarks measure berth against, and reports how long it took from spawn to a served request.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { processCpuSeconds } from './api-process.js';
import { freePort } from '@berth/testkit';

export interface EtcdPeer {
  readonly url: string;
  readonly pid: number;
  readonly client: Etcd3;
  /** From spawn until /health answered {"health":"true"}. */
  readonly startToHealthyMs: number;
  /** user+system CPU seconds etcd has used so far. */
  cpuSeconds(): Promise<number>;
  close(): Promise<void>;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as { health?: string };
    return res.status === 200 && body.health === 'true';
  } catch {
    return false;
  }
}

/** `cpus` pins etcd (taskset -c LIST), as the API benchmarks can pin the server. */
export async function startEtcd(options: { cpus?: string } = {}): Promise<EtcdPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const started = performance.now();
  const etcdArgs = [
    '--name=bench',
    `--data-dir=${join(dir, 'data')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=bench=${peerUrl}`,
    '--log-level=error',
  ];
  const [command, argv] =
    options.cpus === undefined
      ? ['/usr/bin/etcd', etcdArgs]
      : ['/usr/bin/taskset', ['-c', options.cpus, '/usr/bin/etcd', ...etcdArgs]];
  const proc: ChildProcess = spawn(command, argv, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const pid = proc.pid;
  if (pid === undefined) throw new Error('etcd did not start');
  let startToHealthyMs = -1;
  for (const until = Date.now() + 20_000; Date.now() < until; ) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}`);
    if (await healthy(url)) {
      startToHealthyMs = performance.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  if (startToHealthyMs < 0) {
    proc.kill('SIGKILL');
    throw new Error('etcd was not healthy within 20 s');
  }
  const client = new Etcd3({ hosts: url });
  return {
    url,
    pid,
    client,
    startToHealthyMs,
    cpuSeconds: () => processCpuSeconds(pid),
    async close() {
      client.close();
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
