// Health of applied objects, by kstatus' rules: an object whose controller has not observed its generation yet
// is in progress; one with a Ready (or Available) condition is healthy when it is True; Stalled=True is failed;
// an object that reports no conditions at all (a ConfigMap) is healthy as soon as it exists, except berth's
// Containers and Services, which always get a Ready condition from their controllers: until then they are not.
import { resourcePath, type ApiClient } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KindResolver, PlannedObject } from './apply.js';
import { describeRef } from './inventory.js';

interface StatusView {
  observedGeneration?: number;
  conditions?: { type: string; status: string; message?: string }[];
}

export type Health = { readonly healthy: true } | { readonly healthy: false; readonly why: string };

export function healthOf(obj: KubernetesObject & { status?: StatusView }): Health {
  const status = obj.status;
  const generation = obj.metadata?.generation;
  if (status?.observedGeneration !== undefined && generation !== undefined && status.observedGeneration < generation)
    return { healthy: false, why: `generation ${generation} not observed yet` };
  const conditions = status?.conditions ?? [];
  const stalled = conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled !== undefined) return { healthy: false, why: `stalled: ${stalled.message ?? ''}` };
  const ready = conditions.find((c) => c.type === 'Ready') ?? conditions.find((c) => c.type === 'Available');
  if (ready === undefined && reportsReady(obj)) return { healthy: false, why: 'no Ready condition yet' };
  if (ready !== undefined && ready.status !== 'True')
    return { healthy: false, why: `${ready.type} is ${ready.status}${ready.message ? `: ${ready.message}` : ''}` };
  return { healthy: true };
}

/**
 * Polls the objects until all are healthy or `deadline` (epoch ms, the Sync's timeout) passes; returns the
 * unhealthy ones then, as `Kind/ns/name: why` strings (empty when all are healthy). Each poll runs whole, so
 * the reasons are those of the last complete look, not "aborted".
 */
export async function waitForHealth(
  client: ApiClient,
  kinds: KindResolver,
  objects: readonly PlannedObject[],
  deadline: number,
  signal: AbortSignal,
  pollMs = 250,
): Promise<string[]> {
  let pending = [...objects];
  for (;;) {
    const next: PlannedObject[] = [];
    const reasons: string[] = [];
    for (const o of pending) {
      const health = await check(client, kinds, o, signal);
      if (!health.healthy) {
        next.push(o);
        reasons.push(`${describeRef(o.ref)}: ${health.why}`);
      }
    }
    pending = next;
    if (pending.length === 0) return [];
    if (signal.aborted || Date.now() + pollMs > deadline) return reasons;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

async function check(client: ApiClient, kinds: KindResolver, o: PlannedObject, signal: AbortSignal): Promise<Health> {
  try {
    const r = await kinds.resolve(o.ref.group, o.ref.version, o.ref.kind, signal);
    if (r === undefined) return { healthy: false, why: 'kind not served' };
    const path = resourcePath(r, r.namespaced ? o.ref.namespace : undefined, o.ref.name);
    return healthOf((await client.request('GET', path, { signal })) as KubernetesObject & { status?: StatusView });
  } catch (err) {
    return { healthy: false, why: err instanceof Error ? err.message : String(err) };
  }
}

function reportsReady(obj: KubernetesObject): boolean {
  return obj.apiVersion?.startsWith('berth.dev/') === true && (obj.kind === 'Container' || obj.kind === 'Service');
}
