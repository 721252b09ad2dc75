// The scheduler's filters, as kube-scheduler's plugins (unschedulable, taints, node selector, volume node, host
// ports, resources): for one Container and one Node, every reason the Node cannot take it (empty: it fits). Reasons
// are worded as kube-scheduler words them, so the summary reads the same.
import { parseQuantity, quantityMilliValue, type Container } from '@berth/api';
import { tolerates, type Node } from '../kinds.js';

/** The resources the scheduler counts: what a Container requests (requests, else limits) and a Node allocates. */
const countedResources = ['cpu', 'memory', 'pids'] as const;
type Counted = (typeof countedResources)[number];

/** A Container's requests in milli-units (millicores for cpu, milli-bytes for memory, as Kubernetes' MilliValue). */
export function requestsOf(c: Container): Record<Counted, bigint> {
  const r = c.spec.resources;
  const out = { cpu: 0n, memory: 0n, pids: 0n };
  for (const name of countedResources) {
    const q = r?.requests?.[name] ?? r?.limits?.[name];
    if (q !== undefined) out[name] = quantityMilliValue(parseQuantity(q));
  }
  return out;
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

export interface FitInput {
  readonly container: Container;
  readonly node: Node;
  /** Containers bound (or being bound) to this node, the one being scheduled excluded. */
  readonly bound: readonly Container[];
  /** The node the Container's Volumes pin it to, if any. */
  readonly pinnedTo: string | undefined;
}

/**
 * Why `node` cannot take `container`, in kube-scheduler's words: the first filter that fails, as kube-scheduler
 * stops at it (only the resource filter names more than one reason: each resource short). Empty: it fits.
 */
export function unfitReasons({ container, node, bound, pinnedTo }: FitInput): string[] {
  const name = node.metadata?.name ?? '';
  if (node.spec?.unschedulable === true) return ['node(s) were unschedulable'];
  if (!isNodeReady(node)) return ['node(s) were not ready'];
  const untolerated = (node.spec?.taints ?? []).find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(container.spec.tolerations, t),
  );
  if (untolerated !== undefined)
    return [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`];
  const labels = node.metadata?.labels ?? {};
  if (Object.entries(container.spec.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v))
    return ["node(s) didn't match Pod's node affinity/selector"];
  if (pinnedTo !== undefined && pinnedTo !== name) return ["node(s) didn't match the volume's node"];
  if (hostPortsTaken(container, bound)) return ["node(s) didn't have free ports for the requested pod ports"];
  const wanted = requestsOf(container);
  const used = { cpu: 0n, memory: 0n, pids: 0n };
  for (const b of bound) {
    const r = requestsOf(b);
    for (const k of countedResources) used[k] += r[k];
  }
  const allocatable = node.status?.allocatable ?? {};
  const reasons: string[] = [];
  for (const k of countedResources) {
    const a = allocatable[k];
    if (wanted[k] === 0n || a === undefined) continue;
    if (used[k] + wanted[k] > quantityMilliValue(parseQuantity(a))) reasons.push(`Insufficient ${k}`);
  }
  return reasons;
}

interface HostPort {
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
}

/** The host ports a Container publishes; hostIP defaults to 127.0.0.1, as the agent publishes it. */
function hostPortsOf(c: Container): HostPort[] {
  return (c.spec.ports ?? []).flatMap((p) =>
    p.hostPort === undefined
      ? []
      : [
          {
            ip: p.hostIP === undefined || p.hostIP === '' ? '127.0.0.1' : p.hostIP,
            port: p.hostPort,
            protocol: p.protocol ?? 'TCP',
          },
        ],
  );
}

/**
 * Whether a host port `c` asks for is already asked for on the node (kube-scheduler's NodePorts filter): the same
 * port and protocol on the same address, or on 0.0.0.0 (every address) on either side.
 */
function hostPortsTaken(c: Container, bound: readonly Container[]): boolean {
  const wanted = hostPortsOf(c);
  if (wanted.length === 0) return false;
  const used = bound.flatMap(hostPortsOf);
  return wanted.some((w) =>
    used.some(
      (u) =>
        u.port === w.port && u.protocol === w.protocol && (u.ip === w.ip || u.ip === '0.0.0.0' || w.ip === '0.0.0.0'),
    ),
  );
}

/** kube-scheduler's summary: "0/3 nodes are available: 1 Insufficient memory, 2 node(s) were unschedulable." */
export function unschedulableMessage(total: number, reasonsByNode: ReadonlyMap<string, readonly string[]>): string {
  if (total === 0) return 'no nodes available to schedule containers';
  const counts = new Map<string, number>();
  for (const reasons of reasonsByNode.values()) for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}
