// The node's and its containers' usage now, in kubelet's /stats/summary shape (which the API server's resource
// metrics read, as metrics-server reads kubelet's): cumulative counters from the kernel, and CPU as a rate over
// the time since the previous reading (the first reading measures a short window of its own). That window goes out
// with the rate (`usageWindowSeconds`, berth's addition), so the metrics API says what metrics-server's `window`
// says: the span the rate was measured over.

import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupLayout } from '../host/cgroup-layout.js';
import { readContainerSample, readNodeSample, type ContainerSample, type NodeSample } from './cgroup-stats.js';

/** A container this node runs, as the agent knows it. */
export interface StatsTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Its cgroup (`/berth/<id>`). */
  readonly cgroupsPath: string;
  readonly pid: number | undefined;
  readonly startedAt: string | undefined;
}

export interface CpuStats {
  readonly time: string;
  readonly usageNanoCores: number;
  readonly usageCoreNanoSeconds: number;
  /** The seconds usageNanoCores was measured over, ending at `time`. */
  readonly usageWindowSeconds: number;
}

export interface MemoryStats {
  readonly time: string;
  readonly workingSetBytes: number;
  readonly usageBytes: number;
  readonly availableBytes?: number;
}

export interface ContainerSummary {
  readonly podRef: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly startTime: string | undefined;
  readonly containers: readonly { readonly name: string; readonly cpu: CpuStats; readonly memory: MemoryStats }[];
  readonly cpu: CpuStats;
  readonly memory: MemoryStats;
  readonly network?: { readonly time: string; readonly rxBytes: number; readonly txBytes: number };
  readonly process_stats: { readonly process_count: number; readonly process_limit?: number };
}

export interface Summary {
  readonly node: { readonly nodeName: string; readonly cpu: CpuStats; readonly memory: MemoryStats };
  /** One per Container (berth's single-container Pods). */
  readonly pods: readonly ContainerSummary[];
}

export interface Reading {
  readonly time: number;
  readonly node: NodeSample;
  readonly nodeNanoCores: number;
  readonly nodeWindowMs: number;
  readonly containers: readonly {
    readonly target: StatsTarget;
    readonly sample: ContainerSample;
    readonly nanoCores: number;
    readonly windowMs: number;
  }[];
}

/** The shortest span a rate is measured over: a reading younger than this is answered again. */
const minWindowMs = 1000;

export class StatsSummaries {
  /** The previous reading of each counter (the node under ''), for rates; pruned to what still runs. */
  #previous = new Map<string, { time: number; cpu: number }>();
  /** A reading under a second old is answered again: a rate over a few milliseconds would be noise. */
  #last: Reading | undefined;

  constructor(
    private readonly layout: CgroupLayout,
    private readonly nodeName: string,
    private readonly targets: () => readonly StatsTarget[],
  ) {}

  /** Reads every counter now. */
  async read(): Promise<Reading> {
    if (this.#last !== undefined && Date.now() - this.#last.time < minWindowMs) return this.#last;
    if (!this.#previous.has('')) {
      // No earlier reading: measure a window of our own, so the first answer is a rate like the others, over
      // the second every later window spans at least (a quarter second under a CPU quota's 100 ms periods is noise).
      await this.#sample();
      await sleep(minWindowMs);
    }
    return this.#sample();
  }

  async summary(): Promise<Summary> {
    const r = await this.read();
    const time = new Date(r.time).toISOString();
    return {
      node: {
        nodeName: this.nodeName,
        cpu: {
          time,
          usageNanoCores: Math.round(r.nodeNanoCores),
          usageCoreNanoSeconds: r.node.cpuNanoseconds,
          usageWindowSeconds: r.nodeWindowMs / 1000,
        },
        memory: {
          time,
          workingSetBytes: r.node.memoryWorkingSetBytes,
          usageBytes: r.node.memoryWorkingSetBytes,
          availableBytes: r.node.memoryAvailableBytes,
        },
      },
      pods: r.containers.map(({ target, sample, nanoCores, windowMs }) => {
        const cpu = {
          time,
          usageNanoCores: Math.round(nanoCores),
          usageCoreNanoSeconds: sample.cpuNanoseconds,
          usageWindowSeconds: windowMs / 1000,
        };
        const memory = {
          time,
          workingSetBytes: sample.memoryWorkingSetBytes,
          usageBytes: sample.memoryUsageBytes,
          ...(sample.memoryLimitBytes === undefined
            ? {}
            : { availableBytes: Math.max(0, sample.memoryLimitBytes - sample.memoryWorkingSetBytes) }),
        };
        return {
          podRef: { name: target.name, namespace: target.namespace, uid: target.uid },
          startTime: target.startedAt,
          containers: [{ name: target.name, cpu, memory }],
          cpu,
          memory,
          ...(sample.network === undefined
            ? {}
            : { network: { time, rxBytes: sample.network.rxBytes, txBytes: sample.network.txBytes } }),
          process_stats: {
            process_count: sample.pids,
            ...(sample.pidsLimit === undefined ? {} : { process_limit: sample.pidsLimit }),
          },
        };
      }),
    };
  }

  async #sample(): Promise<Reading> {
    const time = Date.now();
    const node = await readNodeSample();
    const next = new Map<string, { time: number; cpu: number }>([['', { time, cpu: node.cpuNanoseconds }]]);
    const containers = [];
    for (const target of this.targets()) {
      const sample = await readContainerSample(this.layout, target.cgroupsPath, target.pid);
      if (sample === undefined) continue;
      next.set(target.uid, { time, cpu: sample.cpuNanoseconds });
      const before = this.#previous.get(target.uid);
      // Started since the last reading: its whole life is the window.
      const since = before ?? { time: Date.parse(target.startedAt ?? '') || time, cpu: 0 };
      containers.push({
        target,
        sample,
        nanoCores: rate(since, time, sample.cpuNanoseconds),
        windowMs: Math.max(0, time - since.time),
      });
    }
    const nodeBefore = this.#previous.get('');
    const nodeNanoCores = nodeBefore === undefined ? 0 : rate(nodeBefore, time, node.cpuNanoseconds);
    const nodeWindowMs = nodeBefore === undefined ? 0 : time - nodeBefore.time;
    this.#previous = next;
    this.#last = { time, node, nodeNanoCores, nodeWindowMs, containers };
    return this.#last;
  }
}

/** Nanoseconds of CPU per second of wall time since `before` (0 for an empty window). */
function rate(before: { time: number; cpu: number }, time: number, cpu: number): number {
  const seconds = (time - before.time) / 1000;
  return seconds > 0 ? Math.max(0, (cpu - before.cpu) / seconds) : 0;
}
