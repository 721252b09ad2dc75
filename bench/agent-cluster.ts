// What the benchmarks that run containers through the API share: a loopback registry holding busybox, `berth up`
// with its node agent in its own process, a client-node KubeConfig for it, its Node Ready, and the start peers on a
// busybox rootfs; close() removes all of it, the peers' leftovers too.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import type { Container } from '@berth/api';
import { freePort, makeBusyboxRootfs } from '@berth/testkit';
import { type HostReport, prepareHost } from '../node-agent/src/host/prepare-host.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { type BerthProcess, startBerth } from './api-process.js';
import { type StartPeers, startPeers } from './start-peers.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the benchmarks' Containers go (CustomObjectsApi arguments). */
export const containersIn = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default', plural: 'containers' };

/** A busybox Container running `sleep 1000` that stops at once when deleted. */
export function sleeper(
  name: string,
  image: string,
  options: {
    readonly pullPolicy?: 'IfNotPresent' | 'Always';
    readonly networkMode?: 'none' | undefined;
    readonly labels?: Record<string, string>;
  } = {},
): object {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, ...(options.labels !== undefined ? { labels: options.labels } : {}) },
    spec: {
      image,
      imagePullPolicy: options.pullPolicy ?? 'IfNotPresent',
      command: ['sleep', '1000'],
      terminationGracePeriodSeconds: 0,
      ...(options.networkMode !== undefined ? { networkMode: options.networkMode } : {}),
    },
  };
}

/** Resolves waiters when the watch of default's Containers sees one reach a phase, or vanish. */
export class PhaseWatch {
  readonly #waiters = new Map<string, { until: (c: Container | undefined) => boolean; resolve: () => void }>();
  #abort: (() => void) | undefined;

  async start(kc: KubeConfig): Promise<void> {
    const req = await new Watch(kc).watch(
      '/apis/berth.dev/v1alpha1/namespaces/default/containers',
      {},
      (type: string, obj: Container) => {
        const name = obj.metadata.name ?? '';
        const w = this.#waiters.get(name);
        if (w?.until(type === 'DELETED' ? undefined : obj)) {
          this.#waiters.delete(name);
          w.resolve();
        }
      },
      (err: unknown) => {
        if (err !== null && err !== undefined && this.#abort !== undefined)
          process.stderr.write(`watch ended: ${String(err)}\n`);
      },
    );
    this.#abort = () => req.abort();
  }

  until(name: string, pred: (c: Container | undefined) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not there within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(name, {
        until: pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  stop(): void {
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.();
  }
}

export interface AgentCluster {
  readonly host: HostReport;
  readonly berth: BerthProcess;
  readonly kc: KubeConfig;
  /** busybox in the loopback registry. */
  readonly image: string;
  /** bare crun and podman on the same busybox rootfs, running `sleep 1000`. */
  readonly peers: StartPeers;
  close(): Promise<void>;
}

export async function startAgentCluster(options: {
  readonly entry: 'built' | 'src';
  /** Write a V8 CPU profile of berth up into this directory when it stops. */
  readonly cpuProfDir?: string | undefined;
}): Promise<AgentCluster> {
  const host = await prepareHost();
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-agent-'));
  const registryPort = await freePort();
  const registryDir = join(work, 'registry');
  const registry = (verb: 'start' | 'stop') =>
    execFileAsync(join(repo, 'hack', 'registry.sh'), [verb, '--port', String(registryPort), '--dir', registryDir]);
  await registry('start');
  const berth = await startBerth({
    agent: true,
    entry: options.entry,
    ...(options.cpuProfDir !== undefined ? { cpuProfDir: options.cpuProfDir } : {}),
  });
  const rootfs = join(work, 'rootfs');
  const config: ContainerConfig = { args: ['sleep', '1000'], rootfs };
  const peers = startPeers(host, work, rootfs, config);
  const close = async () => {
    // berth's agent removes its containers as their Containers go; SIGTERM leaves any survivor to the next start,
    // so a failed round's leftovers are removed through the runtime's own tools.
    await berth.close();
    await peers.cleanUp(`bench-${process.pid}-`);
    await registry('stop').catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  try {
    await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${registryPort}`], {
      env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'oci') },
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'berth', server: berth.url, caData: Buffer.from(berth.caCert).toString('base64') }],
      users: [{ name: 'admin', token: berth.token }],
      contexts: [{ name: 'berth', cluster: 'berth', user: 'admin' }],
      currentContext: 'berth',
    });
    // The node agent starts after /readyz: wait for its Node to be Ready.
    for (const until = Date.now() + 30_000; ; ) {
      const nodes = await kc.makeApiClient(CoreV1Api).listNode();
      if (nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) break;
      if (Date.now() > until) throw new Error('the node agent did not register a Ready Node within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await makeBusyboxRootfs(rootfs);
    return { host, berth, kc, image: `127.0.0.1:${registryPort}/library/busybox:latest`, peers, close };
  } catch (err) {
    await close();
    throw err;
  }
}
