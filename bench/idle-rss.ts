// Benchmark of `berth up` at rest: time from spawn to /readyz 200 on a fresh data dir, and its resident memory
// (VmRSS, and smaps' anonymous and file-backed parts) after idling, next to Debian's etcd (spawn to /health, idle
// VmRSS) and a bare Node process for scale. V8's memory reducer gives back the young generation the start-up grew
// about a minute into idling: --idle 5 sees the start-up's heap, --idle 80 the one berth keeps.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/idle-rss.ts [--runs 3] [--idle 5] [--entry built|src] [--server-node-arg=FLAG]... [--up-arg=ARG]... [--agent]

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { col, processRss, quantile, startBerth, treeRss } from './api-process.js';
import { startEtcd } from './etcd-peer.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    idle: { type: 'string', default: '5' },
    entry: { type: 'string', default: 'built' },
    // Passed to the server's node, e.g. --server-node-arg=--max-semi-space-size=2 (repeatable).
    'server-node-arg': { type: 'string', multiple: true, default: [] },
    // Passed to `berth up` (repeatable).
    'up-arg': { type: 'string', multiple: true, default: [] },
    // With berth up's node agent (off by default, as in the API benchmarks: issue 3's goal is the API server's).
    agent: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const idleMs = Number(values.idle) * 1000;
if (!(runs > 0 && idleMs >= 0)) throw new RangeError('--runs must be positive and --idle not negative');
if (values.entry !== 'built' && values.entry !== 'src') throw new RangeError('--entry must be built or src');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
const mb = (bytes: number): number => bytes / 2 ** 20;

/** Anonymous and file-backed resident bytes of a process (/proc/PID/smaps_rollup). */
async function rssParts(pid: number): Promise<{ anonymous: number; file: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
  return { anonymous: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

/** VmRSS of a Node process that only waits: the floor any Node server starts from. */
async function bareNodeRss(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    await sleep(Math.min(idleMs, 2000) + 500);
    return await processRss(proc.pid as number);
  } finally {
    proc.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  console.log(
    `berth up (${values.entry}, ${values.agent ? 'with' : 'without'} the node agent, fresh data dir each run) vs etcd: spawn -> ready, then VmRSS after ${idleMs / 1000} s idle; ${runs} runs, medians`,
  );
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other work on this machine skews every figure)`,
  );
  const berthReady: number[] = [];
  const berthRss: number[] = [];
  const treeRssOf: number[] = [];
  const anonymous: number[] = [];
  const fileBacked: number[] = [];
  const etcdReady: number[] = [];
  const etcdRss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const berth = await startBerth({
      entry: values.entry as 'built' | 'src',
      nodeArgs: values['server-node-arg'],
      upArgs: values['up-arg'],
      agent: values.agent,
    });
    try {
      berthReady.push(berth.spawnToReadyMs);
      await sleep(idleMs);
      berthRss.push(await berth.rss());
      treeRssOf.push(await treeRss(berth.pid));
      const parts = await rssParts(berth.pid);
      anonymous.push(parts.anonymous);
      fileBacked.push(parts.file);
    } finally {
      await berth.close();
    }
    const etcd = await startEtcd();
    try {
      etcdReady.push(etcd.startToHealthyMs);
      await sleep(idleMs);
      etcdRss.push(await processRss(etcd.pid));
    } finally {
      await etcd.close();
    }
  }
  const bare = await bareNodeRss();
  console.log('process   | ready ms (median, min..max) | idle RSS MB (median, min..max)');
  const row = (label: string, ready: number[], rss: number[]) =>
    console.log(
      `${`${label.padEnd(9)} | ${col(median(ready), 8)} (${Math.min(...ready).toFixed(0)}..${Math.max(...ready).toFixed(0)})`.padEnd(
        40,
      )}| ${col(mb(median(rss)), 7, 1)} (${mb(Math.min(...rss)).toFixed(1)}..${mb(Math.max(...rss)).toFixed(1)})`,
    );
  row('berth up', berthReady, berthRss);
  row('etcd', etcdReady, etcdRss);
  console.log(
    `${'berth up with its child processes'.padEnd(39)}| ${col(mb(median(treeRssOf)), 7, 1)} (each process's VmRSS, summed; goal < 150)`,
  );
  console.log(
    `${'berth up: anonymous / file-backed'.padEnd(39)}| ${col(mb(median(anonymous)), 7, 1)} / ${mb(median(fileBacked)).toFixed(1)} (smaps_rollup)`,
  );
  console.log(`${'bare node'.padEnd(39)}| ${col(mb(bare), 7, 1)} (node -e setTimeout, for scale)`);
  console.log(
    `berth up: ready ${median(berthReady).toFixed(0)} ms (goal < 1000), idle RSS ${mb(median(berthRss)).toFixed(1)} MB (goal < 80); ` +
      `etcd ready ${median(etcdReady).toFixed(0)} ms, ratio ${(median(berthReady) / median(etcdReady)).toFixed(2)}x; ` +
      `RSS ratio ${(median(berthRss) / median(etcdRss)).toFixed(2)}x`,
  );
}

await main();
