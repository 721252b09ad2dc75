// The garbage collector, as kube-controller-manager's: it watches every kind discovery serves (a CRD added later
// is picked up by the next resync of discovery, a deleted one dropped), keeps the dependency graph over their caches, and deletes
// dependents whose owners are gone, finishes foreground deletions and orphans dependents (collector.ts). Objects
// of every kind share one queue, keyed by uid. After a restart the first lists show the dependents of owners
// deleted meanwhile, which it then collects like any other.
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, type Manager, type Resource, type Runnable, checkNumber } from '@berth/controller-runtime';
import { collect, type Collector } from './collector.js';
import { DependencyGraph } from './dependency-graph.js';
import { monitoredResources } from './monitored-resources.js';

/** Source of the collector's Events, as Kubernetes names it. */
export const garbageCollectorComponent = 'garbage-collector-controller';

export interface GarbageCollectorOptions {
  /** How often discovery is read again for kinds to watch. Kubernetes: 30 s. @default 30000 */
  readonly resyncPeriodMs?: number;
  /** Objects looked at at once (never one object twice). @default 4 */
  readonly workers?: number;
}

/** Adds the garbage collector to `mgr` (before or after it starts); resolves once its first discovery is read. */
export async function addGarbageCollector(mgr: Manager, options: GarbageCollectorOptions = {}): Promise<Controller> {
  const resyncPeriodMs = checkNumber('resyncPeriodMs', options.resyncPeriodMs ?? 30_000, { positive: true });
  const workers = checkNumber('workers', options.workers ?? 4, { integer: true, positive: true });
  let gc: Collector | undefined;
  const controller = new Controller({
    name: 'garbage-collector',
    workers,
    baseDelayMs: 50,
    maxDelayMs: 60_000,
    log: mgr.log,
    reconciler: (ctx, req) => collect(gc!, ctx, req),
  });
  mgr.claimName(controller.name);
  const graph = new DependencyGraph(mgr.cache, (uid) => controller.enqueue({ name: uid }));
  gc = {
    client: mgr.client,
    graph,
    recorder: mgr.eventRecorder(garbageCollectorComponent),
    enqueue: (uid) => controller.enqueue({ name: uid }),
    unsyncedRequeueMs: 500,
  };
  const resync = new DiscoveryResync(mgr, graph, resyncPeriodMs);
  // The kinds known now are watched before the manager waits for its caches, so workers start on a full graph.
  await resync.once(AbortSignal.timeout(30_000));
  await mgr.add(controller);
  await mgr.add(resync);
  return controller;
}

const groupResource = (r: Resource): string => (r.group === '' ? r.plural : `${r.plural}.${r.group}`);

/** Reads discovery every period and starts watching kinds that appeared (Kubernetes' resyncMonitors). */
class DiscoveryResync implements Runnable {
  readonly #mgr: Manager;
  readonly #graph: DependencyGraph;
  readonly #periodMs: number;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(mgr: Manager, graph: DependencyGraph, periodMs: number) {
    this.#mgr = mgr;
    this.#graph = graph;
    this.#periodMs = periodMs;
  }

  /** One pass: a failure is logged (the next pass tries again), never thrown. */
  async once(signal: AbortSignal): Promise<void> {
    try {
      const { resources, failed } = await monitoredResources(this.#mgr.client, signal);
      const added = await this.#graph.monitor(resources);
      if (added.length > 0) this.#mgr.log.info('garbage collector watches', { resources: added.map(groupResource) });
      // Only a complete discovery says a kind is gone (a group that failed to answer may still serve it).
      const removed = failed.size === 0 ? await this.#graph.forget(resources) : [];
      if (removed.length > 0)
        this.#mgr.log.info('garbage collector stopped watching', { resources: removed.map(groupResource) });
      if (failed.size > 0)
        this.#mgr.log.error('garbage collector discovery failed for some groups', {
          failed: Object.fromEntries(failed),
        });
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      this.#mgr.log.error('garbage collector discovery failed', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  start(): void {
    this.#loop ??= (async () => {
      const signal = this.#stop.signal;
      while (!signal.aborted) {
        await sleep(this.#periodMs, undefined, { signal }).catch(() => undefined);
        if (!signal.aborted) await this.once(signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#graph.close();
    await this.#loop;
  }
}
