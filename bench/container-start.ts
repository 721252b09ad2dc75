// Container start on a prepared busybox rootfs: berth's runtime (conmon + crun) vs bare `crun run -d` vs `podman run -d`.
//
//   node --import=tsx bench/container-start.ts [--runs N]
//
// Each sample times "start until running" for one container (`sleep 1000`), then removes it untimed.
// The three peers alternate within each round so they share the machine's state. All use the same
// rootfs directory and a loopback-only network namespace (podman: --network none). berth's run is
// create + start under conmon, so its ratio to bare crun shows what supervision costs. Needs root.
// BENCH_VERBOSE=1 prints every sample. (The API-driven start, apply → Running by watch, is added later.)
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareHost } from '../node-agent/src/host/prepare-host.js';
import { ConmonRuntime } from '../node-agent/src/runtime/conmon-runtime.js';
import { containerConfigToOciSpec, hostsFileFor, resolvConfFor } from '../node-agent/src/runtime/oci-spec.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { makeBusyboxRootfs } from '../node-agent/test/runtime/busybox-rootfs.js';
import { exitOf, median } from './timing.js';

const execFileAsync = promisify(execFile);
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
  const crunRoot = join(work, 'crun-run');
  const config: ContainerConfig = { args: ['sleep', '1000'], rootfs };
  const podman = ['--cgroup-manager=cgroupfs', '--events-backend=file'];
  // podman asks for rlimits above root's own hard limits here unless told; these match what berth sets.
  const podmanRun = ['run', '-d', '--network', 'none', '--ulimit', `nofile=${host.nofileHardLimit}:${host.nofileHardLimit}`, '--ulimit', 'nproc=4096:4096', '--rootfs', rootfs, 'sleep', '1000'];

  const samples = { berth: [] as number[], crun: [] as number[], podman: [] as number[] };
  try {
    for (let round = 0; round < runs + warmup; round++) {
      const keep = round >= warmup;
      const id = `bench-${process.pid}-${round}`;

      // berth: create + start through conmon, until the runtime reports running.
      let t0 = performance.now();
      const st = await rt.run(`${id}-b`, config);
      const berthMs = performance.now() - t0;
      if (st.status !== 'running') throw new Error(`berth container not running: ${st.status}`);
      await rt.delete(`${id}-b`, { force: true });

      // bare crun: the same spec, written beforehand; `crun run -d` returns once the process runs.
      const bundle = join(work, 'bundles', `${id}-c`);
      await mkdir(bundle, { recursive: true });
      const etcFiles = { hosts: join(bundle, 'hosts'), hostname: join(bundle, 'hostname'), resolvConf: join(bundle, 'resolv.conf') };
      await writeFile(etcFiles.hosts, hostsFileFor('bench'));
      await writeFile(etcFiles.hostname, 'bench\n');
      await writeFile(etcFiles.resolvConf, resolvConfFor());
      await writeFile(join(bundle, 'config.json'), JSON.stringify(containerConfigToOciSpec(`${id}-c`, config, { rootfs, etcFiles, nofileHardLimit: host.nofileHardLimit })));
      t0 = performance.now();
      const c = await exitOf(host.runtime.path, [`--root=${crunRoot}`, 'run', '-d', '--bundle', bundle, `${id}-c`]);
      const crunMs = performance.now() - t0;
      if (c.code !== 0) throw new Error(`crun run failed: ${c.stderr}`);
      await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'delete', '--force', `${id}-c`]);
      await rm(bundle, { recursive: true, force: true });

      // podman: run -d on the same rootfs directory.
      t0 = performance.now();
      const p = await exitOf('podman', [...podman, ...podmanRun.slice(0, 2), '--name', `${id}-p`, ...podmanRun.slice(2)]);
      const podmanMs = performance.now() - t0;
      if (p.code !== 0) throw new Error(`podman run failed: ${p.stderr}`);
      await execFileAsync('podman', [...podman, 'rm', '-f', '-t', '0', `${id}-p`]);

      if (verbose) console.log(`round ${round}${keep ? '' : ' (warm-up)'}: berth ${berthMs.toFixed(1)} ms, crun ${crunMs.toFixed(1)} ms, podman ${podmanMs.toFixed(1)} ms`);
      if (keep) {
        samples.berth.push(berthMs);
        samples.crun.push(crunMs);
        samples.podman.push(podmanMs);
      }
    }
  } finally {
    // Whatever a failed round left behind, from all three peers.
    for (const s of await rt.list().catch(() => [])) await rt.delete(s.id, { force: true }).catch(() => undefined);
    const left = await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'list', '-q']).catch(() => ({ stdout: '' }));
    for (const name of left.stdout.split('\n').filter((n) => n !== '')) {
      await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'delete', '--force', name]).catch(() => undefined);
    }
    await execFileAsync('podman', [...podman, 'rm', '-f', '-t', '0', '--filter', `name=bench-${process.pid}-`]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
  const b = median(samples.berth);
  const c = median(samples.crun);
  const p = median(samples.podman);
  console.log(`container start, busybox rootfs, loopback-only network (${runs} runs each, medians, ${host.runtime.version}, ${host.conmon.version})`);
  console.log(`  berth runtime (conmon + crun create/start): ${b.toFixed(1)} ms`);
  console.log(`  bare crun run -d:                          ${c.toFixed(1)} ms`);
  console.log(`  podman run -d --rootfs:                    ${p.toFixed(1)} ms`);
  console.log(`  ratio berth / crun: ${(b / c).toFixed(2)}× (goal ≤ 3×); podman / berth: ${(p / b).toFixed(2)}× (goal ≥ 5×)`);
}

await main();
