// `berth info`: docker info's report from the API: the server's version and store, its Containers by state and
// images, and each Node's storage driver, runtime, cgroup version, kernel and security options as its agent reported
// them.

import type { Container, Image } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { containerState } from '../docker/container-state.js';
import { listContexts } from '../kubeconfig-load.js';
import { userAgent } from '../api-connection.js';

export interface NodeObject {
  metadata: { name?: string };
  status?: {
    capacity?: Record<string, string>;
    conditions?: { type: string; status: string }[];
    nodeInfo?: Record<string, unknown>;
  };
}

/** Every namespace's objects of a berth kind. */
export async function listAll<T>(client: ApiClient, plural: string): Promise<T[]> {
  return (await client.request<{ items?: T[] }>('GET', `/apis/berth.dev/v1alpha1/${plural}`)).items ?? [];
}

const memoryText = (quantity: string | undefined): string => {
  const m = /^(\d+)Ki$/.exec(quantity ?? '');
  return m === null ? (quantity ?? '') : `${(Number(m[1]) / 1024 / 1024).toFixed(2)}GiB`;
};

/**
 * What keeps the server's data, as its /readyz?verbose names the check (`[+]etcd ok` as kube-apiserver's, or
 * `[+]level ok`); `unknown` from a server that names none, `etcd (not ready)` from one whose check fails.
 */
async function storeOf(client: ApiClient): Promise<string> {
  const text = await client
    .requestText('GET', '/readyz?verbose', undefined, 'text/plain', 'text/plain')
    .catch((e: unknown) => (e instanceof Error ? e.message : ''));
  const m = /\[([+-])\](etcd|level) /.exec(text);
  if (m === null) return 'unknown';
  return m[1] === '+' ? (m[2] ?? '') : `${m[2] ?? ''} (not ready)`;
}

export async function info(
  options: { readonly format?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(undefined));
  const [version, store, containers, images, nodes] = await Promise.all([
    client.version(),
    storeOf(client),
    listAll<Container>(client, 'containers'),
    listAll<Image>(client, 'images'),
    client.request<{ items?: NodeObject[] }>('GET', '/api/v1/nodes').then((l) => l.items ?? []),
  ]);
  const states = containers.map(containerState);
  const running = states.filter((s) => s === 'running').length;
  // Image objects and the images Containers run, each counted once by digest (or reference, before a pull).
  const imageKeys = new Set([
    ...images.map((i) => i.status?.digest ?? i.spec.image),
    ...containers.map((c) => c.status?.imageID ?? c.spec.image),
  ]);
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const report = {
    Client: { Version: userAgent().split(/[/ ]/)[1] ?? '', Context: listContexts().find((c) => c.current)?.name ?? '' },
    Server: {
      Containers: containers.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: containers.length - running,
      Images: imageKeys.size,
      ServerVersion: version['gitVersion'] ?? '',
      Store: store,
      Platform: version['platform'] ?? '',
      Nodes: nodes.length,
      NodesReady: ready.length,
      NodeInfo: nodes.map((n) => ({
        Name: n.metadata.name ?? '',
        ...n.status?.nodeInfo,
        capacity: n.status?.capacity,
      })),
    },
  };
  if (options.format === 'json') {
    out.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    'Client:',
    ` Version:    ${report.Client.Version}`,
    ` Context:    ${report.Client.Context}`,
    '',
    'Server:',
    ` Containers: ${containers.length}`,
    `  Running: ${running}`,
    '  Paused: 0',
    `  Stopped: ${containers.length - running}`,
    ` Images: ${imageKeys.size}`,
    ` Server Version: ${report.Server.ServerVersion}`,
    ` Store: ${store}`,
    ` Nodes: ${nodes.length} (${ready.length} ready)`,
  ];
  for (const n of nodes) {
    const i = (n.status?.nodeInfo ?? {}) as Record<string, string | string[] | undefined>;
    const security = Array.isArray(i['securityOptions']) ? i['securityOptions'] : [];
    lines.push(
      ` Node: ${n.metadata.name ?? ''}${ready.includes(n) ? '' : ' (not ready)'}`,
      `  Storage Driver: ${String(i['storageDriver'] ?? 'unknown')}`,
      `  Runtimes: ${String(i['containerRuntimeVersion'] ?? '')} (monitor ${String(i['monitorVersion'] ?? '')})`,
      `  Cgroup Version: ${String(i['cgroupVersion'] ?? '').replace(/^v/, '')}`,
      `  Kernel Version: ${String(i['kernelVersion'] ?? '')}`,
      `  Operating System: ${String(i['osImage'] ?? '')}`,
      `  Architecture: ${String(i['architecture'] ?? '')}`,
      `  CPUs: ${n.status?.capacity?.['cpu'] ?? ''}`,
      `  Total Memory: ${memoryText(n.status?.capacity?.['memory'])}`,
      `  Agent Version: ${String(i['kubeletVersion'] ?? '')}`,
      '  Security Options:',
      ...security.map((o) => `   ${o}`),
    );
  }
  out.write(`${lines.join('\n')}\n`);
}
