// What a Node's health means for its taints, as Kubernetes' node lifecycle controller maps them: a Ready
// condition that is Unknown (the agent went silent) gives node.kubernetes.io/unreachable, False gives
// node.kubernetes.io/not-ready, each with NoSchedule (the scheduler keeps away) and NoExecute (its Containers are
// evicted); True gives neither. Other taints are the user's and stay as they are, a NoExecute one stamped with the
// time it was first seen.
import type { Taint } from '../kinds.js';

export const unreachableTaint = 'node.kubernetes.io/unreachable';
export const notReadyTaint = 'node.kubernetes.io/not-ready';

export type ReadyStatus = 'True' | 'False' | 'Unknown';

/** The taints a Node with `ready` should have, keeping other taints and the timeAdded of those already there. */
export function taintsFor(current: readonly Taint[] | undefined, ready: ReadyStatus, now: string): Taint[] {
  const others = (current ?? []).filter((t) => t.key !== unreachableTaint && t.key !== notReadyTaint);
  const key = ready === 'Unknown' ? unreachableTaint : ready === 'False' ? notReadyTaint : undefined;
  if (key === undefined) return others;
  const ours = (['NoSchedule', 'NoExecute'] as const).map(
    (effect): Taint => current?.find((t) => t.key === key && t.effect === effect) ?? { key, effect, timeAdded: now },
  );
  return [...others, ...ours];
}

export const isNodeHealthTaint = (t: Taint): boolean => t.key === unreachableTaint || t.key === notReadyTaint;

/**
 * `taints` with a timeAdded on every NoExecute one (kubectl taint does not always write it): the eviction clock of
 * a tolerationSeconds starts when this controller first sees the taint.
 */
export function stampNoExecute(taints: readonly Taint[], now: string): Taint[] {
  return taints.map((t) => (t.effect === 'NoExecute' && t.timeAdded === undefined ? { ...t, timeAdded: now } : t));
}

export const sameTaints = (a: readonly Taint[] | undefined, b: readonly Taint[]): boolean =>
  JSON.stringify(a ?? []) === JSON.stringify(b);
