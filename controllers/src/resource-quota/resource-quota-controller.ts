// The resource quota controller (kube-controller-manager's resourcequota controller, object counts only): keeps
// each ResourceQuota's status.hard as its spec.hard and status.used as the number of objects of each counted
// resource in its namespace. Counted kinds are watched through shared informers made the first time a quota names
// them (Kubernetes' replenishment), so a delete recounts the quotas of its namespace at once; a resync catches
// anything else. Admission charges creates up front (apiserver's resource-quota plugin); this recount is
// what releases deleted objects and undoes the charge of a create that failed after admission.
import type { KubernetesObject } from '@kubernetes/client-node';
import { countedResource, countsOnlyRunning } from '@berth/api';
import {
  resources,
  newControllerManagedBy,
  type Controller,
  type Manager,
  type SharedInformer,
} from '@berth/controller-runtime';
import { discoverServedResources, type ServedResource } from '../discovery/served-resources.js';

export interface ResourceQuotaControllerOptions {
  /** Every quota is recounted this often even when nothing it counts changed. @default 30000 */
  readonly resyncMs?: number;
}

export const { resourceQuotas } = resources;

interface Quota extends KubernetesObject {
  spec?: { hard?: Record<string, unknown> };
  status?: { hard?: Record<string, unknown>; used?: Record<string, unknown> };
}

const finished = (obj: KubernetesObject): boolean => {
  const phase = (obj as { status?: { phase?: unknown } }).status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

const sameAmounts = (a: Record<string, unknown> | undefined, b: Record<string, string>): boolean => {
  const x = a ?? {};
  const keys = Object.keys(b);
  return Object.keys(x).length === keys.length && keys.every((k) => String(x[k]) === b[k]);
};

export async function addResourceQuotaController(
  mgr: Manager,
  options: ResourceQuotaControllerOptions = {},
): Promise<Controller> {
  const resyncMs = options.resyncMs ?? 30_000;
  const quotaCache = await mgr.cache.informerFor<Quota>(resourceQuotas);
  let served: { at: number; resources: ServedResource[] } | undefined;
  const informers = new Map<string, SharedInformer>();
  let controller: Controller | undefined;

  /** The served resource a quota key counts (discovery is asked again, at most every 10 s, for one not yet seen). */
  const resourceFor = async (key: string, signal: AbortSignal): Promise<ServedResource | undefined> => {
    const counted = countedResource(key);
    if (counted === undefined) return undefined;
    const find = () =>
      served?.resources.find((r) => r.group === counted.group && r.plural === counted.plural && r.namespaced);
    if (find() === undefined && (served === undefined || Date.now() - served.at > 10_000))
      served = { at: Date.now(), resources: (await discoverServedResources(mgr.client, signal)).resources };
    return find();
  };

  const quotasOf = (namespace: string | undefined) =>
    quotaCache.list(namespace).map((q) => ({ namespace: q.metadata?.namespace ?? '', name: q.metadata?.name ?? '' }));
  /**
   * The informer of a counted kind, wired on first use to recount its namespace's quotas when an object goes (or a
   * Container finishes). Not on creates: admission charged those already, and a recount from a cache that has not
   * seen the new object yet would undercount (Kubernetes' replenishment controllers watch deletes for the same
   * reason).
   */
  const informerOf = async (r: ServedResource, signal: AbortSignal): Promise<SharedInformer> => {
    const id = `${r.group}/${r.plural}`;
    let informer = informers.get(id);
    if (informer === undefined) {
      informer = await mgr.cache.informerFor(r);
      informers.set(id, informer);
      const recount = (obj: KubernetesObject) => {
        for (const q of quotasOf(obj.metadata?.namespace)) controller?.enqueue(q);
      };
      informer.addEventHandler({
        delete: recount,
        update: (before, after) => {
          if (finished(before) !== finished(after)) recount(after);
        },
      });
    }
    await informer.waitForSync(signal);
    return informer;
  };

  // A quota is recounted when its spec changes (a new generation) or its status was never filled, not on the
  // status writes admission's charges make (Kubernetes' controller ignores those too).
  const generations = new Map<string, number>();
  const onSpecChange = (q: Quota) => {
    const key = `${q.metadata?.namespace ?? ''}/${q.metadata?.name ?? ''}`;
    const generation = q.metadata?.generation ?? 0;
    if (generations.get(key) === generation && q.status?.hard !== undefined) return [];
    generations.set(key, generation);
    return [{ namespace: q.metadata?.namespace ?? '', name: q.metadata?.name ?? '' }];
  };

  controller = await newControllerManagedBy(mgr)
    .named('resourcequota')
    .watches(resourceQuotas, onSpecChange)
    .complete(async (ctx, req) => {
      const quota = quotaCache.get(req.namespace, req.name);
      if (quota === undefined || quota.metadata?.deletionTimestamp !== undefined) {
        generations.delete(`${req.namespace ?? ''}/${req.name}`);
        return;
      }
      const hard: Record<string, string> = {};
      const used: Record<string, string> = {};
      for (const [key, limit] of Object.entries(quota.spec?.hard ?? {})) {
        hard[key] = String(limit);
        const r = await resourceFor(key, ctx.signal);
        if (r === undefined) {
          if (countedResource(key) !== undefined) used[key] = '0';
          continue;
        }
        const objects = (await informerOf(r, ctx.signal)).list(req.namespace);
        used[key] = String(objects.filter((o) => !(countsOnlyRunning(key) && finished(o))).length);
      }
      if (sameAmounts(quota.status?.hard, hard) && sameAmounts(quota.status?.used, used))
        return { requeueAfterMs: resyncMs };
      // A conflict (admission charged a create meanwhile) is an error: retried, recounted from the cache.
      await mgr.client.update(resourceQuotas, { ...quota, status: { hard, used } }, { subresource: 'status' });
      return { requeueAfterMs: resyncMs };
    });
  return controller;
}
