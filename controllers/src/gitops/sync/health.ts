// Health of applied objects, by kstatus' rules: an object whose controller has not observed its generation yet
// is in progress; one with a Ready (or Available) condition is healthy when it is True; Stalled=True is failed;
// an object that reports no conditions at all (a ConfigMap) is healthy as soon as it exists.
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
  if (ready !== undefined && ready.status !== 'True')
    return { healthy: false, why: `${ready.type} is ${ready.status}${ready.message ? `: ${ready.message}` : ''}` };
  return { healthy: true };
}

/**
 * Polls the objects until all are healthy or `signal` aborts (the Sync's timeout); returns the unhealthy ones
 * then, as `Kind/ns/name: why` strings (empty when all are healthy).
 */
export async function waitForHealth(
  client: ApiClient,
  kinds: KindResolver,
  objects: readonly PlannedObject[],
  signal: AbortSignal,
  pollMs = 250,
): Promise<string[]> {
  let pending = [...objects];
  let reasons: string[] = [];
  for (;;) {
    const next: PlannedObject[] = [];
    reasons = [];
    for (const o of pending) {
      const r = await kinds.resolve(o.ref.group, o.ref.version, o.ref.kind, signal).catch(() => undefined);
      let health: Health = { healthy: false, why: 'not found' };
      if (r !== undefined) {
        try {
          const obj = (await client.request(
            'GET',
            resourcePath(r, r.namespaced ? o.ref.namespace : undefined, o.ref.name),
            {
              signal,
            },
          )) as KubernetesObject & { status?: StatusView };
          health = healthOf(obj);
        } catch (err) {
          if (signal.aborted) break;
          health = { healthy: false, why: err instanceof Error ? err.message : String(err) };
        }
      }
      if (!health.healthy) {
        next.push(o);
        reasons.push(`${describeRef(o.ref)}: ${health.why}`);
      }
    }
    pending = next;
    if (pending.length === 0 || signal.aborted) return pending.length === 0 ? [] : reasons;
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
