// The resource metrics API (metrics.k8s.io/v1beta1) that `kubectl top` reads: NodeMetrics and PodMetrics (one
// per Container: berth's Pods are single-container views of Containers), answered from each Node's agent's
// /stats/summary over its socket, as metrics-server answers from kubelets'; and berth's equivalent for its own
// kind, ContainerMetrics (metrics.berth.dev/v1alpha1), with what `berth stats` shows beyond CPU and memory
// (processes, network, limits); and NodeDiskUsage (metrics.berth.dev/v1alpha1, cluster-scoped, one per Node),
// what each node's disk holds for `berth system df`, measured by the agent when asked (its /stats/disk). Read-only
// and never stored.

import { request } from 'node:http';
import { matchesLabels, parseLabelSelector } from '@berth/api';
import { ApiError, badRequest } from '../errors/api-error.js';
import { agentSocketOf } from '../handlers/node-proxy.js';
import type { ObjectStore } from '../objects/object-store.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { ResourceRegistry } from '../registry/registry.js';
import type { Reply } from '../request-chain/reply.js';
import type { Route, RouteCall } from '../request-chain/router.js';

/** How discovery lists a group some handler other than the object store serves (an aggregated API). */
export interface ServedGroup {
  readonly name: string;
  readonly version: string;
  readonly resources: readonly {
    readonly plural: string;
    readonly kind: string;
    readonly namespaced: boolean;
    readonly verbs: readonly string[];
  }[];
}

export const metricsGroup: ServedGroup = {
  name: 'metrics.k8s.io',
  version: 'v1beta1',
  resources: [
    { plural: 'nodes', kind: 'NodeMetrics', namespaced: false, verbs: ['get', 'list'] },
    { plural: 'pods', kind: 'PodMetrics', namespaced: true, verbs: ['get', 'list'] },
  ],
};

export const containerMetricsGroup: ServedGroup = {
  name: 'metrics.berth.dev',
  version: 'v1alpha1',
  resources: [
    { plural: 'containers', kind: 'ContainerMetrics', namespaced: true, verbs: ['get', 'list'] },
    { plural: 'nodediskusages', kind: 'NodeDiskUsage', namespaced: false, verbs: ['get', 'list'] },
  ],
};

const apiVersion = 'metrics.k8s.io/v1beta1';
const base = '/apis/metrics.k8s.io/v1beta1';
const containerApiVersion = 'metrics.berth.dev/v1alpha1';
const containerBase = `/apis/${containerApiVersion}`;
/** What an agent may take to answer before its node is left out (metrics-server leaves unreachable nodes out). */
const summaryTimeoutMs = 5_000;
/** Sizing walks every writable layer and volume: more time, still bounded (a node that takes longer is left out). */
const diskUsageTimeoutMs = 30_000;

interface Usage {
  readonly time?: string;
  readonly usageNanoCores?: number;
  /** berth's agents say what span the rate covers; kubelet's summary does not (metrics-server takes two). */
  readonly usageWindowSeconds?: number;
  readonly workingSetBytes?: number;
  readonly usageBytes?: number;
  readonly availableBytes?: number;
}
interface SummaryPod {
  readonly podRef?: { readonly name?: string; readonly namespace?: string; readonly uid?: string };
  readonly containers?: readonly { readonly name?: string; readonly cpu?: Usage; readonly memory?: Usage }[];
  readonly network?: { readonly rxBytes?: number; readonly txBytes?: number };
  readonly process_stats?: { readonly process_count?: number; readonly process_limit?: number };
}
interface Summary {
  readonly node?: { readonly cpu?: Usage; readonly memory?: Usage };
  readonly pods?: readonly SummaryPod[];
}

/** metrics-server's `window`: the span the CPU rate was measured over, as a Go duration (`1.502s`). */
const windowOf = (cpu: Usage | undefined): string => {
  const seconds = cpu?.usageWindowSeconds;
  // An agent that does not say: the second its readings were cached for.
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return '1s';
  return `${Number(seconds.toFixed(3))}s`;
};

const usage = (cpu: Usage | undefined, memory: Usage | undefined) => ({
  cpu: `${Math.round(cpu?.usageNanoCores ?? 0)}n`,
  memory: `${Math.round((memory?.workingSetBytes ?? 0) / 1024)}Ki`,
});

/** GET of an agent's /stats/summary or /stats/disk; undefined when it does not answer in time. */
function readAgent<T>(
  socketPath: string,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => resolve(undefined));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as T) : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
const readSummary = (socketPath: string, signal: AbortSignal) =>
  readAgent<Summary>(socketPath, '/stats/summary', summaryTimeoutMs, signal);

export interface ResourceMetricsDeps {
  readonly objects: ObjectStore;
  readonly registry: ResourceRegistry;
}

