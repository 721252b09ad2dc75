// The auto-remove controller: deletes a Container with spec.autoRemove once its process has exited for good, as the
// docker daemon removes a `docker run --rm` container (and as Kubernetes' TTL-after-finished controller deletes
// finished Jobs). "For good" is the node agent's own record: a terminal phase for the current generation.
import type { Container } from '@berth/api';
import { isNotFound, newControllerManagedBy, type Controller, type Manager } from '@berth/controller-runtime';
import { containers } from '../kinds.js';

/** Whether the agent has recorded that this spec's process ended and will not be restarted. */
export function exitedForGood(c: Container): boolean {
  const s = c.status;
  return (
    (s?.phase === 'Succeeded' || s?.phase === 'Failed') &&
    (s.observedGeneration === undefined || s.observedGeneration === c.metadata.generation)
  );
}

/** Adds the auto-remove controller to `mgr`. */
export async function addAutoRemoveController(mgr: Manager): Promise<Controller> {
  const cache = await mgr.cache.informerFor(containers);
  return newControllerManagedBy(mgr)
    .for(containers)
    .named('auto-remove')
    .complete(async (_ctx, req) => {
      const obj = cache.get(req.namespace, req.name);
      if (obj === undefined) return;
      const c = obj as unknown as Container;
      if (c.spec.autoRemove !== true || c.metadata.deletionTimestamp !== undefined || !exitedForGood(c)) return;
      try {
        // Conditional on the uid: a new Container under the same name is not this one.
        await mgr.client.delete(containers, req.namespace, req.name, { preconditionUid: c.metadata.uid ?? '' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
}
