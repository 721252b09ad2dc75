// Store latency as kube-apiserver reports its etcd requests (etcd_request_duration_seconds by operation and
// object type), by a Store that times the one it wraps, and the embedded store's own durable syncs.

import type { ListOptions, Store, Watcher, WriteResult } from '../storage/interface.js';
import type { ApiServerMetrics } from './api-metrics.js';
import type { HistogramSeries } from './fast-series.js';

/** `/registry/<group>/<plural>/…` → `<plural>.<group>` (`<plural>` for the core group), as Kubernetes' type label. */
export function objectType(key: string): string {
  if (!key.startsWith('/registry/')) return '';
  const groupEnd = key.indexOf('/', 10);
  if (groupEnd < 0) return '';
  const pluralEnd = key.indexOf('/', groupEnd + 1);
  const plural = key.slice(groupEnd + 1, pluralEnd < 0 ? undefined : pluralEnd);
  const group = key.slice(10, groupEnd);
  return group === 'core' ? plural : `${plural}.${group}`;
}

/** `store`, its reads and writes timed; its syncs (if it tells them) observed. */
export function instrumentedStore(store: Store, metrics: ApiServerMetrics): { store: Store; close(): void } {
  // The series of each operation and key prefix (`/registry/<group>/<plural>/`), bounded by the kinds served.
  const series = new Map<string, HistogramSeries>();
  const seriesOf = (operation: string, key: string): HistogramSeries => {
    const prefixEnd = key.indexOf('/', key.indexOf('/', 10) + 1);
    const id = `${operation} ${prefixEnd < 0 ? key : key.slice(0, prefixEnd)}`;
    let found = series.get(id);
    if (found === undefined) {
      found = metrics.storeRequests.series({ operation, type: objectType(key) });
      series.set(id, found);
    }
    return found;
  };
  const timed = async <T>(operation: string, key: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await run();
    } finally {
      seriesOf(operation, key).observe((performance.now() - start) / 1000);
    }
  };
  const unsubscribe = store.onSync?.((seconds, writes) => {
    metrics.fsyncs.observe(seconds);
    metrics.syncedWrites.observe(writes);
  });
  const wrapped: Store = {
    // Other servers writing the same etcd is a fact of the wrapped store: watches of future revisions wait on it.
    ...(store.shared === true ? { shared: true } : {}),
    revision: () => store.revision(),
    compactedRevision: () => store.compactedRevision(),
    get: (key) => timed('get', key, () => store.get(key)),
    list: (options: ListOptions) => timed('list', options.prefix, () => store.list(options)),
    create: (key, render): Promise<WriteResult> => timed('create', key, () => store.create(key, render)),
    update: (key, expected, render) => timed('update', key, () => store.update(key, expected, render)),
    delete: (key, expected) => timed('delete', key, () => store.delete(key, expected)),
    watch: (prefix, after): Watcher => store.watch(prefix, after),
    compact: (revision) => store.compact(revision),
    close: () => store.close(),
  };
  return { store: wrapped, close: () => unsubscribe?.() };
}
