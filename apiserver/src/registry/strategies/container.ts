// Containers: deleted gracefully, as Kubernetes deletes a Pod (podStrategy.CheckGracefulDelete).

import type { KubeObject } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';

/** The grace period when neither the delete nor the spec names one (the CRD's default, as a Pod's). */
const defaultGraceSeconds = 30;

/**
 * A delete's grace period is the one asked for, else spec.terminationGracePeriodSeconds; a Container bound to no
 * node, or already finished, has nothing to stop and gets none. The node agent stops the container within it.
 */
export function containerGracePeriod(obj: KubeObject, requested: number | undefined): number {
  const spec = (obj['spec'] ?? {}) as { nodeName?: unknown; terminationGracePeriodSeconds?: unknown };
  const status = (obj['status'] ?? {}) as { phase?: unknown };
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return 0;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return 0;
  if (requested !== undefined) return requested;
  return typeof spec.terminationGracePeriodSeconds === 'number'
    ? spec.terminationGracePeriodSeconds
    : defaultGraceSeconds;
}

export const containerStrategy: Strategy = { gracePeriodOnDelete: containerGracePeriod };
