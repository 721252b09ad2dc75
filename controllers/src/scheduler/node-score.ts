// The scheduler's scoring among the nodes that fit, as kube-scheduler's PodTopologySpread, TaintToleration and
// NodeResourcesFit (least allocated): fewest replicas of the same group first, then no PreferNoSchedule taint it
// does not tolerate, then the most room left; ties go to the node name, so a decision can be replayed.
import { parseQuantity, quantityMilliValue, type Container } from '@berth/api';
import { tolerates, type Node } from '../kinds.js';
import { requestsOf } from './node-fit.js';

/**
 * The replicas `c` should be spread with: the Containers of the same controller (its controlling ownerReference),
 * or, without one, those with the same non-empty labels. Undefined: a Container on its own.
 */
export function spreadKey(c: Container): string | undefined {
  const owner = (c.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (owner !== undefined) return `owner:${owner.uid}`;
  const labels = Object.entries(c.metadata.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return labels.length === 0 ? undefined : `labels:${c.metadata.namespace ?? ''}:${JSON.stringify(labels)}`;
}

/** The share of `node`'s cpu and memory that stays free with `c` on it (0…1, higher is better). */
function freeShare(c: Container, node: Node, bound: readonly Container[]): number {
  const wanted = requestsOf(c);
  let sum = 0;
  let n = 0;
  for (const k of ['cpu', 'memory'] as const) {
    const a = node.status?.allocatable?.[k];
    if (a === undefined) continue;
    const total = quantityMilliValue(parseQuantity(a));
    if (total <= 0n) continue;
    const used = bound.reduce((s, b) => s + requestsOf(b)[k], wanted[k]);
    sum += Number(total - used) / Number(total);
    n += 1;
  }
  return n === 0 ? 1 : sum / n;
}

export interface Candidate {
  readonly node: Node;
  readonly bound: readonly Container[];
}

/** The best of `candidates` (all of which fit) for `c`. */
export function pickNode(c: Container, candidates: readonly Candidate[]): Candidate | undefined {
  const key = spreadKey(c);
  const scored = candidates.map((cand) => ({
    cand,
    peers: key === undefined ? 0 : cand.bound.filter((b) => spreadKey(b) === key).length,
    preferAvoid: (cand.node.spec?.taints ?? []).some(
      (t) => t.effect === 'PreferNoSchedule' && !tolerates(c.spec.tolerations, t),
    )
      ? 1
      : 0,
    free: freeShare(c, cand.node, cand.bound),
    name: cand.node.metadata?.name ?? '',
  }));
  scored.sort(
    (a, b) =>
      a.peers - b.peers ||
      a.preferAvoid - b.preferAvoid ||
      b.free - a.free ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return scored[0]?.cand;
}
