// Status conditions of GitRepository and Sync, Flux's way: Ready is the summary, Reconciling while work is in
// progress or retried, Stalled when retrying cannot help, plus one condition per failing step (FetchFailed,
// Healthy). Conditions carry the generation they were computed for, so a stale Ready can be told apart.
import { removeCondition, setCondition, type Condition } from '@berth/api';
import type { ApiClient, Resource } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';

export interface ConditionUpdate {
  readonly set: readonly Omit<Condition, 'observedGeneration' | 'lastTransitionTime'>[];
  readonly remove?: readonly string[];
}

/** The new condition list, and whether it differs from the old one. */
export function updateConditions(
  old: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number | undefined,
): Condition[] {
  let list = [...(old ?? [])];
  for (const c of update.set) {
    list = setCondition(list, {
      ...c,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    }).conditions;
  }
  for (const type of update.remove ?? []) list = removeCondition(list, type).conditions;
  return list;
}

/** Stable JSON for comparing two statuses (key order does not matter). */
export function sameJson(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

/** An object whose status carries conditions (GitRepository, Sync). */
interface Conditioned extends KubernetesObject {
  status?: { conditions?: Condition[] };
}

/** Merge-patches /status when it changed (a pass that changes nothing writes nothing); true when it wrote. */
export async function writeStatus<T extends Conditioned>(
  client: ApiClient,
  resource: Resource,
  obj: T,
  next: NonNullable<T['status']>,
  update: ConditionUpdate,
): Promise<boolean> {
  const status = { ...next, conditions: updateConditions(obj.status?.conditions, update, obj.metadata?.generation) };
  if (sameJson(status, obj.status ?? {})) return false;
  await client.patch(
    resource,
    obj.metadata?.namespace,
    obj.metadata?.name ?? '',
    { status },
    {
      type: 'merge',
      subresource: 'status',
    },
  );
  return true;
}
