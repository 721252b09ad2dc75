// status.conditions helpers with Kubernetes' lastTransitionTime semantics (apimachinery meta.SetStatusCondition).
import type { Condition, ConditionStatus } from './meta.js';

/** RFC 3339 UTC with whole seconds, the form Kubernetes emits: `2026-11-24T02:05:04Z`. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The condition of `type`, or undefined. */
export function findCondition<C extends Condition>(conditions: readonly C[] | undefined, type: string): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The status of condition `type`; 'Unknown' when absent (as Kubernetes treats a missing condition). */
export function conditionStatus(conditions: readonly Condition[] | undefined, type: string): ConditionStatus {
  return findCondition(conditions, type)?.status ?? 'Unknown';
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return conditionStatus(conditions, type) === 'True';
}

export function isConditionFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return conditionStatus(conditions, type) === 'False';
}

/**
 * Sets a condition without mutating the input. A new type is appended; an existing one keeps its position and
 * its lastTransitionTime unless the status changes. The transition time is `condition.lastTransitionTime` when
 * given, else `now`. reason, message and observedGeneration are always taken from `condition`.
 * `changed` tells whether anything differs, so a controller can skip a no-op status write.
 */
export function setCondition<C extends Condition>(
  conditions: readonly C[] | undefined,
  condition: NoInfer<C>,
  now: Date = new Date(),
): { conditions: C[]; changed: boolean } {
  const list = [...(conditions ?? [])];
  const at = list.findIndex((c) => c.type === condition.type);
  const transitionTime = condition.lastTransitionTime ?? formatTime(now);
  if (at < 0) {
    list.push({ ...condition, lastTransitionTime: transitionTime });
    return { conditions: list, changed: true };
  }
  const old = list[at]!;
  const next: C = { ...old, ...condition };
  next.lastTransitionTime =
    old.status !== condition.status || old.lastTransitionTime === undefined ? transitionTime : old.lastTransitionTime;
  // Fields the new condition leaves out are cleared, as Kubernetes overwrites reason/message/observedGeneration.
  for (const key of ['reason', 'message', 'observedGeneration'] as const) {
    if (condition[key] === undefined) delete next[key];
  }
  const changed = JSON.stringify(sortKeys(old)) !== JSON.stringify(sortKeys(next));
  list[at] = changed ? next : old;
  return { conditions: list, changed };
}

/** Removes the condition of `type`, without mutating the input. */
export function removeCondition<C extends Condition>(
  conditions: readonly C[] | undefined,
  type: string,
): { conditions: C[]; changed: boolean } {
  const list = (conditions ?? []).filter((c) => c.type !== type);
  return { conditions: list, changed: list.length !== (conditions?.length ?? 0) };
}

function sortKeys(c: object): [string, unknown][] {
  return Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
