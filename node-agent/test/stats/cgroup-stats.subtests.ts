// Block I/O read from a container's cgroup files as the kernel writes them: v1 blkio (the throttle layer's counts,
// else bfq's, as cAdvisor falls back) and cgroup2's io.stat, in directories laid out as the host's hierarchies.
// (On this kernel, 6.18 on a v1 hybrid host, blkio counts nothing even at the root, so these are the kernel's
// formats written by hand; the agent's live scrape is in cli/test/usage.test.ts.)

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { CgroupLayout } from '../../src/host/cgroup-layout.js';
import { blockDeviceName, parseIoServiceBytes, readContainerSample } from '../../src/stats/cgroup-stats.js';

const root = await mkdtemp(path.join(tmpdir(), 'berth-cgroup-stats-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const cg = '/berth/abc';

async function files(dir: string, entries: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(entries)) await writeFile(path.join(dir, name), text);
}

const v1 = (base: string): CgroupLayout => ({
  mode: 'v1',
  v1: new Map(['memory', 'cpuacct', 'pids', 'blkio'].map((c) => [c, path.join(base, c)])),
  unifiedMount: undefined,
  unifiedControllers: [],
});

async function v1Host(name: string, blkio: Record<string, string>): Promise<CgroupLayout> {
  const base = path.join(root, name);
  await files(path.join(base, 'memory', cg), {
    'memory.usage_in_bytes': '8192\n',
    'memory.stat': 'total_inactive_file 4096\n',
    'memory.limit_in_bytes': '9223372036854771712\n',
  });
  await files(path.join(base, 'cpuacct', cg), { 'cpuacct.usage': '1000\n' });
  await files(path.join(base, 'pids', cg), { 'pids.current': '1\n', 'pids.max': 'max\n' });
  await files(path.join(base, 'blkio', cg), blkio);
  return v1(base);
}

t.test('v1: the throttle counts, per device', async (t) => {
  const layout = await v1Host('throttle', {
    'blkio.throttle.io_service_bytes_recursive':
      '254:0 Read 40960\n254:0 Write 4194304\n254:0 Sync 4194304\n254:0 Async 40960\n254:0 Discard 0\n254:0 Total 4235264\n253:0 Read 0\n253:0 Write 512\nTotal 4235776\n',
    'blkio.bfq.io_service_bytes_recursive': '254:0 Read 1\n254:0 Write 1\nTotal 2\n',
  });
  const s = await readContainerSample(layout, cg, undefined);
  t.same(s?.blockIo, [
    { device: '254:0', readBytes: 40960, writeBytes: 4194304 },
    { device: '253:0', readBytes: 0, writeBytes: 512 },
  ]);
  t.equal(s?.memoryWorkingSetBytes, 4096, 'the rest of the sample as before');
});

t.test('v1: bfq when the throttle layer counted nothing; nothing at all is no devices', async (t) => {
  const bfq = await v1Host('bfq', {
    'blkio.throttle.io_service_bytes_recursive': 'Total 0\n',
    'blkio.bfq.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n',
  });
  t.same((await readContainerSample(bfq, cg, undefined))?.blockIo, [
    { device: '8:0', readBytes: 4096, writeBytes: 8192 },
  ]);
  const none = await v1Host('none', { 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n' });
  t.same((await readContainerSample(none, cg, undefined))?.blockIo, []);
  t.same(parseIoServiceBytes(undefined), [], 'no blkio hierarchy: no devices');
});

t.test('v2: io.stat', async (t) => {
  const unified = path.join(root, 'unified');
  await files(path.join(unified, cg), {
    'memory.current': '8192\n',
    'memory.stat': 'inactive_file 0\n',
    'cpu.stat': 'usage_usec 5\n',
    'memory.max': 'max\n',
    'pids.current': '2\n',
    'pids.max': '100\n',
    'io.stat': '254:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n',
  });
  const layout: CgroupLayout = { mode: 'v2', v1: new Map(), unifiedMount: unified, unifiedControllers: ['io'] };
  t.same((await readContainerSample(layout, cg, undefined))?.blockIo, [
    { device: '254:0', readBytes: 1024, writeBytes: 2048 },
  ]);
});

t.test('devices are named as cAdvisor labels them, from sysfs', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const [first] = await readdir('/sys/dev/block');
  t.ok(first !== undefined, 'this host has a block device');
  t.match(await blockDeviceName(first!), /^\/dev\/\S+$/);
  t.equal(await blockDeviceName('4095:4095'), '4095:4095', 'an unknown device keeps its numbers');
});
