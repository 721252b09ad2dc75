// The node agent's Prometheus families, added to its manager's registry beside the controllers' own: image pulls
// (bytes and seconds), container start latency, exec and attach sessions opened (kubelet's runtime operations),
// and each running container's CPU, memory, processes, network and block I/O read from its cgroup at scrape time,
// named as kubelet and cAdvisor name theirs.

import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ImageService } from '../images/images.js';
import type { Runtime } from '../runtime/runtime.js';
import { blockDeviceName } from './cgroup-stats.js';
import type { StatsSummaries } from './stats-summary.js';

const secondsBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300, 600];

export interface AgentMetrics {
  /** `images`, each pull timed and its downloaded bytes counted. */
  measuredImages(images: ImageService): ImageService;
  /** A container of this node started `seconds` after its Container was created. */
  containerStarted(seconds: number): void;
  /** `runtime` for the streaming server: each exec and attach it opens counted and timed (until the process runs). */
  measuredStreaming(runtime: StreamingRuntime): StreamingRuntime;
}

type StreamingRuntime = Pick<Runtime, 'state' | 'pids' | 'exec' | 'attach'>;

export function agentMetrics(registry: Registry, stats: StatsSummaries): AgentMetrics {
  const pullSeconds = new Histogram({
    name: 'kubelet_image_pull_duration_seconds',
    help: 'Duration in seconds to pull an image (resolve, download, verify and unpack).',
    buckets: secondsBuckets,
    registers: [registry],
  });
  const pullBytes = new Counter({
    name: 'kubelet_image_pull_bytes_total',
    help: 'Bytes of image layers downloaded from registries.',
    registers: [registry],
  });
  const pullErrors = new Counter({
    name: 'kubelet_image_pull_errors_total',
    help: 'Image pulls that failed.',
    registers: [registry],
  });
  const starts = new Histogram({
    name: 'kubelet_pod_start_duration_seconds',
    help: "Duration in seconds from a Container's creation to its process running on this node (berth's Pods are Containers).",
    buckets: secondsBuckets,
    registers: [registry],
  });
  // kubelet's names for its CRI calls; berth's runtime is in-process, so its exec and attach are the operations.
  const operations = new Counter({
    name: 'kubelet_runtime_operations_total',
    help: 'Cumulative number of runtime operations by operation type.',
    labelNames: ['operation_type'],
    registers: [registry],
  });
  const operationErrors = new Counter({
    name: 'kubelet_runtime_operations_errors_total',
    help: 'Cumulative number of runtime operation errors by operation type.',
    labelNames: ['operation_type'],
    registers: [registry],
  });
  const operationSeconds = new Histogram({
    name: 'kubelet_runtime_operations_duration_seconds',
    help: 'Duration in seconds of runtime operations (an exec or attach: until its process runs), by operation type.',
    labelNames: ['operation_type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const measure = async <T>(operation_type: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    operations.inc({ operation_type });
    try {
      return await run();
    } catch (e) {
      operationErrors.inc({ operation_type });
      throw e;
    } finally {
      operationSeconds.observe({ operation_type }, (performance.now() - start) / 1000);
    }
  };
  for (const operation_type of ['exec', 'attach']) {
    operations.inc({ operation_type }, 0);
    operationErrors.inc({ operation_type }, 0);
  }
  pullBytes.inc(0);
  pullErrors.inc(0);
  containerCollectors(registry, stats);
  return {
    measuredImages: (images) => ({
      pull: async (reference, options) => {
        const start = performance.now();
        try {
          const image = await images.pull(reference, options);
          pullBytes.inc(image.downloadedBytes);
          return image;
        } catch (e) {
          pullErrors.inc();
          throw e;
        } finally {
          pullSeconds.observe((performance.now() - start) / 1000);
        }
      },
      close: () => images.close(),
      // Images made on this node (built, committed, tagged) are found without a pull: nothing to measure.
      ...(images.local === undefined ? {} : { local: images.local.bind(images) }),
    }),
    containerStarted: (seconds) => starts.observe(seconds),
    measuredStreaming: (runtime) => ({
      state: (id) => runtime.state(id),
      pids: (id) => runtime.pids(id),
      exec: (id, options) => measure('exec', () => runtime.exec(id, options)),
      attach: (id, options) => measure('attach', () => runtime.attach(id, options)),
    }),
  };
}

const containerLabels = ['namespace', 'pod', 'container'] as const;

/** Families read from the kernel on each scrape; a container that stopped is simply absent from the next. */
function containerCollectors(registry: Registry, stats: StatsSummaries): void {
  // One reading per scrape, shared by every family (each collect() runs in the same scrape).
  let pending: { at: number; reading: ReturnType<StatsSummaries['read']> } | undefined;
  const reading = () => {
    if (pending === undefined || Date.now() - pending.at > 500) pending = { at: Date.now(), reading: stats.read() };
    return pending.reading;
  };
  const family = <T extends 'counter' | 'gauge'>(
    type: T,
    name: string,
    help: string,
    value: (c: Awaited<ReturnType<StatsSummaries['read']>>['containers'][number]) => number | undefined,
  ) => {
    const Metric = type === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: containerLabels,
      registers: [registry],
      async collect() {
        const r = await reading();
        this.reset();
        for (const c of r.containers) {
          const v = value(c);
          if (v === undefined) continue;
          const labels = { namespace: c.target.namespace, pod: c.target.name, container: c.target.name };
          this.inc(labels, v);
        }
      },
    });
  };
  family(
    'counter',
    'container_cpu_usage_seconds_total',
    'Cumulative cpu time consumed by the container in core-seconds',
    (c) => c.sample.cpuNanoseconds / 1e9,
  );
  family(
    'gauge',
    'container_memory_working_set_bytes',
    'Current working set of the container in bytes',
    (c) => c.sample.memoryWorkingSetBytes,
  );
  family(
    'gauge',
    'container_memory_usage_bytes',
    'Current memory usage in bytes, including all memory regardless of when it was accessed',
    (c) => c.sample.memoryUsageBytes,
  );
  family('gauge', 'container_processes', 'Number of processes running inside the container', (c) => c.sample.pids);
  family(
    'counter',
    'container_network_receive_bytes_total',
    'Cumulative count of bytes received',
    (c) => c.sample.network?.rxBytes,
  );
  family(
    'counter',
    'container_network_transmit_bytes_total',
    'Cumulative count of bytes transmitted',
    (c) => c.sample.network?.txBytes,
  );
  // cAdvisor's block I/O families, one series per device the container used.
  for (const [name, help, value] of [
    ['container_fs_reads_bytes_total', 'Cumulative count of bytes read', 'readBytes'],
    ['container_fs_writes_bytes_total', 'Cumulative count of bytes written', 'writeBytes'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: [...containerLabels, 'device'],
      registers: [registry],
      async collect() {
        const r = await reading();
        this.reset();
        for (const c of r.containers)
          for (const io of c.sample.blockIo) {
            const device = await blockDeviceName(io.device);
            this.inc(
              { namespace: c.target.namespace, pod: c.target.name, container: c.target.name, device },
              io[value],
            );
          }
      },
    });
  }
  new Counter({
    name: 'node_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed by the node in core-seconds',
    registers: [registry],
    async collect() {
      const r = await reading();
      this.reset();
      this.inc(r.node.cpuNanoseconds / 1e9);
    },
  });
  new Gauge({
    name: 'node_memory_working_set_bytes',
    help: 'Current working set of the node in bytes',
    registers: [registry],
    async collect() {
      this.set((await reading()).node.memoryWorkingSetBytes);
    },
  });
}
