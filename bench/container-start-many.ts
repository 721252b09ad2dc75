// Many at once: N busybox Containers created together through the API → all Running seen by a watch (`berth up`
// with its node agent, image cached, networkMode none), beside N bare `crun run -d` and N `podman run -d
// --network none` of the same busybox, each N started all at once, in the same round. Each side's figure is the
// wall time from the first start to the last one running; removal is untimed.
//
//   npx tsc -b && node --conditions=berth-src --import=tsx bench/container-start-many.ts [--count 50] [--runs 3]
//        [--entry built|src] [--cpu-prof DIR] [--requests]
//
// `--requests` adds, per round, berth's API requests per Container (its /metrics, creates to Running, removal
// left out), the watches open on Containers and Events, and the CPU seconds of berth up's main thread (API server
// and node agent: the one a burst waits for) and of its whole process in the same window.
//
// Needs root. On a 2-core machine shared with other work the numbers are indicative only.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { containersIn, PhaseWatch, sleeper, startAgentCluster } from './agent-cluster.js';
import { apiRequests, type BerthProcess, metricCounts, perUnit } from './api-process.js';
import { median } from './timing.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const count = Number(arg('--count') ?? 50);
const runs = Number(arg('--runs') ?? 3);
const entry = arg('--entry') === 'src' ? 'src' : 'built';
const cpuProfDir = arg('--cpu-prof');
const requests = process.argv.includes('--requests');

/** user+system CPU seconds of a process' main thread (its task of the same id). */
async function mainThreadCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Watches open now on Containers and Events (apiserver_registered_watchers). */
async function watchers(berth: BerthProcess): Promise<string> {
  const counts = await metricCounts(
    berth,
    /^apiserver_registered_watchers\{([^}]*)\} (\S+)$/gm,
    (labels) => labels.get('kind') ?? '',
  );
  return ['Container', 'Event'].map((k) => `${k} ${counts.get(k) ?? 0}`).join(', ');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start-many needs root (crun, cgroups, overlay)');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const cluster = await startAgentCluster({ entry, cpuProfDir });
  const { host, kc, image, peers } = cluster;
  const watch = new PhaseWatch();
  const samples = { berth: [] as number[], crun: [] as number[], podman: [] as number[] };
  try {
    const api = kc.makeApiClient(CustomObjectsApi);
    await watch.start(kc);
    const names = (round: number | string) =>
      Array.from({ length: count }, (_, i) => `bench-${process.pid}-${round}-${i}`);
    const berthRound = async (round: number | string): Promise<number> => {
      const all = names(round);
      const running = all.map((n) => watch.until(n, (c) => c?.status?.phase === 'Running', 120_000));
      const before = requests ? await apiRequests(cluster.berth) : undefined;
      const cpu0 = requests
        ? { main: await mainThreadCpuSeconds(cluster.berth.pid), all: await cluster.berth.cpuSeconds() }
        : undefined;
      // The profile's clock (CLOCK_MONOTONIC in µs), to cut the round's window out of the --cpu-prof profile.
      const mono0 = process.hrtime.bigint() / 1000n;
      const t0 = performance.now();
      await Promise.all(
        all.map((n) =>
          api.createNamespacedCustomObject({
            ...containersIn,
            body: sleeper(n, image, { networkMode: 'none', labels: { bench: String(round) } }),
          }),
        ),
      );
      await Promise.all(running);
      const ms = performance.now() - t0;
      if (cpuProfDir !== undefined)
        console.log(`  round ${round}: profile window ${mono0}-${process.hrtime.bigint() / 1000n} µs`);
      if (before !== undefined && cpu0 !== undefined) {
        const main = (await mainThreadCpuSeconds(cluster.berth.pid)) - cpu0.main;
        const all = (await cluster.berth.cpuSeconds()) - cpu0.all;
        console.log(
          `  round ${round}: API requests per Container ${perUnit(before, await apiRequests(cluster.berth), count, 0.05)}; watches ${await watchers(cluster.berth)}; CPU main thread ${main.toFixed(2)} s, process ${all.toFixed(2)} s`,
        );
      }
      const gone = all.map((n) => watch.until(n, (c) => c === undefined, 120_000));
      await api.deleteCollectionNamespacedCustomObject({ ...containersIn, labelSelector: `bench=${round}` });
      await Promise.all(gone);
      return ms;
    };
    // Warm-up: the image is pulled once, the JIT and the page cache are warm.
    await berthRound('warm');
    for (let round = 0; round < runs; round++) {
      const berthMs = await berthRound(round);
      // Each peer call times its own start (and removes it untimed): the slowest is the wall time.
      const crunMs = Math.max(...(await Promise.all(names(`${round}c`).map((n) => peers.crun(n)))));
      const podmanMs = Math.max(...(await Promise.all(names(`${round}p`).map((n) => peers.podman(n)))));
      console.log(
        `round ${round}: berth ${berthMs.toFixed(0)} ms, crun ${crunMs.toFixed(0)} ms, podman ${podmanMs.toFixed(0)} ms`,
      );
      samples.berth.push(berthMs);
      samples.crun.push(crunMs);
      samples.podman.push(podmanMs);
    }
  } finally {
    watch.stop();
    await cluster.close();
  }
  const b = median(samples.berth);
  const c = median(samples.crun);
  const p = median(samples.podman);
  console.log(
    `${count} containers started at once, busybox, loopback-only network (${runs} runs, medians, ${host.runtime.version}, ${host.conmon.version})`,
  );
  console.log(`  berth: ${count} Containers created → all Running by watch: ${b.toFixed(0)} ms`);
  console.log(`  bare crun run -d × ${count}:                              ${c.toFixed(0)} ms`);
  console.log(`  podman run -d --network none × ${count}:                  ${p.toFixed(0)} ms`);
  console.log(`  ratio berth / crun: ${(b / c).toFixed(2)}× (goal ≤ 2×); podman / berth: ${(p / b).toFixed(2)}×`);
}

await main();
