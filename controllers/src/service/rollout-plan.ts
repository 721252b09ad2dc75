// The rollout as a pure decision: from the replicas there are (of the current template and of older ones) and
// the strategy, how many to create and which to delete in this pass. It follows the Deployment controller's
// rolling update (reconcileNewReplicaSet, then cleanupUnhealthyReplicas and scaleDownOldReplicaSetsForRollingUpdate)
// with one Service owning its Containers directly instead of through ReplicaSets.
import type { Container, IntOrString } from '@berth/api';
import { deletionOrder, isAvailable } from './replicas.js';

export interface RolloutInput {
  readonly desired: number;
  readonly strategy: 'RollingUpdate' | 'Recreate';
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly paused: boolean;
  readonly minReadySeconds: number;
  readonly now: number;
  /** Active replicas of the current template. */
  readonly current: readonly Container[];
  /** Active replicas of older templates (or adopted without the current hash). */
  readonly old: readonly Container[];
  /** Old replicas still terminating (Recreate waits for them). */
  readonly oldTerminating: number;
}

export interface RolloutPlan {
  /** Replicas to create. */
  readonly create: number;
  /** Create them from the newest template that has replicas rather than the current one (paused). */
  readonly createFromNewestOld: boolean;
  readonly delete: readonly Container[];
}

/**
 * An int-or-percent against `total` (intstr.GetScaledValueFromIntOrPercent): surge rounds up, unavailability
 * down. Undefined for a value that is neither.
 */
export function scaledValue(value: IntOrString | undefined, total: number, roundUp: boolean, fallback: number) {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^(\d+)%$/.exec(value);
  if (m === null) return undefined;
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** maxSurge and maxUnavailable for `desired` replicas; both 0 would never progress, so unavailability is then 1. */
export function resolveFenceposts(
  maxSurge: IntOrString | undefined,
  maxUnavailable: IntOrString | undefined,
  desired: number,
): { maxSurge: number; maxUnavailable: number } | undefined {
  const surge = scaledValue(maxSurge, desired, true, 1);
  const unavailable = scaledValue(maxUnavailable, desired, false, 0);
  if (surge === undefined || unavailable === undefined) return undefined;
  if (surge === 0 && unavailable === 0) return { maxSurge: 0, maxUnavailable: 1 };
  return { maxSurge: surge, maxUnavailable: Math.min(unavailable, desired) };
}

const sorted = (cs: readonly Container[]) => [...cs].sort(deletionOrder);

export function planRollout(input: RolloutInput): RolloutPlan {
  const { desired, current, old } = input;
  const available = (c: Container) => isAvailable(c, input.minReadySeconds, input.now);
  const none = { create: 0, createFromNewestOld: false, delete: [] };

  if (input.paused) {
    // Template changes wait; scaling does not (as a paused Deployment still scales).
    const total = current.length + old.length;
    if (total < desired) return { create: desired - total, createFromNewestOld: current.length === 0, delete: [] };
    if (total > desired) return { ...none, delete: [...sorted(old), ...sorted(current)].slice(0, total - desired) };
    return none;
  }

  if (old.length === 0 && (input.strategy === 'RollingUpdate' || input.oldTerminating === 0)) {
    if (current.length < desired) return { ...none, create: desired - current.length };
    if (current.length > desired) return { ...none, delete: sorted(current).slice(0, current.length - desired) };
    return none;
  }

  if (input.strategy === 'Recreate') return { ...none, delete: old };

  const toDelete: Container[] = [];
  const excessCurrent = current.length > desired ? sorted(current).slice(0, current.length - desired) : [];
  toDelete.push(...excessCurrent);
  const keptCurrent = current.filter((c) => !excessCurrent.includes(c));
  const maxTotal = desired + input.maxSurge;
  let oldLeft = sorted(old);
  // Scaled down mid-rollout: drop old replicas beyond the surge ceiling first, the unavailable ones first.
  const over = keptCurrent.length + oldLeft.length - maxTotal;
  if (over > 0) {
    const byHealth = [...oldLeft.filter((c) => !available(c)), ...oldLeft.filter(available)];
    const drop = byHealth.slice(0, Math.min(over, oldLeft.length));
    toDelete.push(...drop);
    oldLeft = oldLeft.filter((c) => !drop.includes(c));
  }

  // Scale up the current template within the surge.
  const total = keptCurrent.length + oldLeft.length;
  const create = Math.max(0, Math.min(maxTotal - total, desired - keptCurrent.length));

  // Scale down old replicas while the available count stays at or above desired - maxUnavailable.
  const minAvailable = desired - input.maxUnavailable;
  const currentCount = keptCurrent.length + create;
  const currentAvailable = keptCurrent.filter(available).length;
  let maxScaledDown = total + create - minAvailable - (currentCount - currentAvailable);
  if (maxScaledDown > 0) {
    // Unhealthy old replicas first: removing them costs no availability.
    const unhealthy = oldLeft.filter((c) => !available(c)).slice(0, maxScaledDown);
    toDelete.push(...unhealthy);
    maxScaledDown -= unhealthy.length;
    const healthyOld = oldLeft.filter((c) => available(c));
    const availableTotal = currentAvailable + healthyOld.length;
    const n = Math.min(maxScaledDown, availableTotal - minAvailable, healthyOld.length);
    if (n > 0) toDelete.push(...healthyOld.slice(0, n));
  }
  return { create, createFromNewestOld: false, delete: toDelete };
}
