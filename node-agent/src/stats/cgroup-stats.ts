// Reads what a container and the node use, from the kernel's own counters: the container's cgroup (v1
// controllers' files, or cgroup2's on a v2 host; block I/O from blkio's io_service_bytes or io.stat), its
// network namespace's /proc/<pid>/net/dev, and /proc for the node. Cumulative counters only; rates are the sampler's job (usage-sampler.ts).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { v1CgroupDir, type CgroupLayout } from '../host/cgroup-layout.js';

export interface ContainerSample {
  /** CPU time used since the container started, in nanoseconds. */
  readonly cpuNanoseconds: number;
  readonly memoryUsageBytes: number;
  /** Usage less inactive file pages: what kubelet and `kubectl top` call memory. */
  readonly memoryWorkingSetBytes: number;
  /** undefined when unlimited. */
  readonly memoryLimitBytes: number | undefined;
  readonly pids: number;
  readonly pidsLimit: number | undefined;
  /** Summed over the container's interfaces but loopback; undefined without a pid (or a netns of its own). */
  readonly network: NetworkSample | undefined;
  /** Bytes read and written per block device (none listed when the kernel counted nothing). */
  readonly blockIo: readonly BlockIoSample[];
}

export interface BlockIoSample {
  /** `major:minor`, as the kernel names the device in these files. */
  readonly device: string;
  readonly readBytes: number;
  readonly writeBytes: number;
}

export interface NetworkSample {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
}

export interface NodeSample {
  readonly cpuNanoseconds: number;
  readonly memoryTotalBytes: number;
  readonly memoryWorkingSetBytes: number;
  readonly memoryAvailableBytes: number;
}

const readText = (file: string): Promise<string | undefined> => readFile(file, 'utf8').catch(() => undefined);
const readNumber = async (file: string): Promise<number | undefined> => {
  const text = (await readText(file))?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
};
const statField = (text: string | undefined, field: string): number | undefined => {
  const m = text === undefined ? null : new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
};

/** v1 reports "no limit" as a page-rounded huge number (about 2^63). */
const v1Limit = (n: number | undefined): number | undefined => (n === undefined || n >= 2 ** 62 ? undefined : n);

/** The cgroup `cgroupsPath` (`/berth/<id>`) in `layout`; undefined when it is gone (the container stopped). */
export async function readContainerSample(
  layout: CgroupLayout,
  cgroupsPath: string,
  pid: number | undefined,
): Promise<ContainerSample | undefined> {
  const network = pid === undefined ? undefined : await readNetwork(pid);
  const v1Memory = v1CgroupDir(layout, 'memory', cgroupsPath);
  if (v1Memory !== undefined) {
    const usage = await readNumber(path.join(v1Memory, 'memory.usage_in_bytes'));
    if (usage === undefined) return undefined;
    const stat = await readText(path.join(v1Memory, 'memory.stat'));
    const inactive = statField(stat, 'total_inactive_file') ?? 0;
    const cpuDir = v1CgroupDir(layout, 'cpuacct', cgroupsPath);
    const pidsDir = v1CgroupDir(layout, 'pids', cgroupsPath);
    return {
      cpuNanoseconds: (cpuDir === undefined ? undefined : await readNumber(path.join(cpuDir, 'cpuacct.usage'))) ?? 0,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
      memoryLimitBytes: v1Limit(await readNumber(path.join(v1Memory, 'memory.limit_in_bytes'))),
      pids: (pidsDir === undefined ? undefined : await readNumber(path.join(pidsDir, 'pids.current'))) ?? 0,
      pidsLimit: pidsDir === undefined ? undefined : await readNumber(path.join(pidsDir, 'pids.max')),
      network,
      blockIo: await readV1BlockIo(v1CgroupDir(layout, 'blkio', cgroupsPath)),
    };
  }
  if (layout.unifiedMount === undefined) return undefined;
  const dir = path.join(layout.unifiedMount, cgroupsPath);
  const usage = await readNumber(path.join(dir, 'memory.current'));
  if (usage === undefined) return undefined;
  const inactive = statField(await readText(path.join(dir, 'memory.stat')), 'inactive_file') ?? 0;
  const usec = statField(await readText(path.join(dir, 'cpu.stat')), 'usage_usec') ?? 0;
  return {
    cpuNanoseconds: usec * 1000,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: Math.max(0, usage - inactive),
    memoryLimitBytes: await readNumber(path.join(dir, 'memory.max')),
    pids: (await readNumber(path.join(dir, 'pids.current'))) ?? 0,
    pidsLimit: await readNumber(path.join(dir, 'pids.max')),
    network,
    blockIo: parseIoStat(await readText(path.join(dir, 'io.stat'))),
  };
}

