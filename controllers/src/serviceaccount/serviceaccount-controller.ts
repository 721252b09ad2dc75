// The ServiceAccount controller, as kube-controller-manager's: every active Namespace has a `default`
// ServiceAccount, made when the Namespace appears and made again when someone deletes it. A Namespace being
// deleted is left alone (its content is going).
import {
  resources,
  isAlreadyExists,
  isNotFound,
  newControllerManagedBy,
  type Controller,
  type Manager,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';

const { namespaces } = resources;
export const { serviceAccounts } = resources;

export interface ServiceAccountControllerOptions {
  /** The ServiceAccounts every Namespace gets. @default ['default'] */
  readonly names?: readonly string[];
}

export async function addServiceAccountController(
  mgr: Manager,
  options: ServiceAccountControllerOptions = {},
): Promise<Controller> {
  const names = options.names ?? ['default'];
  const nsCache = await mgr.cache.informerFor<KubernetesObject & { status?: { phase?: string } }>(namespaces);
  const saCache = await mgr.cache.informerFor<KubernetesObject>(serviceAccounts);
  return newControllerManagedBy(mgr)
    .for(namespaces)
    .watches<KubernetesObject>(serviceAccounts, (sa) =>
      names.includes(sa.metadata?.name ?? '') ? [{ name: sa.metadata?.namespace ?? '' }] : [],
    )
    .named('serviceaccount')
    .complete(async (ctx, req) => {
      const ns = nsCache.get(undefined, req.name);
      if (ns === undefined || ns.metadata?.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating')
        return;
      for (const name of names) {
        if (saCache.get(req.name, name) !== undefined) continue;
        try {
          await mgr.client.create(
            serviceAccounts,
            { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: req.name } },
            ctx.signal,
          );
        } catch (e) {
          // Made by someone else meanwhile, or the Namespace went: nothing to do.
          if (!isAlreadyExists(e) && !isNotFound(e)) throw e;
        }
      }
    });
}
