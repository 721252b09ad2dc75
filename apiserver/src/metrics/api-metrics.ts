// The API server's Prometheus metrics (prom-client), named and labelled as kube-apiserver names its own: requests
// by verb, resource and code, their latency, requests in flight, open watches, store writes and their fsyncs.
// One registry per server (two servers in one process, as tests run them, count apart).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-series.js';

/** kube-apiserver's buckets for apiserver_request_duration_seconds. */
const requestBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
/** etcd's buckets for its disk and request histograms (0.5 ms … 8 s, doubling). */
const diskBuckets = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096];

const requestLabels = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;
export type RequestLabels = Record<(typeof requestLabels)[number], string>;

export class ApiServerMetrics {
  readonly registry = new Registry();
  // Updated on every request and write: series the caller keeps (fast-series.ts), not prom-client's per-call lookup.
  readonly requests = new FastCounter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    registers: [this.registry],
  });
  readonly requestDuration = new FastHistogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    buckets: requestBuckets,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Maximal number of currently used inflight request limit of this apiserver per request kind in last second.',
    labelNames: ['request_kind'],
    registers: [this.registry],
  });
  readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
    labelNames: requestLabels,
    registers: [this.registry],
  });
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    labelNames: ['group', 'version', 'kind'],
    registers: [this.registry],
  });
  readonly storeRequests = new FastHistogram({
    name: 'etcd_request_duration_seconds',
    help: 'Store request latency in seconds for each operation and object type (a write includes its fsync).',
    buckets: diskBuckets,
    registers: [this.registry],
  });
  readonly fsyncs = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of the store’s durable sync (one per group-committed batch of writes).',
    buckets: diskBuckets,
    registers: [this.registry],
  });
  readonly syncedWrites = new Histogram({
    name: 'apiserver_storage_batch_writes',
    help: 'Writes carried by one durable sync of the embedded store (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [this.registry],
  });

  constructor() {
    processMetrics(this.registry);
    // The gauges Kubernetes always exposes, so a dashboard finds both kinds from the first scrape.
    this.inflight.set({ request_kind: 'readOnly' }, 0);
    this.inflight.set({ request_kind: 'mutating' }, 0);
  }
}

/** process_* as every Prometheus client exposes them, read on scrape (no timers, nothing to stop). */
export function processMetrics(registry: Registry): void {
  const startTime = Date.now() / 1000 - process.uptime();
  let cpuSeen = 0;
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      const total = (user + system) / 1e6;
      this.inc(total - cpuSeen);
      cpuSeen = total;
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers: [registry],
    collect() {
      this.set(startTime);
    },
  });
}