export function resourceMetricsRoutes(deps: ResourceMetricsDeps): Route[] {
  const { objects, registry } = deps;
  const resourceOf = (group: string, version: string, plural: string) => {
    const r = registry.get(group, version, plural);
    if (r === undefined) throw new ApiError('NotFound', `the server could not find ${plural}.${group}`);
    return r;
  };
  const selectorOf = (call: RouteCall) => {
    const raw = call.info.query.get('labelSelector') ?? '';
    try {
      return raw.trim() === '' ? undefined : parseLabelSelector(raw);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  };
  const summaries = async (nodes: readonly KubeObject[], signal: AbortSignal) =>
    Promise.all(
      nodes.map(async (node) => {
        const name = node.metadata.name ?? '';
        let socketPath: string;
        try {
          socketPath = agentSocketOf(name, node as unknown as Record<string, unknown>);
        } catch {
          return { node, summary: undefined };
        }
        return { node, summary: await readSummary(socketPath, signal) };
      }),
    );
  const allNodes = async () =>
    (await objects.list({ resource: resourceOf('', 'v1', 'nodes'), namespace: undefined }, {})).items;

  const nodeMetrics = async (call: RouteCall, name: string | undefined): Promise<Reply> => {
    const selector = selectorOf(call);
    const nodes = (await allNodes()).filter(
      (n) =>
        (name === undefined || n.metadata.name === name) &&
        (selector === undefined || matchesLabels(selector, n.metadata.labels ?? {})),
    );
    const items = (await summaries(nodes, call.signal)).flatMap(({ node, summary }) =>
      summary?.node === undefined
        ? []
        : [
            {
              metadata: {
                name: node.metadata.name,
                creationTimestamp: new Date().toISOString(),
                ...(node.metadata.labels === undefined ? {} : { labels: node.metadata.labels }),
              },
              timestamp: summary.node.cpu?.time ?? new Date().toISOString(),
              window: windowOf(summary.node.cpu),
              usage: usage(summary.node.cpu, summary.node.memory),
            },
          ],
    );
    if (name !== undefined) {
      const item = items[0];
      if (item === undefined) throw new ApiError('NotFound', `nodemetrics.metrics.k8s.io "${name}" not found`);
      return { status: 200, body: { kind: 'NodeMetrics', apiVersion, ...item } };
    }
    return { status: 200, body: { kind: 'NodeMetricsList', apiVersion, metadata: {}, items } };
  };

  /** The Containers asked for, each with its agent's summary entry (those without one are left out). */
  const measuredContainers = async (call: RouteCall, namespace: string | undefined, name: string | undefined) => {
    const selector = selectorOf(call);
    const containers = (
      await objects.list({ resource: resourceOf('berth.dev', 'v1alpha1', 'containers'), namespace }, {})
    ).items.filter(
      (c) =>
        (name === undefined || c.metadata.name === name) &&
        (selector === undefined || matchesLabels(selector, c.metadata.labels ?? {})),
    );
    const nodeNames = new Set(
      containers.map((c) => (isPlainObject(c['spec']) ? String(c['spec']['nodeName'] ?? '') : '')),
    );
    const nodes = (await allNodes()).filter((n) => nodeNames.has(n.metadata.name ?? ''));
    const byUid = new Map<string, SummaryPod>();
    for (const { summary } of await summaries(nodes, call.signal))
      for (const p of summary?.pods ?? []) if (p.podRef?.uid !== undefined) byUid.set(p.podRef.uid, p);
    return containers.flatMap((c) => {
      const pod = byUid.get(c.metadata.uid ?? '');
      return pod === undefined ? [] : [{ c, pod }];
    });
  };

  const podMetrics = async (call: RouteCall, namespace: string | undefined, name: string | undefined) => {
    const items = (await measuredContainers(call, namespace, name)).map(({ c, pod }) => {
      const first = pod.containers?.[0];
      return {
        metadata: {
          name: c.metadata.name,
          namespace: c.metadata.namespace,
          creationTimestamp: new Date().toISOString(),
          ...(c.metadata.labels === undefined ? {} : { labels: c.metadata.labels }),
        },
        timestamp: first?.cpu?.time ?? new Date().toISOString(),
        window: windowOf(first?.cpu),
        containers: (pod.containers ?? []).map((x) => ({ name: x.name ?? '', usage: usage(x.cpu, x.memory) })),
      };
    });
    if (name !== undefined) {
      const item = items[0];
      if (item === undefined) throw new ApiError('NotFound', `podmetrics.metrics.k8s.io "${name}" not found`);
      return { status: 200, body: { kind: 'PodMetrics', apiVersion, ...item } };
    }
    return { status: 200, body: { kind: 'PodMetricsList', apiVersion, metadata: {}, items } };
  };

  const containerMetrics = async (call: RouteCall, namespace: string | undefined, name: string | undefined) => {
    const items = (await measuredContainers(call, namespace, name)).map(({ c, pod }) => {
      const first = pod.containers?.[0];
      const memory = first?.memory;
      return {
        metadata: {
          name: c.metadata.name,
          namespace: c.metadata.namespace,
          uid: c.metadata.uid,
          creationTimestamp: new Date().toISOString(),
          ...(c.metadata.labels === undefined ? {} : { labels: c.metadata.labels }),
        },
        timestamp: first?.cpu?.time ?? new Date().toISOString(),
        window: windowOf(first?.cpu),
        usage: { ...usage(first?.cpu, memory), pids: String(pod.process_stats?.process_count ?? 0) },
        ...(memory?.availableBytes === undefined && pod.process_stats?.process_limit === undefined
          ? {}
          : {
              limits: {
                ...(memory?.availableBytes === undefined
                  ? {}
                  : { memory: `${Math.round(((memory.workingSetBytes ?? 0) + memory.availableBytes) / 1024)}Ki` }),
                ...(pod.process_stats?.process_limit === undefined
                  ? {}
                  : { pids: String(pod.process_stats.process_limit) }),
              },
            }),
        network: { rxBytes: pod.network?.rxBytes ?? 0, txBytes: pod.network?.txBytes ?? 0 },
      };
    });
    if (name !== undefined) {
      const item = items[0];
      if (item === undefined) throw new ApiError('NotFound', `containermetrics.metrics.berth.dev "${name}" not found`);
      return { status: 200, body: { kind: 'ContainerMetrics', apiVersion: containerApiVersion, ...item } };
    }
    return {
      status: 200,
      body: { kind: 'ContainerMetricsList', apiVersion: containerApiVersion, metadata: {}, items },
    };
  };

  const nodeDiskUsage = async (call: RouteCall, name: string | undefined): Promise<Reply> => {
    const selector = selectorOf(call);
    const nodes = (await allNodes()).filter(
      (n) =>
        (name === undefined || n.metadata.name === name) &&
        (selector === undefined || matchesLabels(selector, n.metadata.labels ?? {})),
    );
    const reports = await Promise.all(
      nodes.map(async (node) => {
        const nodeName = node.metadata.name ?? '';
        let socketPath: string;
        try {
          socketPath = agentSocketOf(nodeName, node as unknown as Record<string, unknown>);
        } catch {
          return [];
        }
        const report = await readAgent<Record<string, unknown>>(
          socketPath,
          '/stats/disk',
          diskUsageTimeoutMs,
          call.signal,
        );
        if (report === undefined) return [];
        const { time, ...usage } = report;
        return [
          {
            metadata: { name: nodeName, creationTimestamp: new Date().toISOString() },
            timestamp: typeof time === 'string' ? time : new Date().toISOString(),
            ...usage,
          },
        ];
      }),
    );
    const items = reports.flat();
    if (name !== undefined) {
      const item = items[0];
      if (item === undefined) throw new ApiError('NotFound', `nodediskusages.metrics.berth.dev "${name}" not found`);
      return { status: 200, body: { kind: 'NodeDiskUsage', apiVersion: containerApiVersion, ...item } };
    }
    return { status: 200, body: { kind: 'NodeDiskUsageList', apiVersion: containerApiVersion, metadata: {}, items } };
  };

  const read = ['GET', 'HEAD'];
  return [
    { methods: read, path: `${base}/nodes`, handle: (call) => nodeMetrics(call, undefined) },
    { methods: read, path: `${base}/nodes/:name`, handle: (call) => nodeMetrics(call, call.params['name']) },
    { methods: read, path: `${base}/pods`, handle: (call) => podMetrics(call, undefined, undefined) },
    {
      methods: read,
      path: `${base}/namespaces/:namespace/pods`,
      handle: (call) => podMetrics(call, call.params['namespace'], undefined),
    },
    {
      methods: read,
      path: `${base}/namespaces/:namespace/pods/:name`,
      handle: (call) => podMetrics(call, call.params['namespace'], call.params['name']),
    },
    {
      methods: read,
      path: `${containerBase}/containers`,
      handle: (call) => containerMetrics(call, undefined, undefined),
    },
    {
      methods: read,
      path: `${containerBase}/namespaces/:namespace/containers`,
      handle: (call) => containerMetrics(call, call.params['namespace'], undefined),
    },
    {
      methods: read,
      path: `${containerBase}/namespaces/:namespace/containers/:name`,
      handle: (call) => containerMetrics(call, call.params['namespace'], call.params['name']),
    },
    { methods: read, path: `${containerBase}/nodediskusages`, handle: (call) => nodeDiskUsage(call, undefined) },
    {
      methods: read,
      path: `${containerBase}/nodediskusages/:name`,
      handle: (call) => nodeDiskUsage(call, call.params['name']),
    },
  ];
}
