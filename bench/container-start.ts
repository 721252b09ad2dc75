// Container start on a prepared busybox rootfs: berth's runtime (conmon + crun) vs bare `crun run -d` vs `podman run -d`.
//
//   node --import=tsx bench/container-start.ts [--runs N]
//
// Each sample times "start until running" for one container (`sleep 1000`), then removes it untimed.
// The three peers alternate within each round so they share the machine's state. All use the same
// rootfs directory and a loopback-only network namespace (podman: --network none). berth's run is
// create + start under conmon, so its ratio to bare crun shows what supervision costs. Needs root.
// BENCH_VERBOSE=1 prints every sample. (container-start-api.ts times the API-driven start.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareHost } from '../node-agent/src/host/prepare-host.js';
import { ConmonRuntime } from '../node-agent/src/runtime/conmon-runtime.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { makeBusyboxRootfs } from '@berth/testkit';
import { startPeers } from './start-peers.js';
import { median } from './timing.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const warmup = 2;
const verbose = process.env['BENCH_VERBOSE'] === '1';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start needs root (crun, cgroups)');
  const host = await prepareHost();
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-start-'));
  const rootfs = join(work, 'rootfs');
  await makeBusyboxRootfs(rootfs);
  const rt = new ConmonRuntime({ host, root: join(work, 'berth'), runtimeRoot: join(work, 'berth-run') });
  const config: ContainerConfig = { args: ['sleep', '1000'], rootfs };
  const peers = startPeers(host, work, rootfs, config);

  const samples = { berth: [] as number[], crun: [] as number[], podman: [] as number[] };
  try {
    for (let round = 0; round < runs + warmup; round++) {
      const keep = round >= warmup;
      const id = `bench-${process.pid}-${round}`;

      // berth: create + start through conmon, until the runtime reports running.
      const t0 = performance.now();
      const st = await rt.run(`${id}-b`, config);
      const berthMs = performance.now() - t0;
      if (st.status !== 'running') throw new Error(`berth container not running: ${st.status}`);
      await rt.delete(`${id}-b`, { force: true });

      // bare crun: the same spec, written beforehand; `crun run -d` returns once the process runs.
      const crunMs = await peers.crun(`${id}-c`);
      // podman: run -d on the same rootfs directory.
      const podmanMs = await peers.podman(`${id}-p`);

      if (verbose)
        console.log(
          `round ${round}${keep ? '' : ' (warm-up)'}: berth ${berthMs.toFixed(1)} ms, crun ${crunMs.toFixed(1)} ms, podman ${podmanMs.toFixed(1)} ms`,
        );
      if (keep) {
        samples.berth.push(berthMs);
        samples.crun.push(crunMs);
        samples.podman.push(podmanMs);
      }
    }
  } finally {
    // Whatever a failed round left behind, from all three peers.
    for (const s of await rt.list().catch(() => [])) await rt.delete(s.id, { force: true }).catch(() => undefined);
    await peers.cleanUp(`bench-${process.pid}-`);
    await rm(work, { recursive: true, force: true });
  }
  const b = median(samples.berth);
  const c = median(samples.crun);
  const p = median(samples.podman);
  console.log(
    `container start, busybox rootfs, loopback-only network (${runs} runs each, medians, ${host.runtime.version}, ${host.conmon.version})`,
  );
  console.log(`  berth runtime (conmon + crun create/start): ${b.toFixed(1)} ms`);
  console.log(`  bare crun run -d:                          ${c.toFixed(1)} ms`);
  console.log(`  podman run -d --rootfs:                    ${p.toFixed(1)} ms`);
  console.log(
    `  ratio berth / crun: ${(b / c).toFixed(2)}× (goal ≤ 3×); podman / berth: ${(p / b).toFixed(2)}× (goal ≥ 5×)`,
  );
}

await main();
