// What `berth stats`, `top`, `system df` and `ps -s` read: the API server's ContainerMetrics and NodeDiskUsage
// (metrics.berth.dev) and NodeMetrics (metrics.k8s.io), the Nodes' capacity, and the figures docker prints (CPU %,
// sizes in its units).

import { toBytes, toMillicores } from '@berth/api/helpers';
import type { ApiClient } from '../api/client.js';
import type { NodeDiskUsage } from '../docker/disk-usage.js';
import { ApiStatusError } from '../errors.js';

export interface ContainerUsage {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid?: string };
  readonly usage: { readonly cpu: string; readonly memory: string; readonly pids?: string };
  readonly limits?: { readonly memory?: string; readonly pids?: string };
  readonly network?: { readonly rxBytes: number; readonly txBytes: number };
}

export interface NodeUsage {
  readonly metadata: { readonly name: string };
  readonly usage: { readonly cpu: string; readonly memory: string };
}

export interface NodeCapacity {
  readonly name: string;
  readonly cpuCores: number;
  readonly memoryBytes: number;
}

const list = <T>(body: { items?: T[] }): T[] => body.items ?? [];

export async function containerUsage(client: ApiClient): Promise<ContainerUsage[]> {
  const path = `/apis/metrics.berth.dev/v1alpha1/namespaces/${encodeURIComponent(client.namespace)}/containers`;
  return list(await client.request<{ items?: ContainerUsage[] }>('GET', path));
}

/** What the nodes' agents measured; none when the caller may not read it (cluster-scoped) or no agent answered. */
export async function nodeDiskUsage(client: ApiClient): Promise<NodeDiskUsage[]> {
  try {
    return list(
      await client.request<{ items?: NodeDiskUsage[] }>('GET', '/apis/metrics.berth.dev/v1alpha1/nodediskusages'),
    );
  } catch (e) {
    if (ApiStatusError.isInstance(e) && (e.status === 403 || e.status === 404)) return [];
    throw e;
  }
}

export async function nodeUsage(client: ApiClient): Promise<NodeUsage[]> {
  return list(await client.request<{ items?: NodeUsage[] }>('GET', '/apis/metrics.k8s.io/v1beta1/nodes'));
}

export async function nodeCapacities(client: ApiClient): Promise<NodeCapacity[]> {
  type Node = {
    metadata: { name: string };
    status?: { allocatable?: Record<string, string>; capacity?: Record<string, string> };
  };
  return list(await client.request<{ items?: Node[] }>('GET', '/api/v1/nodes')).map((n) => {
    const c = n.status?.allocatable ?? n.status?.capacity ?? {};
    return {
      name: n.metadata.name,
      cpuCores: c['cpu'] === undefined ? 0 : toMillicores(c['cpu']) / 1000,
      memoryBytes: c['memory'] === undefined ? 0 : toBytes(c['memory']),
    };
  });
}

/** Cores in use from a CPU quantity (`123456789n`, `250m`, `1`). */
export function cores(cpu: string): number {
  const m = /^(\d+(?:\.\d+)?)(n|u|m)?$/.exec(cpu);
  if (m === null) return 0;
  const scale = m[2] === 'n' ? 1e-9 : m[2] === 'u' ? 1e-6 : m[2] === 'm' ? 1e-3 : 1;
  return Number(m[1]) * scale;
}

/** docker's memory sizes (go-units BytesSize): binary units, two decimals, `1.5MiB`. */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Number(v.toFixed(2))}${units[i]}`;
}

/** docker's network and block sizes (go-units HumanSize): decimal units, three significant digits, `1.2kB`. */
export function decimalSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

export const percent = (part: number, whole: number): string =>
  whole > 0 ? `${((part / whole) * 100).toFixed(2)}%` : '--';

export const bytesOf = (quantity: string | undefined): number | undefined =>
  quantity === undefined ? undefined : toBytes(quantity);
