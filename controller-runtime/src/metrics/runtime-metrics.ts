// The metrics every controller gets from the shared runtime (prom-client), named as client-go's workqueue and
// controller-runtime name theirs: queue depth, adds, time waiting and working, retries; reconciles by result,
// their errors and latency. One registry per manager; a process's own components add their families to it.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** client-go's workqueue buckets (10 ns … 10 s, ×10) are too coarse to read; these are controller-runtime's. */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2,
  2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];

/** What a WorkQueue reports as it goes; bound to its name. */
export interface QueueMetrics {
  added(): void;
  /** A key was handed to a worker after waiting `seconds`. */
  handed(seconds: number): void;
  /** A worker finished a key after `seconds`. */
  worked(seconds: number): void;
  retried(): void;
}

/** What a Controller reports about each reconcile. */
export interface ReconcileMetrics {
  reconciled(result: 'success' | 'requeue_after' | 'error' | 'terminal', seconds: number): void;
  activeWorkers(delta: number): void;
}

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly #depths = new Map<string, () => number>();
  readonly #adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly #queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'],
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly #workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'],
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly #retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly #reconciles = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers: [this.registry],
  });
  readonly #reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly #terminalErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly #reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: reconcileBuckets,
    registers: [this.registry],
  });
  readonly #activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });

  constructor() {
    const depths = this.#depths;
    new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers: [this.registry],
      collect() {
        // Read on scrape: a depth kept up to date on every add and get would cost every queue operation.
        for (const [name, depth] of depths) this.set({ name, controller: name }, depth());
      },
    });
    processMetrics(this.registry);
  }

  /** The hooks of one controller's queue, whose depth is read from `depth` on each scrape. */
  queue(name: string, depth: () => number): QueueMetrics {
    this.#depths.set(name, depth);
    const labels = { name, controller: name };
    const adds = this.#adds.labels(labels);
    const queued = this.#queueDuration.labels(labels);
    const work = this.#workDuration.labels(labels);
    const retries = this.#retries.labels(labels);
    adds.inc(0);
    retries.inc(0);
    return {
      added: () => adds.inc(),
      handed: (seconds) => queued.observe(seconds),
      worked: (seconds) => work.observe(seconds),
      retried: () => retries.inc(),
    };
  }

  reconcile(controller: string): ReconcileMetrics {
    const labels = { controller };
    const time = this.#reconcileTime.labels(labels);
    const errors = this.#reconcileErrors.labels(labels);
    const terminal = this.#terminalErrors.labels(labels);
    const workers = this.#activeWorkers.labels(labels);
    errors.inc(0);
    terminal.inc(0);
    workers.set(0);
    return {
      reconciled: (result, seconds) => {
        // controller-runtime counts a terminal error as an error result, and apart in its own counter.
        this.#reconciles.inc({ controller, result: result === 'terminal' ? 'error' : result });
        if (result === 'terminal') errors.inc();
        if (result === 'error') errors.inc();
        if (result === 'terminal') terminal.inc();
        time.observe(seconds);
      },
      activeWorkers: (delta) => workers.inc(delta),
    };
  }
}

/** process_* as every Prometheus client exposes them, read on scrape (no timers, nothing to stop). */
function processMetrics(registry: Registry): void {
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
