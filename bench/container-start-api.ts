// Container start through the API: create a busybox Container → status.phase Running seen by a watch, with
// `berth up` (API server + node agent, its own process) and the image already on the node; side by side in each
// round with bare `crun run -d` of a prepared bundle and `podman run -d --rootfs` of the same busybox.
//
//   npx tsc -b && node --conditions=berth-src --import=tsx bench/container-start-api.ts [--runs N] [--entry built|src]
//
// berth's sample covers everything a user waits for: the create request, the scheduler's binding, the agent's watch
// event and finalizer, image policy check, overlay mount, OCI spec, conmon + crun, the status write and the watch
// event back. Three berth lines: networkMode none (loopback only, as both peers run: the row the goal is about),
// the default bridge network (what networking adds; container-start-network.ts takes that apart), and
// imagePullPolicy Always (the default for :latest: one manifest request to the loopback registry). A fourth line is
// what a user types: `berth run -d --network none` as a process (node's start-up, the kubeconfig, the create, the
// wait for Running), against `podman run -d`, the same command a docker user would time. Deletes are untimed. Needs
// root. BENCH_VERBOSE=1 prints every sample.
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthMain } from '@berth/testkit';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { containersIn, PhaseWatch, sleeper, startAgentCluster } from './agent-cluster.js';
import { median } from './timing.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 15);
const entry = arg('--entry') === 'src' ? 'src' : 'built';
const warmup = 2;
const verbose = process.env['BENCH_VERBOSE'] === '1';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start-api needs root (crun, cgroups, overlay)');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const cluster = await startAgentCluster({ entry });
  const { host, kc, image, peers } = cluster;
  const watch = new PhaseWatch();
  const kubeconfig = join(tmpdir(), `berth-bench-kubeconfig-${process.pid}`);
  const samples = {
    none: [] as number[],
    bridge: [] as number[],
    always: [] as number[],
    cli: [] as number[],
    crun: [] as number[],
    podman: [] as number[],
  };
  try {
    const api = kc.makeApiClient(CustomObjectsApi);
    await watch.start(kc);
    await writeFile(kubeconfig, kc.exportConfig(), { mode: 0o600 });
    /** `berth run -d`: the process's wall time, from spawn to its exit (it prints the name once Running). */
    const viaCli = async (name: string): Promise<number> => {
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          [berthMain, 'run', '-d', '--network', 'none', '--name', name, image, 'sleep', '1000'],
          { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'inherit'] },
        );
        child.on('close', resolve);
      });
      const ms = performance.now() - t0;
      if (code !== 0) throw new Error(`berth run -d exited ${code}`);
      const gone = watch.until(name, (c) => c === undefined);
      await api.deleteNamespacedCustomObject({ ...containersIn, name });
      await gone;
      return ms;
    };

    const viaApi = async (
      name: string,
      pullPolicy: 'IfNotPresent' | 'Always',
      networkMode?: 'none',
    ): Promise<number> => {
      const running = watch.until(name, (c) => c?.status?.phase === 'Running');
      const t0 = performance.now();
      await api.createNamespacedCustomObject({
        ...containersIn,
        body: sleeper(name, image, { pullPolicy, networkMode }),
      });
      await running;
      const ms = performance.now() - t0;
      const gone = watch.until(name, (c) => c === undefined);
      await api.deleteNamespacedCustomObject({ ...containersIn, name });
      await gone;
      return ms;
    };

    for (let round = 0; round < runs + warmup; round++) {
      const keep = round >= warmup;
      const id = `bench-${process.pid}-${round}`;
      const noneMs = await viaApi(`${id}-n`, 'IfNotPresent', 'none');
      const bridgeMs = await viaApi(`${id}-b`, 'IfNotPresent', undefined);
      const alwaysMs = await viaApi(`${id}-a`, 'Always', 'none');
      const cliMs = await viaCli(`${id}-r`);

      const crunMs = await peers.crun(`${id}-c`);
      const podmanMs = await peers.podman(`${id}-p`);

      if (verbose) {
        console.log(
          `round ${round}${keep ? '' : ' (warm-up)'}: api/none ${noneMs.toFixed(1)} ms, api/bridge ${bridgeMs.toFixed(1)} ms, api/Always ${alwaysMs.toFixed(1)} ms, berth run -d ${cliMs.toFixed(1)} ms, crun ${crunMs.toFixed(1)} ms, podman ${podmanMs.toFixed(1)} ms`,
        );
      }
      if (keep) {
        samples.none.push(noneMs);
        samples.bridge.push(bridgeMs);
        samples.always.push(alwaysMs);
        samples.cli.push(cliMs);
        samples.crun.push(crunMs);
        samples.podman.push(podmanMs);
      }
    }
  } finally {
    watch.stop();
    await rm(kubeconfig, { force: true });
    await cluster.close();
  }
  const i = median(samples.none);
  const br = median(samples.bridge);
  const a = median(samples.always);
  const r = median(samples.cli);
  const c = median(samples.crun);
  const p = median(samples.podman);
  console.log(
    `container start, busybox, loopback-only network (${runs} runs each, medians, ${host.runtime.version}, ${host.conmon.version})`,
  );
  console.log(`  berth: create Container → Running by watch, loopback only:  ${i.toFixed(1)} ms`);
  console.log(`  berth: the same on the default bridge network:             ${br.toFixed(1)} ms`);
  console.log(`  berth: loopback only, imagePullPolicy Always:              ${a.toFixed(1)} ms`);
  console.log(`  berth run -d --network none (the CLI process, wall time):   ${r.toFixed(1)} ms`);
  console.log(`  bare crun run -d (prepared bundle):                        ${c.toFixed(1)} ms`);
  console.log(`  podman run -d --rootfs:                                    ${p.toFixed(1)} ms`);
  console.log(
    `  ratio berth(loopback) / crun: ${(i / c).toFixed(2)}× (goal ≤ 3×); podman / berth: ${(p / i).toFixed(2)}× (goal ≥ 5×)`,
  );
  console.log(`  ratio podman run -d / berth run -d: ${(p / r).toFixed(2)}× (goal ≥ 5×)`);
  console.log(
    `  ratio berth(bridge) / crun:   ${(br / c).toFixed(2)}×;              podman / berth: ${(p / br).toFixed(2)}×`,
  );
}

await main();
