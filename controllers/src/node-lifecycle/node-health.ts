// What a Node's health means for its taints, as Kubernetes' node lifecycle controller maps them: a Ready
// condition that is Unknown (the agent went silent) gives node.kubernetes.io/unreachable, False gives
// node.kubernetes.io/not-ready, each with NoSchedule (the scheduler keeps away) and NoExecute (its Containers are
// evicted); True gives neither. Other taints are the user's and stay as they are.
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

export const sameTaints = (a: readonly Taint[] | undefined, b: readonly Taint[]): boolean =>
  JSON.stringify(a ?? []) === JSON.stringify(b);
