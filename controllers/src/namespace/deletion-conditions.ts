// The status conditions a terminating Namespace carries while its content is deleted, worded as Kubernetes'
// namespace controller words them, so `kubectl describe namespace` tells why a deletion is stuck.
import { setCondition, type Condition } from '@berth/api';
import type { ContentReport } from './content-deleter.js';

export const discoveryFailure = 'NamespaceDeletionDiscoveryFailure';
export const contentFailure = 'NamespaceDeletionContentFailure';
export const contentRemaining = 'NamespaceContentRemaining';
export const finalizersRemaining = 'NamespaceFinalizersRemaining';

export type NamespaceCondition = Omit<Condition, 'observedGeneration'>;

const counted = (m: ReadonlyMap<string, number>, join: string): string =>
  [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${join} ${n} resource instances`)
    .join(', ');

const listed = (m: ReadonlyMap<string, string>): string =>
  [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, why]) => `${k}: ${why}`)
    .join(', ');

/** The discovery condition alone (when discovery failed before any content was looked at). */
export function discoveryCondition(failed: ReadonlyMap<string, string>): NamespaceCondition {
  return failed.size === 0
    ? {
        type: discoveryFailure,
        status: 'False',
        reason: 'ResourcesDiscovered',
        message: 'All resources successfully discovered',
      }
    : {
        type: discoveryFailure,
        status: 'True',
        reason: 'DiscoveryFailed',
        message: `Discovery failed for some groups, ${failed.size} failing: ${listed(failed)}`,
      };
}

/** All four conditions after a pass over the content. */
export function deletionConditions(
  discoveryFailed: ReadonlyMap<string, string>,
  report: ContentReport,
): NamespaceCondition[] {
  const { failures, remaining, finalizers } = report;
  return [
    discoveryCondition(discoveryFailed),
    failures.size === 0
      ? {
          type: contentFailure,
          status: 'False',
          reason: 'ContentDeleted',
          message: 'All content successfully deleted, may be waiting on finalization',
        }
      : {
          type: contentFailure,
          status: 'True',
          reason: 'ContentDeletionFailed',
          message: `Failed to delete all resource types, ${failures.size} remaining: ${listed(failures)}`,
        },
    remaining.size === 0
      ? {
          type: contentRemaining,
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        }
      : {
          type: contentRemaining,
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${counted(remaining, 'has')}`,
        },
    finalizers.size === 0
      ? {
          type: finalizersRemaining,
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        }
      : {
          type: finalizersRemaining,
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${counted(finalizers, 'in')}`,
        },
  ];
}

/** `conditions` with each of `updates` set (transition times kept when a status stays), and whether any changed. */
export function withConditions(
  conditions: readonly NamespaceCondition[] | undefined,
  updates: readonly NamespaceCondition[],
  now = new Date(),
): { conditions: NamespaceCondition[]; changed: boolean } {
  let list = [...(conditions ?? [])];
  let changed = false;
  for (const u of updates) {
    const next = setCondition(list, u, now);
    list = next.conditions;
    changed ||= next.changed;
  }
  return { conditions: list, changed };
}