/**
 * v1 blkio: the throttle layer's counts (every bio, whichever scheduler), else the scheduler's own (bfq, cfq), as
 * cAdvisor falls back; `_recursive` so a container's sub-cgroups count too.
 */
async function readV1BlockIo(dir: string | undefined): Promise<BlockIoSample[]> {
  if (dir === undefined) return [];
  for (const file of [
    'blkio.throttle.io_service_bytes_recursive',
    'blkio.bfq.io_service_bytes_recursive',
    'blkio.io_service_bytes_recursive',
  ]) {
    const found = parseIoServiceBytes(await readText(path.join(dir, file)));
    if (found.length > 0) return found;
  }
  return [];
}

/** `8:0 Read 4096` lines (and `Total N`, skipped). */
export function parseIoServiceBytes(text: string | undefined): BlockIoSample[] {
  const byDevice = new Map<string, { readBytes: number; writeBytes: number }>();
  for (const line of (text ?? '').split('\n')) {
    const [device, op, value] = line.trim().split(/\s+/);
    if (device === undefined || !/^\d+:\d+$/.test(device) || (op !== 'Read' && op !== 'Write')) continue;
    const entry = byDevice.get(device) ?? { readBytes: 0, writeBytes: 0 };
    if (op === 'Read') entry.readBytes = Number(value ?? 0);
    else entry.writeBytes = Number(value ?? 0);
    byDevice.set(device, entry);
  }
  return [...byDevice].map(([device, e]) => ({ device, ...e }));
}

/** cgroup2's io.stat: `8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0`. */
export function parseIoStat(text: string | undefined): BlockIoSample[] {
  const out: BlockIoSample[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [device, ...fields] = line.trim().split(/\s+/);
    if (device === undefined || !/^\d+:\d+$/.test(device)) continue;
    const value = (key: string) => Number(fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1) ?? 0);
    out.push({ device, readBytes: value('rbytes'), writeBytes: value('wbytes') });
  }
  return out;
}

const deviceNames = new Map<string, string>();
/** `/dev/vda` for `254:0` (the label cAdvisor gives), from sysfs; the numbers when sysfs does not say. */
export async function blockDeviceName(device: string): Promise<string> {
  let name = deviceNames.get(device);
  if (name === undefined) {
    const uevent = await readText(`/sys/dev/block/${device}/uevent`);
    const devname = uevent === undefined ? undefined : /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
    name = devname === undefined ? device : `/dev/${devname}`;
    deviceNames.set(device, name);
  }
  return name;
}

/** /proc/<pid>/net/dev is the table of the network namespace `pid` is in. */
export async function readNetwork(pid: number): Promise<NetworkSample | undefined> {
  const text = await readText(`/proc/${pid}/net/dev`);
  if (text === undefined) return undefined;
  let rxBytes = 0;
  let txBytes = 0;
  let rxPackets = 0;
  let txPackets = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    rxBytes += f[0] ?? 0;
    rxPackets += f[1] ?? 0;
    txBytes += f[8] ?? 0;
    txPackets += f[9] ?? 0;
  }
  return { rxBytes, txBytes, rxPackets, txPackets };
}

/** The node: CPU time of all CPUs but idle and iowait (/proc/stat), memory from /proc/meminfo. */
export async function readNodeSample(): Promise<NodeSample> {
  const stat = (await readText('/proc/stat')) ?? '';
  const cpu = /^cpu\s+(.*)$/m.exec(stat)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: jiffies of USER_HZ (100 on Linux).
  const busy = (cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
  const meminfo = (await readText('/proc/meminfo')) ?? '';
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  const total = kib('MemTotal');
  const available = kib('MemAvailable');
  return {
    cpuNanoseconds: busy * 1e7,
    memoryTotalBytes: total,
    memoryWorkingSetBytes: total - available,
    memoryAvailableBytes: available,
  };
}
