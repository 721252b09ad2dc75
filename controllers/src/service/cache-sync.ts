// Waits until an informer's cache shows this controller's own writes, so the next pass for the same key never
// acts on a view from before them (what the ReplicaSet controller's expectations are for, without keeping memory
// between passes: the queue never runs one key twice at once, so waiting here is enough).
import type { SharedInformer } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ServiceControllerError } from './errors.js';

export async function waitForCache<T extends KubernetesObject>(
  informer: SharedInformer<T>,
  settled: () => boolean,
  signal: AbortSignal,
  timeoutMs = 30_000,
): Promise<void> {
  if (settled()) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      off();
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const check = () => {
      if (settled()) done();
    };
    const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const timer = setTimeout(
      () =>
        done(
          new ServiceControllerError('BERTH_SERVICE_CACHE_LAG', `cache did not show own writes within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    const off = informer.addEventHandler({ add: check, update: check, delete: check });
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
